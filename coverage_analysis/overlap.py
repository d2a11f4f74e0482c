"""Overlap of two tool sets measured in the embedding space (cosine similarity), never on the 2-D map.

For each tool of one set, the similarity to its nearest tool in the other set; a tool is *covered* when
that similarity reaches the threshold. Coverage is reported both ways and as a curve over thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

#: Default similarity threshold for "covered": at or above it, the nearest tool on the other side does the
#: same job (hand-checked pairs and a null distribution, see docs/coverage.md).
DEFAULT_THRESHOLD = 0.6

#: Thresholds for the coverage curve.
CURVE = tuple(round(0.30 + 0.05 * i, 2) for i in range(14))  # 0.30 ... 0.95


@dataclass(frozen=True)
class Neighbours:
    """For every row of `a`, the index in `b` of its nearest row and their cosine similarity."""

    index: np.ndarray
    similarity: np.ndarray


def nearest(a: np.ndarray, b: np.ndarray, *, chunk: int = 2048) -> Neighbours:
    """Exact nearest neighbours by cosine similarity (rows are unit length), in chunks to bound memory."""
    import numpy as np

    index = np.empty(len(a), dtype=np.int64)
    similarity = np.empty(len(a), dtype=np.float32)
    for start in range(0, len(a), chunk):
        scores = a[start:start + chunk] @ b.T
        best = scores.argmax(axis=1)
        index[start:start + chunk] = best
        similarity[start:start + chunk] = scores[np.arange(len(best)), best]
    return Neighbours(index, similarity)


def top_k(query: np.ndarray, b: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and similarities of the `k` nearest rows of `b` for each row of `query`, best first."""
    import numpy as np

    scores = query @ b.T
    k = min(k, b.shape[0])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(scores, part, axis=1).argsort(axis=1)[:, ::-1]
    idx = np.take_along_axis(part, order, axis=1)
    return idx, np.take_along_axis(scores, idx, axis=1)


def share_at_least(similarity: np.ndarray, threshold: float) -> float:
    return float((similarity >= threshold).mean()) if len(similarity) else 0.0


def curve(similarity: np.ndarray, thresholds: tuple[float, ...] = CURVE) -> list[dict[str, float]]:
    return [{"threshold": t, "share": round(share_at_least(similarity, t), 4)} for t in thresholds]


def summary(similarity: np.ndarray) -> dict[str, float]:
    import numpy as np

    if not len(similarity):
        return {}
    q = np.quantile(similarity, [0.1, 0.25, 0.5, 0.75, 0.9])
    return {"mean": round(float(similarity.mean()), 4), "p10": round(float(q[0]), 4), "p25": round(float(q[1]), 4),
            "median": round(float(q[2]), 4), "p75": round(float(q[3]), 4), "p90": round(float(q[4]), 4)}
