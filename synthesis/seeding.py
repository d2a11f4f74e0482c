"""One seed for every random choice: each choice draws from a generator derived from the run's seed
and the names of what it decides (stage, tool, sample index), so the same seed gives the same plan
whatever the order, the concurrency or the number of resumes."""

from __future__ import annotations

import hashlib
import random


def derive(seed: int, *parts: object) -> int:
    """A 63-bit integer determined by `seed` and `parts` (stable across processes and platforms)."""
    text = "\x1f".join([str(seed), *(str(p) for p in parts)])
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big") >> 1


def rng_for(seed: int, *parts: object) -> random.Random:
    """A `random.Random` for the choice named by `parts`."""
    return random.Random(derive(seed, *parts))
