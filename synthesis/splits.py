"""Train/validation/test by TOOL: a tool's split is a pure function of its name and the seed, so
every stage (grouping keeps groups inside one split) and the export agree without sharing state."""

from __future__ import annotations

from collections.abc import Mapping

from synthesis.seeding import derive

SPLITS = ("train", "validation", "test")
#: shares of generated (CARG) tools per split
DEFAULT_SHARES = {"train": 0.7, "validation": 0.1, "test": 0.2}
#: recorded servers held out whole (all their tools and episodes): the shipped recording configs'
#: servers, so a model is tested on real servers it never saw. Names absent from the inputs are
#: reported in the card and otherwise ignored.
DEFAULT_HOLDOUT_SERVERS = {"validation": ["everything"], "test": ["time", "sqlite"]}


def tool_split(name: str, seed: int, shares: Mapping[str, float] = DEFAULT_SHARES) -> str:
    point = derive(seed, "split", name) / float(1 << 63)
    edge = 0.0
    for split in SPLITS:
        edge += shares.get(split, 0.0)
        if point < edge:
            return split
    return next(s for s in reversed(SPLITS) if shares.get(s, 0.0) > 0)
