"""`gtm-eval`: judging tool simulators the way the GTM paper does, plus reference-based fidelity.

Every episode of the chosen splits is played through a running gtm-mcp server (one per simulator:
schema, a local model, an OpenAI-compatible endpoint) with the official MCP client, one session per
episode, so the figures are what an agent gets. Each call is scored on the paper's metrics
(`scoring`: Format/Comp/Det deterministic, Logic/Sem/Cons/Help by a judge with the fixed rubric in
`rubric.md`) and, against what the real tool returned, on fidelity (`fidelity`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gtm_mcp.contract import EpisodeRecord
from training.evaluation.runner import SimulatorSpec

log = logging.getLogger("training.evaluation")


@dataclass
class EvalOptions:
    episodes: dict[str, list[EpisodeRecord]]  # split -> episodes
    simulators: list[SimulatorSpec]
    out: Path
    serve_args: list[str] = field(default_factory=list)
    concurrency: int = 4
    judge_url: str | None = None
    judge_model: str | None = None
    judge_api_key_env: str = "OPENAI_API_KEY"
    judge_max_tokens: int = 96
    judge_concurrency: int = 8
    judge_timeout_s: float = 600.0
    source: str = ""
    progress: bool = True


def evaluate(options: EvalOptions) -> dict[str, Any]:
    """Run every simulator over every split, score, and write the report; returns the summary
    (with `paths`)."""
    import anyio

    from training.evaluation.judge import Judge, judge_samples, judge_summary
    from training.evaluation.report import write_report
    from training.evaluation.runner import run_simulator
    from training.evaluation.samples import Sample, samples_of
    from training.evaluation.scoring import apply_judge, fidelity_row, paper_row, score_calls, score_episodes

    judge = None
    if options.judge_url:
        if not options.judge_model:
            raise ValueError("--judge-url needs --judge-model (the model name the endpoint serves)")
        judge = Judge(options.judge_url, options.judge_model, api_key_env=options.judge_api_key_env,
                      max_tokens=options.judge_max_tokens, concurrency=options.judge_concurrency,
                      timeout_s=options.judge_timeout_s)
    total = sum(len(samples_of(e, s)) for s, e in options.episodes.items())
    if total == 0:
        raise ValueError("no calls to evaluate: the chosen splits have no episodes with calls of defined tools")
    paper_rows: list[dict[str, Any]] = []
    fidelity_rows: list[dict[str, Any]] = []
    all_samples: dict[str, list[Sample]] = {}
    servers: dict[str, Any] = {}
    for spec in options.simulators:
        samples = [s for split, episodes in options.episodes.items() for s in samples_of(episodes, split)]
        with _Progress(options.progress, f"{spec.label}: calls", len(samples)) as advance:
            health = run_simulator(spec, samples, serve_args=options.serve_args, concurrency=options.concurrency,
                                   log_dir=options.out / "logs", progress=advance)
        servers[spec.label] = {"backend": health.get("backend"), "calls": health.get("calls")}
        score_calls(samples)
        score_episodes(samples)
        if judge is not None:
            log.info("%s: judging %d samples with %s", spec.label, len(samples), judge.model)
            anyio.run(judge_samples, judge, samples)
        apply_judge(samples)
        for split in options.episodes:
            chosen = [s for s in samples if s.split == split]
            if not chosen:
                continue
            paper_rows.append({"label": spec.label, "split": split, **paper_row(chosen)})
            fidelity_rows.append({"label": spec.label, "split": split, **fidelity_row(chosen)})
        all_samples[spec.label] = samples
    summary = {"source": options.source, "splits": {s: len(e) for s, e in options.episodes.items()},
               "simulators": [vars(s) for s in options.simulators], "serve_args": options.serve_args,
               "judge": judge_summary(judge) if judge else None, "servers": servers}
    paths = write_report(options.out, paper_rows, fidelity_rows, all_samples, summary)
    return {**summary, "paper": paper_rows, "fidelity": fidelity_rows, "paths": {k: str(v) for k, v in paths.items()}}


class _Progress:
    """A rich progress bar on stderr (a no-op when off); yields a callable that advances it."""

    def __init__(self, enabled: bool, label: str, total: int) -> None:
        self.enabled, self.label, self.total = enabled, label, total
        self._bar: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                             console=Console(stderr=True))
        self._bar.start()
        task = self._bar.add_task(self.label, total=self.total)
        return lambda: self._bar.advance(task)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()


__all__ = ["EvalOptions", "SimulatorSpec", "evaluate"]
