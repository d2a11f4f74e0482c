"""`gtm-synth record`: run planned episodes against real servers and store what they returned.

Per server: the tools are listed once (through the server's importer) in a scratch world; then each
episode gets a fresh world (`world: process`: a new folder, the set-up commands, a new server
process; `world: session`: one process per worker and a new session per episode, named in the
call's `_meta["gtm-synth/session"]`), its calls are planned one at a time from what came back, and
the episode is written as a `gtm_mcp.contract.EpisodeRecord` line with `origin: "real"` calls.

Output folder:
    episodes/<server>.jsonl   the episodes (resumable: episodes already there are skipped)
    failed/<server>.jsonl     episodes that could not run (set-up failed, the server died), with why
    tools/<server>.jsonl      the server's tools in the GTM format
    logs/<server>.log         the servers' stderr
    stats.json                per server: episodes, calls, errors, by intent and tool, size
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from gtm_mcp.contract import CallRecord, EpisodeRecord, ToolDefinition
from synthesis.jsonl import JsonlWriter, keys_in, read_jsonl
from synthesis.record.config import RecordConfig, ServerSpec, expand
from synthesis.record.connection import RealOutput, connect, list_tools, protocol_error, to_output
from synthesis.record.planner import GenericPlanner, PlannedCall, Pool
from synthesis.record.tau import Domain, explore_hints, load_domain, task_plan
from synthesis.record.tau_server import SESSION_KEY
from synthesis.record.world import create_world, remove_world
from synthesis.seeding import derive, rng_for
from synthesis.stages.base import bar
from synthesis.toolfile import ToolEntry, write_tools

log = logging.getLogger("synthesis.record")


class StaticPlanner:
    """A plan known in advance (tau-bench's gold actions with their reads and probes)."""

    def __init__(self, calls: list[PlannedCall]) -> None:
        self.calls = list(calls)
        self.position = 0

    def next_call(self) -> PlannedCall | None:
        if self.position >= len(self.calls):
            return None
        self.position += 1
        return self.calls[self.position - 1]

    def observe(self, call: PlannedCall, output: Any, is_error: bool = False) -> None:
        return None


@dataclass
class Job:
    id: str
    index: int
    kind: str
    split: str
    meta: dict[str, Any] = field(default_factory=dict)
    calls: list[PlannedCall] | None = None  # a static plan; None: planned as it goes


def source_of(spec: ServerSpec) -> str:
    return f"tau-bench:{spec.tau.domain}" if spec.planner == "tau-bench" and spec.tau else f"recorded:{spec.name}"


def plan_jobs(spec: ServerSpec, seed: int, tools: list[ToolDefinition], domain: Domain | None,
              limit: int | None) -> list[Job]:
    """Every episode of this server, decided by the seed alone (same seed, same plan)."""
    jobs: list[Job] = []
    if spec.planner == "tau-bench" and spec.tau and domain is not None:
        for task_split, episode_split in spec.tau.task_splits.items():
            for i, task in enumerate(domain.tasks.get(task_split, [])):
                rng = rng_for(seed, spec.name, "task", task_split, i)
                probe = rng.random() < spec.tau.probe_share
                jobs.append(Job(f"{spec.name}:{task_split}:{i:04d}", len(jobs), "task", episode_split,
                                {"task_split": task_split, "task_index": i, "user_id": task.user_id,
                                 "probe": probe}, task_plan(domain, task, rng, probe=probe)))
        for i in range(spec.tau.explore_episodes):
            rng = rng_for(seed, spec.name, "explore", i)
            kind = rng.choices(list(spec.kinds), weights=list(spec.kinds.values()))[0]
            split = "heldout" if rng.random() < spec.heldout_share else "train"
            jobs.append(Job(f"{spec.name}:explore:{i:04d}", len(jobs), kind, split))
    else:
        for i in range(spec.episodes):
            rng = rng_for(seed, spec.name, "episode", i)
            kind = rng.choices(list(spec.kinds), weights=list(spec.kinds.values()))[0]
            split = "heldout" if rng.random() < spec.heldout_share else "train"
            jobs.append(Job(f"{spec.name}:{i:05d}", i, kind, split))
    return jobs[:limit] if limit else jobs


class ServerRecorder:
    def __init__(self, cfg: RecordConfig, spec: ServerSpec, out: Path, world_root: Path, root: Path,
                 progress: bool) -> None:
        self.cfg, self.spec, self.out, self.world_root, self.root = cfg, spec, out, world_root, root
        self.progress = progress
        self.tools: list[ToolDefinition] = []
        self.domain: Domain | None = None
        self.hints: dict[str, list[Any]] = {}
        self.episodes_path = out / "episodes" / f"{spec.name}.jsonl"
        self.failed_path = out / "failed" / f"{spec.name}.jsonl"
        (out / "logs").mkdir(parents=True, exist_ok=True)
        self.errlog = (out / "logs" / f"{spec.name}.log").open("a", encoding="utf-8")

    # -- worlds and connections ------------------------------------------------------------------

    def world_dir(self, label: str) -> Path:
        return self.world_root / self.spec.name / label.replace(":", "-")

    def target(self, world: Path) -> tuple[str, dict[str, str]]:
        spec_text = self.spec.url or expand(self.spec.command, world=str(world), root=self.root)
        env = {k: expand(v, world=str(world), root=self.root) for k, v in self.spec.env.items()}
        return spec_text, env

    async def prepare(self, world: Path) -> None:
        commands = [expand(c, world=str(world), root=self.root) for c in self.spec.setup]
        await create_world(world, commands)

    async def discover(self) -> None:
        world = self.world_dir("discovery")
        await self.prepare(world)
        try:
            spec_text, env = self.target(world)
            with anyio.fail_after(120):
                async with connect(spec_text, env=env, cwd=self.root, errlog=self.errlog) as client:
                    tools = await list_tools(client, self.spec.name, check_profile=self.spec.check_profile)
        finally:
            if not self.cfg.keep_worlds:
                await remove_world(world)
        if self.spec.include_tools:
            tools = [t for t in tools if t.name in self.spec.include_tools]
        tools = [t for t in tools if t.name not in self.spec.exclude_tools]
        if not tools:
            raise RuntimeError(f"{self.spec.name}: the server lists no tools to record (after include/exclude)")
        self.tools = tools
        write_tools(self.out / "tools" / f"{self.spec.name}.jsonl",
                    [ToolEntry(t, source_of(self.spec)) for t in tools])
        if self.spec.planner == "tau-bench" and self.spec.tau:
            self.domain = await anyio.to_thread.run_sync(
                load_domain, expand(self.spec.tau.root, root=self.root), self.spec.tau.domain)
            self.hints = explore_hints(self.domain, rng_for(self.cfg.seed, self.spec.name, "hints"))

    # -- one episode ------------------------------------------------------------------------------

    def planner_for(self, job: Job, world: Path) -> GenericPlanner | StaticPlanner:
        if job.calls is not None:
            return StaticPlanner(job.calls)
        spec = self.spec
        if self.hints:
            spec = spec.model_copy(update={"values": {**self.hints, **spec.values}})
        rng = rng_for(self.cfg.seed, spec.name, "plan", job.id)
        theme = rng.choice(spec.themes) if spec.themes else {}
        return GenericPlanner(spec, self.tools, job.kind, rng, world=str(world), root=self.root, theme=theme,
                              pool=Pool(dict(spec.aliases)))

    async def run_calls(self, client: Any, job: Job, world: Path, session: str | None) -> tuple[list, list, dict]:
        """The episode's calls, intents and extra meta; `extra["truncated"]` says a call timed out (the
        connection should then be dropped)."""
        planner = self.planner_for(job, world)
        calls: list[CallRecord] = []
        intents: list[str] = []
        extra: dict[str, Any] = {}
        meta = {SESSION_KEY: session} if session else None
        by_name = {t.name: t for t in self.tools}
        while (planned := planner.next_call()) is not None:
            if planned.tool not in by_name:
                continue
            try:
                with anyio.fail_after(self.spec.call_timeout_s):
                    result = await client.call_tool(planned.tool, planned.arguments, meta=meta)
                output: RealOutput = to_output(result)
            except TimeoutError:
                extra["truncated"] = f"call {len(calls)} ({planned.tool}) timed out after {self.spec.call_timeout_s} s"
                break
            except Exception as e:
                from mcp import MCPError

                if not isinstance(e, MCPError):
                    raise
                output = protocol_error(e)
            if output.meta:
                extra.setdefault("calls", {})[str(len(calls))] = output.meta
            calls.append(CallRecord(planned.tool, planned.arguments, output.result, output.is_error, "real"))
            intents.append(planned.intent)
            planner.observe(planned, output.result, output.is_error)
        return calls, intents, extra

    def episode(self, job: Job, world: Path, calls: list[CallRecord], intents: list[str],
                extra: dict[str, Any]) -> EpisodeRecord:
        spec_text, env = self.target(world)
        used = [t for t in self.tools if any(c.tool == t.name for c in calls)]
        return EpisodeRecord(
            id=job.id, tools=used, calls=calls, seed=derive(self.cfg.seed, job.id) % 2**31,
            world={"server": self.spec.name, "dir": str(world), "target": spec_text, "env": env,
                   "setup": [expand(c, world=str(world), root=self.root) for c in self.spec.setup],
                   "mode": self.spec.world},
            source=source_of(self.spec),
            meta={"kind": job.kind, "split": job.split, "intents": intents, **job.meta, **extra})

    # -- the run ----------------------------------------------------------------------------------

    async def run(self, limit: int | None) -> dict[str, Any]:
        started = time.perf_counter()
        await self.discover()
        jobs = plan_jobs(self.spec, self.cfg.seed, self.tools, self.domain, limit)
        done = keys_in(self.episodes_path) | keys_in(self.failed_path)
        todo = [j for j in jobs if j.id not in done]
        queue = iter(todo)
        with JsonlWriter(self.episodes_path) as ok, JsonlWriter(self.failed_path) as failed, \
                bar(len(todo), f"record {self.spec.name}", self.progress) as progress:

            def write(job: Job, world: Path, calls: list, intents: list, extra: dict) -> None:
                if calls:
                    ok.write(self.episode(job, world, calls, intents, extra).to_json_line())
                else:
                    failed.write({"id": job.id, "reason": extra.get("truncated", "no call could be made")})

            async def per_process() -> None:
                for job in queue:
                    world = self.world_dir(job.id)
                    try:
                        await self.prepare(world)
                        spec_text, env = self.target(world)
                        async with connect(spec_text, env=env, cwd=self.root, errlog=self.errlog) as client:
                            calls, intents, extra = await self.run_calls(client, job, world, None)
                        write(job, world, calls, intents, extra)
                    except Exception as e:  # set-up failed, the server died: recorded, the run goes on
                        log.warning("%s: %s", job.id, e)
                        failed.write({"id": job.id, "reason": f"{type(e).__name__}: {str(e)[:500]}"})
                    finally:
                        if not self.cfg.keep_worlds:
                            await remove_world(world)
                    progress.update(1)

            async def per_session(worker: int) -> None:
                world = self.world_dir(f"worker-{worker}")
                await self.prepare(world)
                spec_text, env = self.target(world)
                try:
                    while True:  # one connection until a call times out, then a new one
                        async with connect(spec_text, env=env, cwd=self.root, errlog=self.errlog) as client:
                            reconnect = False
                            while not reconnect:
                                job = next(queue, None)
                                if job is None:
                                    return
                                try:
                                    calls, intents, extra = await self.run_calls(client, job, world, job.id)
                                except Exception as e:  # the server died mid-episode: recorded, reconnect
                                    log.warning("%s: %s", job.id, e)
                                    failed.write({"id": job.id, "reason": f"{type(e).__name__}: {str(e)[:500]}"})
                                    progress.update(1)
                                    reconnect = True
                                    continue
                                write(job, world, calls, intents, extra)
                                progress.update(1)
                                reconnect = "truncated" in extra
                finally:
                    if not self.cfg.keep_worlds:
                        await remove_world(world)

            async with anyio.create_task_group() as tg:
                for w in range(min(self.cfg.concurrency, max(1, len(todo)))):
                    if self.spec.world == "session":
                        tg.start_soon(per_session, w)
                    else:
                        tg.start_soon(per_process)
        self.errlog.close()
        return server_stats(self.episodes_path, self.failed_path, time.perf_counter() - started, len(self.tools))


def server_stats(episodes_path: Path, failed_path: Path, seconds: float, tools: int) -> dict[str, Any]:
    episodes = calls = errors = 0
    by_intent: dict[str, Counter] = {}
    by_tool: dict[str, Counter] = {}
    splits: Counter = Counter()
    kinds: Counter = Counter()
    non_text = 0
    for line in read_jsonl(episodes_path):
        episodes += 1
        meta = line.get("meta") or {}
        splits[meta.get("split", "train")] += 1
        kinds[meta.get("kind", "?")] += 1
        non_text += sum("content" in v for v in (meta.get("calls") or {}).values())
        for call, intent in zip(line["calls"], meta.get("intents") or [], strict=False):
            calls += 1
            errors += bool(call["is_error"])
            by_intent.setdefault(intent.split(":")[0] if intent.startswith("probe") else intent, Counter()).update(
                calls=1, errors=int(bool(call["is_error"])))
            by_tool.setdefault(call["tool"], Counter()).update(calls=1, errors=int(bool(call["is_error"])))
    failed = Counter(r.get("reason", "?")[:80] for r in read_jsonl(failed_path))
    return {"tools": tools, "episodes": episodes, "calls": calls, "errors": errors,
            "error_share": round(errors / calls, 4) if calls else None, "splits": dict(splits), "kinds": dict(kinds),
            "calls_with_content_blocks": non_text,
            "by_intent": {k: dict(v) for k, v in sorted(by_intent.items())},
            "by_tool": {k: dict(v) for k, v in sorted(by_tool.items())},
            "failed_episodes": sum(failed.values()), "failed_reasons": dict(failed.most_common(10)),
            "bytes": episodes_path.stat().st_size if episodes_path.exists() else 0,
            "seconds_last_run": round(seconds, 1)}


async def record(cfg: RecordConfig, out: str | Path, *, root: Path | None = None, only: list[str] | None = None,
                 limit: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Records every server of `cfg` (or those named in `only`) into `out`; returns the figures."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    root = (root or Path.cwd()).resolve()
    world_root = Path(cfg.world_root).expanduser() if cfg.world_root else Path(tempfile.mkdtemp(prefix="gtm-worlds-"))
    specs = [s for s in cfg.servers if not only or s.name in only]
    unknown = set(only or []) - {s.name for s in cfg.servers}
    if unknown:
        raise ValueError(f"no server named {', '.join(sorted(unknown))} in the config "
                         f"(known: {', '.join(s.name for s in cfg.servers)})")
    stats_path = out / "stats.json"
    try:
        stats = json.loads(stats_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        stats = {}
    stats.setdefault("servers", {})
    for spec in specs:
        recorder = ServerRecorder(cfg, spec, out, world_root, root, progress)
        try:
            stats["servers"][spec.name] = await recorder.run(limit)
        except Exception as e:
            recorder.errlog.close()
            log.error("%s: cannot record: %s", spec.name, e)
            stats["servers"][spec.name] = {"error": f"{type(e).__name__}: {str(e)[:500]}"}
        stats["servers"][spec.name]["source"] = source_of(spec)
    totals = Counter()
    for s in stats["servers"].values():
        for key in ("episodes", "calls", "errors", "bytes"):
            totals[key] += s.get(key, 0) or 0
    share = round(totals["errors"] / totals["calls"], 4) if totals["calls"] else None
    stats["total"] = {**totals, "error_share": share}
    stats["seed"] = cfg.seed
    stats_path.write_text(json.dumps(stats, indent=2), encoding="utf-8")
    return stats
