"""The testing workflow end to end, in a scratch folder:

1. record: the agent's test suite runs against a hybrid server (real notes server, simulated
   weather); every call goes into a cassette;
2. replay: the same suite runs offline from the cassette (the notes server is never started);
   and a call it never recorded is refused by name;
3. the cassette is training data as it is (gtm-episode/1).

    python examples/testing_workflow/run.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from gtm_mcp.calls.cassette import load_episodes

HERE = Path(__file__).resolve().parent


def run_suite(mode: str, env: dict[str, str]) -> None:
    print(f"\n== pytest --gtm-record-mode={mode}", flush=True)
    done = subprocess.run([sys.executable, "-m", "pytest", f"--gtm-record-mode={mode}", "-rs", "-s"], cwd=HERE,
                          env=env)
    if done.returncode != 0:
        sys.exit(f"the {mode} run failed (pytest exit code {done.returncode})")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="gtm-testing-workflow-") as scratch:
        cassette = Path(scratch) / "trip_agent.jsonl"
        env = {**os.environ, "TRIP_CASSETTE": str(cassette), "NOTES_FILE": str(Path(scratch) / "notes.json")}
        run_suite("record", env)
        print(f"real notes written: {Path(env['NOTES_FILE']).read_text().count('note_')}")
        env["NOTES_FILE"] = "/nonexistent/notes.json"  # replay must not need the real server
        run_suite("replay", env)

        episodes = load_episodes(cassette)
        origins = Counter(call.origin for episode in episodes for call in episode.calls)
        print(f"\ncassette: {len(episodes)} episodes, {sum(origins.values())} calls "
              f"({', '.join(f'{n} {o}' for o, n in sorted(origins.items()))})")
        steps = sum(1 for episode in episodes for _ in episode.steps())
        print(f"as training data: {steps} (request, reference answer) steps via EpisodeRecord.steps()")
    print("\nOK")


if __name__ == "__main__":
    main()
