"""Groups of related tools for multi-turn episodes (stage 5): from a random seed tool, greedily add
the tool most similar to the whole group (mean cosine to its members) while that stays above the
relevance threshold; the group's coherence (mean pairwise cosine) is kept with it.

Candidates come from each member's nearest neighbours (`synthesis.embed.neighbours`), so building a
group costs O(size x top_k), never a pass over all pairs. Tools may be kept apart by a label (the
export split): a group never mixes labels, so no tool of one split appears in another's episodes."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Group:
    members: tuple[int, ...]  # indices into the tool list, seed first
    coherence: float  # mean pairwise cosine similarity


def coherence(vectors: np.ndarray, members: Sequence[int]) -> float:
    if len(members) < 2:
        return 1.0
    block = vectors[list(members)]
    sims = block @ block.T
    n = len(members)
    return float((sims.sum() - n) / (n * (n - 1)))  # rows are unit length: the diagonal is 1


def greedy_groups(vectors: np.ndarray, rng: random.Random, *, groups: int, size: tuple[int, int],
                  threshold: float, labels: Sequence[str] | None = None, top_k: int = 32) -> list[Group]:
    """Up to `groups` groups of `size[0]..size[1]` tools; each tool is in at most one group."""
    import numpy as np

    from synthesis.embed import neighbours

    n = len(vectors)
    if n < 2 or groups <= 0:
        return []
    index, score = neighbours(vectors, top_k)
    order = list(range(n))
    rng.shuffle(order)
    used = np.zeros(n, dtype=bool)
    found: list[Group] = []
    for seed in order:
        if len(found) >= groups:
            break
        if used[seed]:
            continue
        target = rng.randint(size[0], size[1])
        members = [seed]
        candidates: set[int] = set()
        _widen(candidates, members, seed, index[seed], score[seed], threshold, used, labels)
        while len(members) < target and candidates:
            pool = sorted(candidates)
            means = (vectors[pool] @ vectors[members].T).mean(axis=1)
            best = int(np.argmax(means))
            if means[best] < threshold:
                break
            chosen = pool[best]
            members.append(chosen)
            candidates.discard(chosen)
            _widen(candidates, members, seed, index[chosen], score[chosen], threshold, used, labels)
        if len(members) >= size[0]:
            used[members] = True
            found.append(Group(tuple(members), coherence(vectors, members)))
    return found


def _widen(candidates: set[int], members: list[int], seed: int, index: np.ndarray, score: np.ndarray,
           threshold: float, used: np.ndarray, labels: Sequence[str] | None) -> None:
    """Adds a member's neighbours above the threshold (unused, same label as the seed) to the candidates."""
    for j, s in zip(index.tolist(), score.tolist(), strict=True):
        if s < threshold:
            break
        if j not in members and not used[j] and (labels is None or labels[j] == labels[seed]):
            candidates.add(j)
