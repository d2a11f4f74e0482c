"""The CARG stages (1-6); each reads and writes JSONL in a run folder and resumes where it stopped."""
