"""Time the coverage analysis end to end on the real data: every stage, cold and warm embedding cache.

    .venv/bin/python benchmarks/coverage_speed.py                 # ~15k tools and a 10k sample, cold + warm
    .venv/bin/python benchmarks/coverage_speed.py --compare-tsne  # also openTSNE vs scikit-learn at 10k
    .venv/bin/python benchmarks/coverage_speed.py --sizes 10000 --warm-only --cache ~/.cache/gtm-mcp/embeddings

Real: toolsdk registry (8,010) + LiveMCPBench (527); simulated: Seal-Tools (4,076) + StableToolBench
(2,479), read from ../shared/data. "Cold" uses a fresh, empty embedding cache (the model load is
included); "warm" reruns with the cache the cold run filled. Reports go to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
REAL = [DATA / "toolsdk-mcp-registry" / "packages-list.json", DATA / "livemcpbench" / "tools.json"]
SIMULATED = [DATA / "seal-tools" / "tool.jsonl", DATA / "stabletoolbench"]
PROBES = ["web_search=Search the web for pages matching a query",
          "retrieve_documents=Retrieve the documents most relevant to a question from a knowledge base",
          "cuda_validator=Compile and run a CUDA kernel and check its output against a reference"]


def run_once(max_tools: int | None, cache: Path, out: Path, tsne: str) -> dict:
    from coverage_analysis.pipeline import Config, run

    config = Config(real=REAL, simulated=SIMULATED, out=out, probes=PROBES, cache=cache, max_tools=max_tools,
                    tsne=tsne, progress=False)
    result = run(config)
    s = result.summary
    return {"tools": s["overlap"]["real_total"] + s["overlap"]["simulated_total"] + len(PROBES),
            "computed": s["model"]["embeddings_computed"], "timings": s["timings_s"],
            "real_covered": s["overlap"]["real_covered_share"],
            "simulated_covered": s["overlap"]["simulated_covered_share"],
            "method": s["map"]["method"]}


def compare_tsne(n: int) -> None:
    """openTSNE vs scikit-learn on n real embeddings (from a cached run)."""
    import numpy as np

    from coverage_analysis import embedding, tsne
    from coverage_analysis.loading import load_side, sample

    real, sim = load_side(REAL, "real"), load_side(SIMULATED, "simulated")
    sample(real, sim, n, seed=0)
    vectors, _ = embedding.embed([t.text for t in real.tools + sim.tools], embedding.default_model(),
                                 embedding.default_cache_dir(), progress=False)
    kinds = np.array([0] * len(real.tools) + [1] * len(sim.tools))
    for method, iterations in (("opentsne", 750), ("sklearn", 500), ("sklearn", 750), ("sklearn", 1000)):
        if method == "opentsne" and not tsne.has_opentsne():
            print("openTSNE not installed; skipped")
            continue
        start = time.perf_counter()
        xy, _ = tsne.tsne(vectors, method=method, iterations=iterations)
        took = time.perf_counter() - start
        # quality: share of each point's 10 nearest map neighbours that are among its 10 nearest in 384-d
        idx = np.random.default_rng(0).choice(len(xy), 500, replace=False)
        hi = np.argsort(-(vectors[idx] @ vectors.T), axis=1)[:, 1:11]
        lo = np.argsort(((xy[idx, None, :] - xy[None, :, :]) ** 2).sum(-1), axis=1)[:, 1:11]
        kept = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(hi, lo, strict=True)])
        same = np.mean(kinds[lo] == kinds[idx, None])
        print(f"t-SNE {method:8s} iterations={iterations:4d} n={len(xy):,}: {took:6.1f} s  "
              f"10-NN preserved {kept:.2f}  same-side neighbours {same:.2f}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="all,10000", help="comma-separated tool counts; 'all' = every tool")
    p.add_argument("--warm-only", action="store_true", help="skip the cold runs (use --cache, already filled)")
    p.add_argument("--cache", type=Path, help="cache for warm-only runs (default: a fresh temp folder per size)")
    p.add_argument("--tsne", default="auto", choices=("auto", "opentsne", "sklearn"))
    p.add_argument("--compare-tsne", action="store_true", help="also time openTSNE vs scikit-learn at 10k")
    args = p.parse_args()
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 1
    print(f"cpus: {os.cpu_count()}  load average before: {os.getloadavg()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            max_tools = None if size == "all" else int(size)
            cache = args.cache or Path(tmp) / f"cache-{size}"
            for phase in (["warm"] if args.warm_only else ["cold", "warm"]):
                result = run_once(max_tools, cache, Path(tmp) / f"out-{size}-{phase}", args.tsne)
                rows.append({"size": size, "phase": phase, **result})
                t = result["timings"]
                stages = "  ".join(f"{k} {v:.1f}s" for k, v in t.items() if k not in ("total", "report"))
                print(f"{result['tools']:6,} tools {phase:4s}: total {t['total']:6.1f} s | {stages} | "
                      f"embedded {result['computed']:,} | t-SNE {result['method']} | covered real "
                      f"{100 * result['real_covered']:.1f}% sim {100 * result['simulated_covered']:.1f}%",
                      flush=True)
    if args.compare_tsne:
        compare_tsne(10_000)
    print(f"load average after: {os.getloadavg()}")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
