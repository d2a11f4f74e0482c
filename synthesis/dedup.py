"""Near-duplicate tools out: a tool whose name+description embedding is within `threshold` cosine of
a tool kept before it is dropped. Earlier inputs win (imported tools before generated ones), so
generated tools are deduplicated against each other and against the imported ones in one pass.

Scales to the paper's 20k tools on 2 cores: each tool's `top_k` nearest neighbours come from
chunked matrix products (`sentence_transformers.util.semantic_search`), then one linear pass
decides. (A tool with more than `top_k` near twins might keep one more twin than an exact pass.)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass
class DedupResult:
    kept: list[int]  # indices into the input, in input order
    duplicate_of: dict[int, tuple[int, float]] = field(default_factory=dict)  # dropped -> (kept twin, cosine)
    same_name: dict[int, int] = field(default_factory=dict)  # dropped for a name already kept -> that tool


def near_duplicates(names: Sequence[str], vectors: np.ndarray, threshold: float = 0.8, *,
                    top_k: int = 32) -> DedupResult:
    """Which of the tools (in priority order, one vector row each) to keep."""
    from synthesis.embed import neighbours

    index, score = neighbours(vectors, top_k)
    kept_mask = [False] * len(names)
    result = DedupResult(kept=[])
    first_by_name: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in first_by_name:
            result.same_name[i] = first_by_name[name]
            continue
        twin = None
        for j, s in zip(index[i].tolist(), score[i].tolist(), strict=True):
            if s < threshold:
                break  # neighbours come best first
            if j != i and j < i and kept_mask[j]:
                twin = (j, float(s))
                break
        if twin is not None:
            result.duplicate_of[i] = twin
            continue
        kept_mask[i] = True
        first_by_name[name] = i
        result.kept.append(i)
    return result
