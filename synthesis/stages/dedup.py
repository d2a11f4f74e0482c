"""The dedup stage: imported tools first, generated ones after, one list without near duplicates
(cosine of name+description embeddings at or above the threshold) or repeated names.
Writes `tools.jsonl`, which stages 4-6 read, and `dedup.stats.json` with examples of what was merged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio

from synthesis.config import DedupConfig
from synthesis.dedup import near_duplicates
from synthesis.jsonl import read_many
from synthesis.stages.base import Run, timed
from synthesis.toolfile import ToolEntry, write_tools


async def run_dedup(run: Run, cfg: DedupConfig, inputs: list[Path], output: Path | None = None) -> dict[str, Any]:
    output = output or run.path("tools.jsonl")
    async with timed() as clock:
        entries: list[ToolEntry] = []
        names: list[str] = []
        for line in read_many(inputs):  # every line: a repeated name is dropped (and counted) below
            entry = ToolEntry.from_json(line)
            entries.append(entry)
            names.append(entry.tool.name)
        vectors = await anyio.to_thread.run_sync(run.embedder.embed_tools, [e.tool for e in entries])
        result = await anyio.to_thread.run_sync(
            lambda: near_duplicates(names, vectors, cfg.threshold, top_k=cfg.top_k))
        kept = [entries[i] for i in result.kept]
        write_tools(output, kept)
    by_source: dict[str, dict[str, int]] = {}
    for entry in entries:
        row = by_source.setdefault(entry.source, {"in": 0, "kept": 0})
        row["in"] += 1
    for entry in kept:
        by_source[entry.source]["kept"] += 1
    examples = [{"dropped": names[i], "kept": names[j], "cosine": round(s, 3)}
                for i, (j, s) in list(result.duplicate_of.items())[:25]]
    stats = {"stage": "dedup", "inputs": [str(p) for p in inputs], "tools_in": len(entries), "kept": len(kept),
             "near_duplicates": len(result.duplicate_of), "same_name": len(result.same_name),
             "threshold": cfg.threshold, "by_source": by_source, "examples": examples,
             "seconds_last_run": round(clock[0], 2)}
    run.path("dedup.stats.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False), encoding="utf-8")
    return stats
