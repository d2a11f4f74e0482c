"""What every stage shares: the run folder's files, resuming, the worker pool, progress bars and
the stage's figures.

A stage turns work items (each with a stable key derived from the seed and what it is about) into
accepted records (`<stage>.jsonl`) or rejections (`<stage>.rejected.jsonl`, with the reason and
the checks that ran). A resumed stage skips every key already in either file; its figures
(`<stage>.stats.json`: counts, rejection reasons, pass rates per check and per tool) are computed
from both files, so they describe the whole stage however many runs it took."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from synthesis.config import RunConfig
from synthesis.jsonl import JsonlWriter, keys_in, read_jsonl
from synthesis.teacher import Junk, Teacher, TeacherUnavailable

log = logging.getLogger("synthesis")


@dataclass
class Rejected(Exception):
    """A sample that failed: `reason` is `junk: ...`, `check: <name>` or `teacher unavailable`."""

    reason: str
    detail: str = ""
    checks: dict[str, bool] = field(default_factory=dict)
    answer: str = ""


@dataclass
class Batch:
    """Several lines from one work item (a request that wrote several tools): accepted lines and
    rejections (each a dict with at least `reason`). Every line carries the item's key as `id`."""

    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Item:
    key: str
    tool: str  # the tool the item is about ("" when several)
    payload: Any = None


class Run:
    """A run folder with its config, teacher and embedder (created on first use)."""

    def __init__(self, config: RunConfig, out: str | Path | None = None, *, progress: bool = True) -> None:
        self.config = config
        self.out = Path(out or config.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.seed = config.seed
        self.limit = config.limit
        self.progress = progress
        self._teacher: Teacher | None = None
        self._embedder = None

    def path(self, name: str) -> Path:
        return self.out / name

    @property
    def teacher(self) -> Teacher:
        if self._teacher is None:
            self._teacher = Teacher(self.config.teacher)
        return self._teacher

    @property
    def embedder(self):
        if self._embedder is None:
            from synthesis.embed import Embedder

            cfg = self.config.embedding
            self._embedder = Embedder(cfg.model, cfg.cache_dir, batch_size=cfg.batch_size, progress=self.progress)
        return self._embedder

    async def close(self) -> None:
        if self._teacher is not None:
            self._teacher.ledger.save(self.path("ledger.json"))
            await self._teacher.aclose()
            self._teacher = None


class StageFiles:
    def __init__(self, run: Run, stage: str) -> None:
        self.stage = stage
        self.accepted = run.path(f"{stage}.jsonl")
        self.rejected = run.path(f"{stage}.rejected.jsonl")
        self.stats = run.path(f"{stage}.stats.json")

    def done(self) -> set[str]:
        return keys_in(self.accepted) | keys_in(self.rejected)


def bar(total: int, desc: str, enabled: bool = True):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="item", file=sys.stderr, dynamic_ncols=True, disable=not enabled)


async def run_items(run: Run, files: StageFiles, items: Sequence[Item],
                    work: Callable[[Item], Awaitable[dict[str, Any] | str | Batch]], *, concurrency: int | None = None,
                    desc: str | None = None) -> Counter:
    """Runs `work` over the items not done yet, `concurrency` at a time (default: the teacher's),
    writing each accepted record or rejection as soon as it is known. Returns this run's counts."""
    done = files.done()
    todo = [item for item in items if item.key not in done]
    counts: Counter = Counter(skipped_done=len(items) - len(todo))
    if not todo:
        return counts
    limit = concurrency or run.config.teacher.concurrency
    queue = iter(todo)
    with JsonlWriter(files.accepted) as ok, JsonlWriter(files.rejected) as bad, \
            bar(len(todo), desc or files.stage, run.progress) as progress:

        async def worker() -> None:
            for item in queue:
                try:
                    record = await work(item)
                except Rejected as r:
                    bad.write({"id": item.key, "tool": item.tool, "reason": r.reason, "detail": r.detail[:500],
                               "checks": r.checks, "answer": r.answer[:2000]})
                    counts["rejected"] += 1
                except Junk as j:
                    bad.write({"id": item.key, "tool": item.tool, "reason": f"junk: {j.reason}",
                               "detail": j.detail[:500], "checks": {}, "answer": ""})
                    counts["rejected"] += 1
                except TeacherUnavailable as e:
                    # not written: the item is retried when the stage runs again
                    log.warning("%s: %s", item.key, e)
                    counts["teacher_unavailable"] += 1
                else:
                    if isinstance(record, Batch):
                        for line in record.accepted:
                            ok.write({"id": item.key, **line})
                        for line in record.rejected:
                            bad.write({"id": item.key, "tool": item.tool, "checks": {}, **line})
                        counts["accepted"] += len(record.accepted)
                        counts["rejected"] += len(record.rejected)
                    else:
                        ok.write(record)
                        counts["accepted"] += 1
                progress.update(1)

        async with anyio.create_task_group() as tg:
            for _ in range(min(limit, len(todo))):
                tg.start_soon(worker)
    return counts


