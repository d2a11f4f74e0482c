"""Exclusive regions: clusters of the tools one side has and the other lacks, labelled by their top terms.

A tool is *exclusive* when its nearest tool on the other side is below the similarity threshold. The
exclusive tools of each side are clustered (k-means on the unit-length embeddings); each cluster gets
its most distinctive terms (TF-IDF of the cluster against all analysed tools), its dominant domains or
servers, and the tools nearest its centre as examples.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from coverage_analysis.loading import Tool, readable_name

if TYPE_CHECKING:
    import numpy as np

#: Words that say nothing about what a tool does, on top of scikit-learn's English stop words.
BOILERPLATE = frozenset("""
api apis endpoint endpoints tool tools function get post put delete returns return using use used specified
given provided based information data list new specific allows retrieve retrieves fetch fetches mcp server
based provides provide including details detail id ids query request response parameter parameters value
""".split())


#: Domain labels that say nothing (the registry files many packages under these).
UNINFORMATIVE = re.compile(r"uncategori[sz]ed|^other", re.I)


@dataclass(frozen=True)
class Region:
    side: str
    size: int
    share_of_exclusive: float
    terms: list[str]
    top_groups: list[tuple[str, int]]  # most frequent domains, with counts
    top_servers: list[tuple[str, int]]  # most frequent servers / APIs / packages, with counts
    examples: list[dict[str, str]]

    def to_json(self) -> dict:
        data = asdict(self)
        data["top_groups"] = [{"group": g, "tools": n} for g, n in self.top_groups]
        data["top_servers"] = [{"server": g, "tools": n} for g, n in self.top_servers]
        return data


def _tokenizer_texts(tools: Sequence[Tool]) -> list[str]:
    return [f"{readable_name(t.name)} {t.description}" for t in tools]


def fit_vocabulary(tools: Sequence[Tool]):
    """A TF-IDF vectoriser fitted on every analysed tool, and the matrix of those tools."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    vectorizer = TfidfVectorizer(stop_words=sorted(ENGLISH_STOP_WORDS | BOILERPLATE), min_df=3, max_df=0.2,
                                 token_pattern=r"(?u)\b[^\W\d_][^\W_]+\b", lowercase=True, sublinear_tf=True)
    matrix = vectorizer.fit_transform(_tokenizer_texts(tools))
    return vectorizer, matrix


def regions(side: str, tools: Sequence[Tool], vectors: np.ndarray, tfidf_rows, vocabulary: Sequence[str],
            background: np.ndarray, *, n_clusters: int = 8, n_terms: int = 6, n_examples: int = 5,
            seed: int = 0) -> list[Region]:
    """Clusters of `tools` (the exclusive tools of one side), largest first.

    `tfidf_rows` are the TF-IDF rows of `tools`; `background` is the mean TF-IDF row of all analysed
    tools, so that a cluster's terms are those it has more of than the whole.
    """
    import numpy as np
    from sklearn.cluster import KMeans

    n = len(tools)
    if n == 0:
        return []
    k = max(1, min(n_clusters, n // 5 or 1))
    labels = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(vectors) if k > 1 else np.zeros(n, int)
    found: list[Region] = []
    for label in range(k):
        members = np.flatnonzero(labels == label)
        if not len(members):
            continue
        weights = np.asarray(tfidf_rows[members].mean(axis=0)).ravel() - background
        terms = [vocabulary[i] for i in weights.argsort()[::-1][:n_terms] if weights[i] > 0]
        centre = vectors[members].mean(axis=0)
        nearest = members[(vectors[members] @ centre).argsort()[::-1][:n_examples]]
        groups = Counter(tools[i].domain for i in members
                         if tools[i].domain and not UNINFORMATIVE.search(tools[i].domain)).most_common(3)
        servers = Counter(tools[i].server for i in members if tools[i].server).most_common(3)
        examples = [{"name": tools[i].name, "server": tools[i].server or "", "domain": tools[i].domain or "",
                     "description": _short(tools[i].description)} for i in nearest]
        found.append(Region(side=side, size=len(members), share_of_exclusive=round(len(members) / n, 4),
                            terms=terms, top_groups=groups, top_servers=servers, examples=examples))
    return sorted(found, key=lambda r: -r.size)


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
