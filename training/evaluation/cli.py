"""`gtm-eval`: score tool simulators on held-out episodes through a running gtm-mcp server."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path

EPILOG = """\
simulators (--sim, repeatable): LABEL=BACKEND[:MODEL][@BASE_URL]
  schema                                   the no-model backend
  base=local:smollm2                       the packaged SmolLM2-135M in-process (before training)
  gtm=local:gtm-smollm2                    the GTM built by `gtm-train build` (or a model folder)
  vllm=openai:gtm@http://127.0.0.1:8000/v1 a GTM behind vLLM (or any OpenAI-compatible model)

examples:
  # before/after on held-out episodes and held-out tools, judged by a model behind vLLM
  gtm-eval --data export/ --split heldout test --sim schema --sim base=local:smollm2 \\
      --sim gtm=local:gtm-smollm2 --judge-url http://127.0.0.1:8001/v1 --judge-model judge --out eval/
  # deterministic metrics and reference-based fidelity only (no judge)
  gtm-eval --data export/ --split heldout --sim schema --limit 20 --out eval-schema/

Writes OUT/table.md (the paper's Table 1 and the fidelity table), table.csv, fidelity.csv, bars.png,
samples.jsonl (every call: reference, answer, metrics, verdict) and summary.json.
Exit codes: 0 done, 2 bad input, 1 a simulator or server that failed to run.
"""

NEEDS = ("mcp", "matplotlib")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gtm-eval", description=__doc__, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, metavar="EXPORT", help="a synthesis export folder")
    p.add_argument("--episodes", type=Path, nargs="+", default=[], metavar="JSONL",
                   help="episode files (gtm-episode/1 lines: a server's recording, CARG output on tools the model "
                   "never saw); each is scored as a split named after the file")
    p.add_argument("--split", nargs="+", default=["heldout", "test"],
                   help="episode splits of the export: heldout (held-out episodes), test (held-out tools), "
                   "validation, train (default: heldout test)")
    p.add_argument("--limit", type=int, metavar="N", help="at most N episodes per split, taken evenly across it")
    p.add_argument("--sim", action="append", default=[], metavar="SPEC",
                   help="a simulator to evaluate (repeatable; default: schema)")
    p.add_argument("--serve-arg", action="append", default=[], metavar="FLAGS",
                   help="extra `gtm-mcp serve` flags for every simulator, e.g. --serve-arg '--max-new-tokens 256'")
    p.add_argument("--concurrency", type=int, default=4, help="episodes in flight per simulator (default 4)")
    p.add_argument("--judge-url", help="OpenAI-compatible base URL of the judge (e.g. http://127.0.0.1:8001/v1)")
    p.add_argument("--judge-model", help="the judge's model name at that endpoint")
    p.add_argument("--judge-api-key-env", default="OPENAI_API_KEY", help="variable holding the judge's API key")
    p.add_argument("--judge-max-tokens", type=int, default=96, help="longest verdict (default 96)")
    p.add_argument("--judge-concurrency", type=int, default=8, help="judge requests in flight (default 8)")
    p.add_argument("--out", type=Path, required=True, help="the report folder (created)")
    p.add_argument("-q", "--quiet", action="store_true", help="warnings only, no progress bar")
    return p


def evenly(items: list, limit: int | None) -> list:
    """At most `limit` items taken evenly across `items` (every source of a split keeps its share)."""
    if limit is None or len(items) <= limit:
        return items
    return [items[i * len(items) // limit] for i in range(limit)]


def main(argv: list[str] | None = None) -> int:
    from gtm_mcp.extras import require_extra

    args = parser().parse_args(argv)
    require_extra("gtm-eval", "train", NEEDS)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, stream=sys.stderr,
                        format="[gtm-eval] %(levelname)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from training.data import Export, ExportError, read_episodes
    from training.evaluation import EvalOptions, SimulatorSpec, evaluate

    try:
        simulators = [SimulatorSpec.parse(s) for s in (args.sim or ["schema"])]
        labels = [s.label for s in simulators]
        if len(set(labels)) != len(labels):
            raise ValueError(f"--sim labels must differ: {labels}")
        if args.data is None and not args.episodes:
            raise ValueError("give --data EXPORT, --episodes FILE..., or both")
        episodes: dict[str, list] = {}
        sources = []
        if args.data is not None:
            export = Export.open(args.data)
            episodes.update({split: evenly(export.episodes(split), args.limit) for split in args.split})
            sources.append(str(export.root))
        for path in args.episodes:
            name = path.stem if path.stem not in episodes else str(path)
            episodes[name] = evenly(read_episodes(path), args.limit)
            sources.append(str(path))
        source = ", ".join(sources)
        serve_args = [flag for chunk in args.serve_arg for flag in shlex.split(chunk)]
        options = EvalOptions(episodes=episodes, simulators=simulators, out=args.out, serve_args=serve_args,
                              concurrency=args.concurrency, judge_url=args.judge_url, judge_model=args.judge_model,
                              judge_api_key_env=args.judge_api_key_env, judge_max_tokens=args.judge_max_tokens,
                              judge_concurrency=args.judge_concurrency, source=source, progress=not args.quiet)
        result = evaluate(options)
    except (ExportError, ValueError) as e:
        print(f"gtm-eval: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # a server that did not start, a model that did not load
        print(f"gtm-eval: {e}", file=sys.stderr)
        return 1
    print(Path(result["paths"]["table.md"]).read_text())
    print(json.dumps(result["paths"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