def stage_stats(files: StageFiles, *, extra: dict[str, Any] | None = None, seconds: float | None = None,
                check_of: Callable[[dict[str, Any]], dict[str, bool]] | None = None) -> dict[str, Any]:
    """Figures of a stage from its files: accepted/rejected counts, rejection reasons, pass rates per
    check (over the samples the check ran on) and per tool; written to `<stage>.stats.json`."""
    per_check: dict[str, Counter] = defaultdict(Counter)
    per_tool: dict[str, Counter] = defaultdict(Counter)
    reasons: Counter = Counter()
    accepted = rejected = 0
    sources: Counter = Counter()
    for record in read_jsonl(files.accepted):
        accepted += 1
        checks = check_of(record) if check_of else (record.get("meta") or {}).get("checks", {})
        for name, passed in checks.items():
            per_check[name]["ran"] += 1
            per_check[name]["passed"] += bool(passed)
        for tool in _tools_of(record):
            per_tool[tool]["accepted"] += 1
        sources[record.get("source", "")] += 1
    for record in read_jsonl(files.rejected):
        rejected += 1
        reasons[record.get("reason", "?")] += 1
        for name, passed in (record.get("checks") or {}).items():
            per_check[name]["ran"] += 1
            per_check[name]["passed"] += bool(passed)
        per_tool[record.get("tool") or ""]["rejected"] += 1
    stats: dict[str, Any] = {
        "stage": files.stage, "accepted": accepted, "rejected": rejected,
        "pass_rate": round(accepted / (accepted + rejected), 4) if accepted + rejected else None,
        "rejections": dict(reasons.most_common()),
        "junk": sum(v for k, v in reasons.items() if k.startswith("junk")),
        "checks": {name: {"ran": c["ran"], "passed": c["passed"], "pass_rate": round(c["passed"] / c["ran"], 4)}
                   for name, c in sorted(per_check.items()) if c["ran"]},
        "tools": {name: {"accepted": c["accepted"], "rejected": c["rejected"],
                         "pass_rate": round(c["accepted"] / (c["accepted"] + c["rejected"]), 4)}
                  for name, c in sorted(per_tool.items()) if name},
        "sources": dict(sources),
    }
    if seconds is not None:
        stats["seconds_last_run"] = round(seconds, 2)
    if extra:
        stats.update(extra)
    old = _read_json(files.stats)
    stats["seconds_total"] = round(float(old.get("seconds_total", 0)) + (seconds or 0), 2)
    files.stats.write_text(json.dumps(stats, indent=2, ensure_ascii=False), encoding="utf-8")
    return stats


def _tools_of(record: dict[str, Any]) -> Iterable[str]:
    calls = record.get("calls")
    if isinstance(calls, list):
        return list(dict.fromkeys(str(c.get("tool")) for c in calls if isinstance(c, dict)))
    return [str(record["name"])] if "name" in record else []


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


@asynccontextmanager
async def timed() -> AsyncIterator[list[float]]:
    """`async with timed() as t:` ... `t[0]` holds the seconds the block took."""
    box = [0.0]
    start = time.perf_counter()
    try:
        yield box
    finally:
        box[0] = time.perf_counter() - start
