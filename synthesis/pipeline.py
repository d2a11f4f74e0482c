"""`gtm-synth run config.yaml`: the configured stages in order, in one run folder, each resumable.

| stage | reads | writes |
|---|---|---|
| taxonomy | seed fields | taxonomy.jsonl |
| tools | taxonomy.jsonl | generated_tools.jsonl |
| import | the configured sources | imported_tools.jsonl |
| dedup | imported_tools.jsonl, generated_tools.jsonl | tools.jsonl |
| single | tools.jsonl | single.jsonl |
| multi | tools.jsonl | multi.jsonl, groups.jsonl |
| errors | tools.jsonl, single.jsonl | errors.jsonl |
| export | single/multi/errors.jsonl + recorded episodes | export/ |

Each stage also writes `<stage>.rejected.jsonl` and `<stage>.stats.json`; the teacher's ledger
accumulates in `ledger.json`."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from synthesis.config import DedupConfig, ExportConfig, RunConfig, expand_path
from synthesis.stages.base import Run
from synthesis.toolfile import ToolEntry, read_tools

log = logging.getLogger("synthesis")


def generation_tools(run: Run) -> list[ToolEntry]:
    """The tools stages 4-6 work on: tools.jsonl (after dedup), else imported + generated tools."""
    if run.path("tools.jsonl").exists():
        return read_tools([run.path("tools.jsonl")])
    found = [p for p in (run.path("imported_tools.jsonl"), run.path("generated_tools.jsonl")) if p.exists()]
    if not found:
        raise FileNotFoundError(f"{run.out}: no tools yet (run the import or tools stage first)")
    return read_tools(found)


def teacher_card(config: RunConfig) -> dict[str, Any]:
    t = config.teacher
    return {"model": t.model, "base_url": t.base_url, "send_seed": t.send_seed, "temperature": t.temperature,
            "judge_temperature": t.judge_temperature, "max_tokens": t.max_tokens,
            "judge_max_tokens": t.judge_max_tokens,
            "structured_output": t.structured_output, "concurrency": t.concurrency,
            "requests_per_second": t.requests_per_second, "extra_body": t.extra_body}


async def run_stage(run: Run, stage: str) -> dict[str, Any]:
    cfg = run.config
    if stage == "taxonomy":
        from synthesis.stages.taxonomy import run_taxonomy

        return await run_taxonomy(run, cfg.taxonomy)
    if stage == "tools":
        from synthesis.stages.tools import run_tools

        return await run_tools(run, cfg.tools)
    if stage == "import":
        from synthesis.stages.importing import run_import

        return await run_import(run, cfg.import_)
    if stage == "dedup":
        from synthesis.stages.dedup import run_dedup

        inputs = [p for p in (run.path("imported_tools.jsonl"), run.path("generated_tools.jsonl")) if p.exists()]
        threshold = cfg.dedup or DedupConfig(threshold=cfg.tools.dedup_threshold if cfg.tools else 0.8)
        return await run_dedup(run, threshold, inputs)
    if stage == "single":
        from synthesis.stages.single import run_single

        return await run_single(run, generation_tools(run), cfg.single)
    if stage == "multi":
        from synthesis.stages.multi import run_multi

        shares = (cfg.export or ExportConfig()).splits
        return await run_multi(run, generation_tools(run), cfg.multi, shares)
    if stage == "errors":
        from synthesis.stages.errors import run_errors

        return await run_errors(run, generation_tools(run), cfg.errors)
    if stage == "export":
        return run_export(run, cfg.export or ExportConfig())
    raise ValueError(f"unknown stage {stage!r}")


def run_export(run: Run, cfg: ExportConfig, out: Path | None = None) -> dict[str, Any]:
    from synthesis.export import ExportSettings, export

    inputs = [p for p in (run.path(f"{s}.jsonl") for s in ("single", "multi", "errors")) if p.exists()]
    recorded = [Path(expand_path(p)) for p in cfg.recorded]
    inputs += recorded
    stats_dirs = [run.out] + [p for p in recorded if p.is_dir()]
    settings = ExportSettings(seed=run.seed, shares=cfg.splits, holdout_servers=cfg.holdout_servers,
                              context_window=cfg.context_window,
                              max_new_tokens=cfg.max_new_tokens, max_target_chars=cfg.max_target_chars,
                              progress=run.progress)
    return export(out or run.path("export"), inputs, settings, stats_dirs=stats_dirs, teacher=teacher_card(run.config))


async def run_pipeline(config: RunConfig, *, out: str | None = None, stages: list[str] | None = None,
                       progress: bool = True) -> dict[str, Any]:
    run = Run(config, out, progress=progress)
    chosen = stages or config.stages()
    missing = [s for s in chosen if s not in ("dedup", "export") and getattr(
        config, "import_" if s == "import" else s) is None]
    if missing:
        raise ValueError(f"the config has no section for stage(s) {', '.join(missing)}")
    summary: dict[str, Any] = {}
    try:
        for stage in chosen:
            log.info("stage %s", stage)
            summary[stage] = await run_stage(run, stage)
    finally:
        await run.close()
    (run.out / "run.json").write_text(json.dumps({"config": config.model_dump(mode="json", by_alias=True),
                                                  "stages": chosen}, indent=2), encoding="utf-8")
    return summary
