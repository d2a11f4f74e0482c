"""The whole analysis, stage by stage: load → embed → overlap → regions → map → render → report."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coverage_analysis import CoverageInputError
from coverage_analysis.loading import PROBE, REAL, SIMULATED, Tool, load_side, parse_probe, sample
from coverage_analysis.overlap import DEFAULT_THRESHOLD

log = logging.getLogger("coverage_analysis")



@dataclass
class Config:
    real: list[Path]
    simulated: list[Path]
    out: Path
    probes: list[str] = field(default_factory=list)
    model: str | None = None  # a local model directory or a cached name; None: the packaged MiniLM
    cache: Path | None = None  # None: no cache
    threshold: float = DEFAULT_THRESHOLD
    max_tools: int | None = None
    seed: int = 0
    tsne: str = "auto"
    perplexity: float = 30.0
    iterations: int = 750
    clusters: int = 8
    strict: bool = False
    progress: bool = True
    real_label: str = "real MCP tools"
    simulated_label: str = "simulated tools"


@dataclass
class Result:
    summary: dict[str, Any]
    out: Path


class Stages:
    """Times each stage and prints it to stderr as it finishes."""

    def __init__(self, quiet: bool = False) -> None:
        self.times: dict[str, float] = {}
        self.quiet = quiet

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if not self.quiet:
            print(f"[coverage] {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        yield
        self.times[name] = round(time.perf_counter() - start, 2)
        if not self.quiet:
            print(f"[coverage] {name}: {self.times[name]:.1f} s", file=sys.stderr, flush=True)


def run(config: Config) -> Result:
    import numpy as np

    from coverage_analysis import embedding, overlap, regions, render, report, tsne

    if not 0 < config.threshold < 1:
        raise CoverageInputError(f"--threshold {config.threshold}: must be between 0 and 1 (cosine similarity)")
    stages = Stages(quiet=not config.progress)
    started = time.perf_counter()
    with stages("load"):
        probes = [parse_probe(p) for p in config.probes]
        real = load_side(config.real, REAL, strict=config.strict)
        simulated = load_side(config.simulated, SIMULATED, strict=config.strict)
        for side in (real, simulated):
            if side.problems:
                log.warning("%s: skipped %d broken tool definition(s), e.g.\n  %s", side.kind, len(side.problems),
                            "\n  ".join(str(p) for p in side.problems[:5]))
        sample(real, simulated, config.max_tools, config.seed)
        tools: list[Tool] = real.tools + simulated.tools + probes
        n_real, n_sim = len(real.tools), len(simulated.tools)
        print(f"[coverage] {n_real:,} real tools ({real.duplicates:,} duplicates dropped), {n_sim:,} simulated "
              f"({simulated.duplicates:,} duplicates dropped), {len(probes)} probes", file=sys.stderr)

    model = config.model or embedding.default_model()
    with stages("embed"):
        vectors, cache_stats = embedding.embed([t.text for t in tools], model, config.cache,
                                               progress=config.progress)
    real_v, sim_v, probe_v = vectors[:n_real], vectors[n_real:n_real + n_sim], vectors[n_real + n_sim:]

    with stages("overlap"):
        real_nn = overlap.nearest(real_v, sim_v)
        sim_nn = overlap.nearest(sim_v, real_v)
        t = config.threshold
        overlap_summary = {
            "threshold": t,
            "real_total": n_real, "simulated_total": n_sim,
            "real_covered": int((real_nn.similarity >= t).sum()),
            "simulated_covered": int((sim_nn.similarity >= t).sum()),
            "real_covered_share": round(overlap.share_at_least(real_nn.similarity, t), 4),
            "simulated_covered_share": round(overlap.share_at_least(sim_nn.similarity, t), 4),
            "real_nearest_similarity": overlap.summary(real_nn.similarity),
            "simulated_nearest_similarity": overlap.summary(sim_nn.similarity),
            "real_curve": overlap.curve(real_nn.similarity),
            "simulated_curve": overlap.curve(sim_nn.similarity),
            "closest_pairs": _pairs(real.tools, simulated.tools, real_nn, 10, best=True),
            "borderline_pairs": _borderline(real.tools, simulated.tools, real_nn, t, 10, config.seed),
        }
        probe_summary = _probes(probes, probe_v, real.tools, real_v, simulated.tools, sim_v)

    with stages("regions"):
        vectorizer, tfidf = regions.fit_vocabulary(real.tools + simulated.tools)
        vocabulary = vectorizer.get_feature_names_out().tolist()
        background = np.asarray(tfidf.mean(axis=0)).ravel()
        found = {}
        for name, side, nn, v, offset in (("real_only", real, real_nn, real_v, 0),
                                          ("simulated_only", simulated, sim_nn, sim_v, n_real)):
            alone = np.flatnonzero(nn.similarity < t)
            found[name] = [r.to_json() for r in regions.regions(
                side.kind, [side.tools[i] for i in alone], v[alone], tfidf[alone + offset], vocabulary, background,
                n_clusters=config.clusters, seed=config.seed)]

    with stages("t-SNE"):
        xy, method = tsne.tsne(vectors, method=config.tsne, perplexity=config.perplexity,
                               iterations=config.iterations, seed=config.seed)
        _map_neighbours(probe_summary, xy, tools, n_real + n_sim)

    config.out.mkdir(parents=True, exist_ok=True)
    legend = render.labels_for(config.real_label, config.simulated_label)
    title = (f"{config.real_label} vs {config.simulated_label}: {100 * overlap_summary['real_covered_share']:.1f}% "
             f"of real covered, {100 * overlap_summary['simulated_covered_share']:.1f}% of simulated "
             f"(cosine ≥ {t:.2f})")
    with stages("render"):
        render.write_png(config.out / "map.png", xy, tools, title=title, legend=legend, seed=config.seed)
        render.write_html_map(config.out / "map.html", xy, tools, title=title, legend=legend)

    summary: dict[str, Any] = {
        "labels": {"real": config.real_label, "simulated": config.simulated_label},
        "model": {"name": model, "max_seq_length": embedding.MAX_SEQ_LENGTH,
                  "embeddings_cached": cache_stats["cached"], "embeddings_computed": cache_stats["computed"],
                  "cache": str(config.cache) if config.cache else None},
        "inputs": {side.kind: {"files": side.files, "counts": side.counts(),
                               "problems": [str(p) for p in side.problems[:200]]} for side in (real, simulated)},
        "seed": config.seed,
        "overlap": overlap_summary,
        "regions": found,
        "probes": probe_summary,
        "map": {"method": method, "perplexity": config.perplexity, "iterations": config.iterations,
                "files": ["map.png", "map.html"]},
        "timings_s": stages.times,
    }
    with stages("report"):
        summary["timings_s"]["total"] = round(time.perf_counter() - started, 2)
        report.write_report(config.out / "report.html", summary)
        (config.out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    # The report stage's own time is tiny; record it in the file too.
    summary["timings_s"]["total"] = round(time.perf_counter() - started, 2)
    (config.out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    return Result(summary, config.out)


def _brief(tool: Tool, similarity: float | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"name": tool.name, "server": tool.server or tool.domain or "",
                            "description": tool.description[:200]}
    if similarity is not None:
        data["similarity"] = round(float(similarity), 4)
    return data


def _pairs(real: list[Tool], sim: list[Tool], nn, count: int, best: bool) -> list[dict]:
    order = nn.similarity.argsort()[::-1][:count] if best else nn.similarity.argsort()[:count]
    return [{"real": _brief(real[i]), "simulated": _brief(sim[nn.index[i]]),
             "similarity": round(float(nn.similarity[i]), 4)} for i in order]


def _borderline(real: list[Tool], sim: list[Tool], nn, threshold: float, count: int, seed: int) -> list[dict]:
    """Pairs just above the threshold: what "covered" means at its weakest."""
    import numpy as np

    band = np.flatnonzero((nn.similarity >= threshold) & (nn.similarity < threshold + 0.03))
    chosen = np.random.default_rng(seed).permutation(band)[:count]
    return [{"real": _brief(real[i]), "simulated": _brief(sim[nn.index[i]]),
             "similarity": round(float(nn.similarity[i]), 4)} for i in chosen]


def _probes(probes: list[Tool], probe_v, real: list[Tool], real_v, sim: list[Tool], sim_v, k: int = 5) -> list[dict]:
    from coverage_analysis.overlap import top_k

    if not probes:
        return []
    r_idx, r_sim = top_k(probe_v, real_v, k)
    s_idx, s_sim = top_k(probe_v, sim_v, k)
    return [{"name": p.name, "description": p.description,
             "nearest_real": [_brief(real[j], s) for j, s in zip(r_idx[i], r_sim[i], strict=True)],
             "nearest_simulated": [_brief(sim[j], s) for j, s in zip(s_idx[i], s_sim[i], strict=True)]}
            for i, p in enumerate(probes)]


def _map_neighbours(probe_summary: list[dict], xy, tools: list[Tool], first_probe: int, k: int = 10) -> None:
    """Add each probe's map position and its `k` nearest points on the 2-D map (other probes excluded)."""
    import numpy as np

    others = xy[:first_probe]
    for i, entry in enumerate(probe_summary):
        at = xy[first_probe + i]
        near = np.argsort(((others - at) ** 2).sum(axis=1))[:k]
        entry["map_xy"] = [round(float(at[0]), 3), round(float(at[1]), 3)]
        entry["map_neighbours"] = [{"name": tools[j].name, "kind": tools[j].kind} for j in near]
        entry["map_neighbours_real_share"] = round(float(np.mean([tools[j].kind == REAL for j in near])), 4)


__all__ = ["DEFAULT_THRESHOLD", "PROBE", "Config", "Result", "run"]
