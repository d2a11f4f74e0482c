"""Train/validation/test by TOOL: a tool's split is a pure function of its name and the seed, so
every stage (grouping keeps groups inside one split) and the export agree without sharing state."""

from __future__ import annotations

from collections.abc import Mapping

from synthesis.seeding import derive

SPLITS = ("train", "validation", "test")
DEFAULT_SHARES = {"train": 0.8, "validation": 0.1, "test": 0.1}


def tool_split(name: str, seed: int, shares: Mapping[str, float] = DEFAULT_SHARES) -> str:
    point = derive(seed, "split", name) / float(1 << 63)
    edge = 0.0
    for split in SPLITS:
        edge += shares.get(split, 0.0)
        if point < edge:
            return split
    return next(s for s in reversed(SPLITS) if shares.get(s, 0.0) > 0)
