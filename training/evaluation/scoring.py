"""Per-sample scores and their aggregation into the paper's Table 1 and the fidelity table.

Paper metrics (percent of samples of the kind):

| kind | columns | All |
|---|---|---|
| single-turn | Format, Logic, Sem, Comp | all four met |
| multi-turn | Format, Logic, Sem, Comp, Cons | all five met |
| error | Det, Help | both met |

Avg is the mean of the three All columns (of the kinds present). Format, Comp and Det are
deterministic (`training.evaluation.deterministic`); Logic, Sem, Cons and Help come from the judge
(`rubric.md`). Without a judge those columns, All and Avg are left empty.

Fidelity (reference-based, no judge; `training.evaluation.fidelity`): isError agreement, shape
agreement, key Jaccard and type agreement (JSON references), exact and near value match, the share
of consistency checks passed and the share of episodes passing all of theirs.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from training.evaluation.deterministic import complete, detected, format_ok, missing_fields
from training.evaluation.fidelity import call_fidelity, episode_checks
from training.evaluation.samples import Sample

PAPER_COLUMNS = {
    "single": ("format", "logic", "sem", "comp"),
    "multi": ("format", "logic", "sem", "comp", "cons"),
    "error": ("det", "help"),
}
DETERMINISTIC = ("format", "comp", "det")
FIDELITY_COLUMNS = ("is_error_agree", "shape_agree", "keys", "types", "exact", "near")


def score_calls(samples: Iterable[Sample]) -> None:
    """Deterministic metrics and call-level fidelity into `sample.metrics`."""
    for sample in samples:
        tool, observed, reference = sample.tool, sample.observed, sample.reference
        if tool is None or observed is None:
            continue
        metrics: dict[str, Any] = {"simulator_failed": observed.simulator_failed}
        if sample.kind == "error":
            metrics["det"] = detected(observed)
        else:
            metrics["format"] = format_ok(tool, observed, reference)
            metrics["comp"] = complete(tool, observed, reference)
            missing = missing_fields(tool, observed, reference)
            if missing:
                metrics["missing_fields"] = missing[:20]
        metrics.update(call_fidelity(observed, reference).as_dict())
        sample.metrics.update(metrics)


def score_episodes(samples: list[Sample]) -> None:
    """Episode-level consistency checks, stored on the sample they check."""
    by_episode: dict[str, list[Sample]] = {}
    for sample in samples:
        by_episode.setdefault(sample.episode.id, []).append(sample)
    for items in by_episode.values():
        checks = episode_checks(items)
        by_index = {s.index: s for s in items}
        for check in checks:
            target = by_index[check.index]
            target.metrics.setdefault("consistency_checks", []).append(check.as_dict())
        for sample in items:
            found = sample.metrics.get("consistency_checks")
            if found:
                sample.metrics["consistency"] = sum(c["passed"] for c in found) / len(found)


def apply_judge(samples: Iterable[Sample]) -> None:
    """Judge verdicts into the metrics, and each sample's All."""
    for sample in samples:
        for criterion in ("logic", "sem", "cons", "help"):
            if criterion in sample.judge:
                sample.metrics[criterion] = bool(sample.judge[criterion])
        columns = PAPER_COLUMNS[sample.kind]
        if all(c in sample.metrics for c in columns):
            sample.metrics["all"] = all(sample.metrics[c] for c in columns)


def _percent(values: list[Any]) -> float | None:
    values = [v for v in values if v is not None]
    return round(100 * sum(float(v) for v in values) / len(values), 1) if values else None


def paper_row(samples: list[Sample]) -> dict[str, Any]:
    """The Table 1 row of a set of samples (percentages; None where nothing was measured)."""
    row: dict[str, Any] = {}
    for kind, columns in PAPER_COLUMNS.items():
        chosen = [s for s in samples if s.kind == kind and s.observed is not None]
        row[f"{kind}_n"] = len(chosen)
        for column in (*columns, "all"):
            row[f"{kind}_{column}"] = _percent([s.metrics.get(column) for s in chosen]) if chosen else None
    alls = [row[f"{k}_all"] for k in PAPER_COLUMNS if row[f"{k}_all"] is not None]
    row["avg"] = round(statistics.fmean(alls), 1) if alls else None
    return row


def fidelity_row(samples: list[Sample]) -> dict[str, Any]:
    answered = [s for s in samples if s.observed is not None]
    row: dict[str, Any] = {"calls": len(answered)}
    for column in FIDELITY_COLUMNS:
        row[column] = _percent([s.metrics.get(column) for s in answered])
    checks = [c for s in answered for c in s.metrics.get("consistency_checks", [])]
    row["consistency_checks"] = len(checks)
    row["consistency"] = _percent([c["passed"] for c in checks])
    episodes: dict[str, list[bool]] = {}
    for sample in answered:
        for check in sample.metrics.get("consistency_checks", []):
            episodes.setdefault(sample.episode.id, []).append(check["passed"])
    row["consistent_episodes"] = _percent([all(v) for v in episodes.values()])
    row["simulator_failures"] = sum(bool(s.metrics.get("simulator_failed")) for s in answered)
    latencies = [s.latency_s for s in answered if s.latency_s is not None]
    row["s_per_call"] = round(statistics.median(latencies), 3) if latencies else None
    return row
