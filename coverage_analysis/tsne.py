"""The 2-D map: t-SNE of the embeddings (after PCA to 50 dimensions).

Two implementations: openTSNE (FFT-accelerated, used when installed: about 3x faster at 10k+ points
on 2 cores, see docs/coverage.md) and scikit-learn's Barnes-Hut t-SNE (always available).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

Method = Literal["auto", "opentsne", "sklearn"]


def has_opentsne() -> bool:
    try:
        import openTSNE  # noqa: F401
    except ImportError:
        return False
    return True


def reduce(vectors: np.ndarray, dims: int = 50, seed: int = 0) -> np.ndarray:
    """PCA to `dims` dimensions (t-SNE's neighbour search is much faster there, and the map the same)."""
    from sklearn.decomposition import PCA

    if vectors.shape[1] <= dims or vectors.shape[0] <= dims:
        return vectors
    return PCA(n_components=dims, random_state=seed).fit_transform(vectors).astype("float32")


def tsne(vectors: np.ndarray, *, method: Method = "auto", perplexity: float = 30.0, iterations: int = 750,
         seed: int = 0, n_jobs: int = -1) -> tuple[np.ndarray, str]:
    """2-D coordinates for each row, and the implementation used."""
    import numpy as np

    n = len(vectors)
    if n < 5:  # t-SNE is meaningless here; spread the points on a line so the map still renders
        return np.column_stack([np.arange(n, dtype=float), np.zeros(n)]), "none"
    perplexity = min(perplexity, max(2.0, (n - 1) / 3))
    x = reduce(vectors, seed=seed)
    if method == "opentsne" or (method == "auto" and has_opentsne()):
        from openTSNE import TSNE

        early = min(250, iterations // 3)
        result = TSNE(perplexity=perplexity, n_iter=iterations - early, early_exaggeration_iter=early,
                      n_jobs=n_jobs, random_state=seed, metric="cosine", neighbors="auto",
                      negative_gradient_method="fft" if n > 2000 else "bh").fit(x)
        return np.asarray(result), "opentsne"
    from sklearn.manifold import TSNE as SkTSNE

    result = SkTSNE(perplexity=perplexity, max_iter=max(250, iterations), init="pca", learning_rate="auto",
                    metric="cosine", random_state=seed, n_jobs=n_jobs).fit_transform(x)
    return np.asarray(result), "sklearn"
