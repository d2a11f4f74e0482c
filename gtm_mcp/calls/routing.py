"""Where a call's answer comes from: the cassette, the real server, or the simulator; faults on top.

The pipeline asks `Router.answer(request, simulate)` once the arguments passed their check:

1. faults: a seeded draw for this call; an injected error or timeout stands in for the tool;
2. replay: the cassette's recorded answer (a call never recorded is refused, or goes on);
3. real: the real server the tool was mirrored from, for tools routed there (hybrid), once
   their warm-up calls (simulated) are spent;
4. otherwise `simulate(request)`: the backend through the output guard;
5. faults again: added latency, or the answer corrupted (empty, malformed, oversized).

The router also records every executed call into the cassette (`Router.record`, from the
pipeline's record step). Its per-session counters live in the session's state under
`STATE_KEY`, as plain JSON data, so a reset starts them afresh.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gtm_mcp.calls.cassette import (
    META_REPLAY,
    CallMatcher,
    Recorder,
    Replayer,
    load_episodes,
)
from gtm_mcp.calls.faults import META_FAULT, FaultInjector, FaultPlan, FaultRule
from gtm_mcp.calls.redact import Redactor
from gtm_mcp.contract import CallRecord, SimulationRequest, ToolDefinition, ToolOutput
from gtm_mcp.contract.records import OutcomeOrigin
from gtm_mcp.upstream import Upstream, UpstreamError, UpstreamPool

if TYPE_CHECKING:
    from gtm_mcp.config import Settings

log = logging.getLogger(__name__)

#: The router's key in a session's state (JSON data: call counts, replay cursors, episode id).
STATE_KEY = "gtm-mcp/routing"


@dataclass(frozen=True)
class Answer:
    """One call's answer: what the agent gets, who produced it, extra `_meta` for the result.

    `truth` is what the tool really answered when a fault altered `output` (the session and the
    cassette keep the truth). `executed` is False when nothing reached a tool (an injected error
    or timeout): then nothing is recorded. `outcome` overrides the pipeline's outcome name.
    """

    output: ToolOutput
    origin: OutcomeOrigin = "simulated"
    meta: dict[str, Any] = field(default_factory=dict)
    truth: ToolOutput | None = None
    executed: bool = True
    outcome: str | None = None

    @property
    def recorded(self) -> ToolOutput:
        return self.truth if self.truth is not None else self.output


class RoutingError(ValueError):
    """Routing, recording or fault settings that cannot work (the server refuses to start)."""


class Unanswered(Exception):
    """The call cannot be answered (the real server failed, the cassette lacks it). `kind` names
    the outcome; the message is shown to the agent."""

    def __init__(self, kind: Literal["upstream_failed", "not_recorded"], message: str) -> None:
        super().__init__(message)
        self.kind = kind


def routing_state(state: dict[str, Any]) -> dict[str, Any]:
    found = state.get(STATE_KEY)
    if not isinstance(found, dict):
        found = state[STATE_KEY] = {}
    return found


def mirrored_from(tool: ToolDefinition) -> str | None:
    """The live server (URL or command) a tool was mirrored from, if it was."""
    origin = tool.origin
    if origin is not None and origin.kind == "mirror" and origin.file.startswith("mirror:"):
        return origin.file.removeprefix("mirror:")
    return None


def upstream_name(tool: ToolDefinition) -> str:
    """The tool's name on its real server (namespacing may have prefixed `server__`)."""
    if tool.server:
        prefix = "".join(c if c.isalnum() or c in "_-" else "_" for c in tool.server).strip("_") + "__"
        if tool.name.startswith(prefix):
            return tool.name[len(prefix):]
    return tool.name


# -- hybrid: which tools the real server answers -----------------------------------------------------

class RealRule(BaseModel):
    """Tools (names or globs) answered by the real server they were mirrored from, after `warmup`
    simulated calls counted per session or over the whole server."""

    model_config = ConfigDict(extra="forbid")

    tools: list[str] = Field(min_length=1)
    warmup: int = Field(0, ge=0)
    per: Literal["session", "global"] = "session"

    def matches(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.tools)


class RealRoutes:
    """Hybrid routing: the rule and the connection for a tool, and the warm-up schedule."""

    def __init__(self, rules: list[RealRule], pool: UpstreamPool) -> None:
        self.rules = rules
        self.pool = pool
        self.global_calls: dict[str, int] = {}

    def rule_for(self, name: str) -> RealRule | None:
        return next((r for r in self.rules if r.matches(name)), None)

    def upstream_for(self, tool: ToolDefinition, session_index: int) -> Upstream | None:
        """The connection to call now, or None while the tool is simulated (not routed, not
        mirrored, or still warming up)."""
        rule = self.rule_for(tool.name)
        spec = mirrored_from(tool) if rule is not None else None
        upstream = self.pool.get(spec) if spec else None
        if rule is None or upstream is None:
            return None
        if rule.warmup:
            if rule.per == "global":
                index = self.global_calls.get(tool.name, 0)
                self.global_calls[tool.name] = index + 1
            else:
                index = session_index
            if index < rule.warmup:
                return None
        return upstream


class RulesFile(BaseModel):
    """A rules file (YAML or JSON): hybrid routes and fault rules, each tried in order per tool.

        real:
          - tools: [write_file, "read_*"]
          - tools: [get_current_time]
            warmup: 3          # simulated for the first 3 calls ...
            per: session       # ... of each session (or: global)
        faults:
          seed: 7
          rules:
            - tools: ["search_*"]
              rate: 0.2
              kinds: {error: 3, timeout: 1}
              latency: lognormal:200ms,0.5
            - preset: flaky
    """

    model_config = ConfigDict(extra="forbid")

    real: list[RealRule] = Field(default_factory=list)
    faults: FaultPlan = Field(default_factory=FaultPlan)


def read_rules(path: str) -> RulesFile:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise RoutingError(f"rules file {path}: {e}") from None
    if isinstance(data, dict) and isinstance(data.get("faults"), list):
        data = {**data, "faults": {"rules": data["faults"]}}
    try:
        return RulesFile.model_validate(data or {})
    except ValidationError as e:
        problems = "; ".join(f"{'/'.join(map(str, err['loc']))}: {err['msg'].removeprefix('Value error, ')}"
                             for err in e.errors())
        raise RoutingError(f"rules file {path}: {problems}") from None


# -- the router ----------------------------------------------------------------------------------------

Simulate = Callable[[SimulationRequest], Awaitable[Answer]]


class Router:
    """Picks each call's source and applies faults; owns the real-server connections and the
    recorder, which `async with router:` starts and stops."""

    def __init__(self, *, real: RealRoutes | None = None, replayer: Replayer | None = None,
                 replay_miss: Literal["error", "live"] = "error", faults: FaultInjector | None = None,
                 recorder: Recorder | None = None, max_output_bytes: int = 1024 * 1024) -> None:
        self.real = real
        self.replayer = replayer
        self.replay_miss = replay_miss
        self.faults = faults
        self.recorder = recorder
        self.max_output_bytes = max_output_bytes
        self.recording_errors = 0
        self._entered = 0

    @property
    def active(self) -> bool:
        return any((self.real, self.replayer, self.faults, self.recorder))

    async def __aenter__(self) -> Router:
        self._entered += 1
        if self._entered == 1:
            if self.recorder is not None:
                await self.recorder.start()
            if self.real is not None:
                await self.real.pool.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._entered -= 1
        if self._entered == 0:
            if self.real is not None:
                await self.real.pool.__aexit__(None, None, None)
            if self.recorder is not None:
                await self.recorder.aclose()

    async def answer(self, request: SimulationRequest, simulate: Simulate) -> Answer:
        if not self.active:
            return await simulate(request)
        tool = request.tool.name
        state = routing_state(request.state)
        counts = state.setdefault("calls", {})
        index = counts.get(tool, 0)
        counts[tool] = index + 1
        fault = self.faults.draw(request.session_id, tool, index) if self.faults is not None else None
        if fault is not None and fault.kind is not None and self.recorder is not None:
            try:
                await self.recorder.note_fault(request.session_id, state, {"tool": tool, "kind": fault.kind})
            except (OSError, RuntimeError, ValueError):
                self.recording_errors += 1
                log.exception("cassette %s: could not note a fault", self.recorder.path)
        if fault is not None and not fault.executes:
            assert self.faults is not None
            output = await self.faults.stand_in(fault, tool)
            return Answer(output, "simulated", {META_FAULT: fault.meta}, executed=False, outcome="injected_fault")
        answer = await self._source(request, state, index, simulate)
        if fault is not None:
            assert self.faults is not None
            shown = await self.faults.corrupt(fault, answer.output)
            answer = replace(answer, output=shown, truth=answer.output if fault.kind else None,
                             meta={**answer.meta, META_FAULT: fault.meta})
        return answer

    async def _source(self, request: SimulationRequest, state: dict[str, Any], index: int,
                      simulate: Simulate) -> Answer:
        tool = request.tool
        if self.replayer is not None:
            found = self.replayer.lookup(tool.name, request.arguments, request.session_id,
                                         state.setdefault("replay", {}))
            if found is not None:
                output, where = found
                return Answer(output, "replayed", {META_REPLAY: where})
            if self.replay_miss == "error":
                raise Unanswered("not_recorded", self.replayer.miss(tool.name, request.arguments))
        upstream = self.real.upstream_for(tool, index) if self.real is not None else None
        if upstream is None:
            return await simulate(request)
        try:
            output = await upstream.call(upstream_name(tool), request.arguments)
        except UpstreamError as e:
            raise Unanswered("upstream_failed", f"The real tool '{tool.name}' could not be called: {e}. It may not "
                             "have been executed; retrying may help.") from None
        size = len(output.text.encode("utf-8", "replace"))
        if size > self.max_output_bytes:
            raise Unanswered("upstream_failed", f"The real tool '{tool.name}' answered {size} bytes, over the limit "
                             f"of {self.max_output_bytes} (--max-output-bytes).")
        return Answer(output, "real")

    async def record(self, session: str, state: dict[str, Any], hidden_context: str | None,
                     tool: ToolDefinition | None, call: CallRecord) -> None:
        """Append the call to the cassette. A recording that fails (disk full, ...) is logged and
        counted; the call itself already happened and its answer still goes to the agent."""
        if self.recorder is None:
            return
        try:
            await self.recorder.record(session, routing_state(state), hidden_context, tool, call)
        except (OSError, RuntimeError, ValueError):
            self.recording_errors += 1
            log.exception("cassette %s: could not record a call of %s (session %s)", self.recorder.path,
                          call.tool, session)

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.real is not None:
            out["real_servers"] = self.real.pool.stats()
        if self.replayer is not None:
            out["replay"] = {"calls": self.replayer.calls, "miss": self.replay_miss}
        if self.faults is not None:
            out["faults_injected"] = dict(self.faults.injected)
        if self.recorder is not None:
            out["recording"] = {**self.recorder.stats(), "errors": self.recording_errors}
        return out


# -- assembling a router from settings -----------------------------------------------------------------

def replay_tools(cassette: str) -> list[ToolDefinition]:
    """The tools a cassette's episodes called (what `serve --replay` serves when given no tools)."""
    from gtm_mcp.calls.cassette import cassette_tools

    if not Path(cassette).exists():
        raise RoutingError(f"replay: no cassette at {cassette}")
    return cassette_tools(load_episodes(cassette))


def fault_rules(settings: Settings, plan: FaultPlan) -> list[FaultRule]:
    """The rules file's fault rules, then one rule from the flags (--faults, --fault-rate, ...)."""
    rules = list(plan.rules)
    given: dict[str, Any] = {}
    if settings.faults:
        given["preset"] = settings.faults
    if settings.fault_rate is not None:
        given["rate"] = settings.fault_rate
    if settings.fault_kinds:
        given["kinds"] = settings.fault_kinds
    if settings.latency:
        given["latency"] = settings.latency
    if given:
        given["tools"] = settings.fault_tools or ["*"]
        try:
            rules.append(FaultRule.model_validate(given))
        except ValidationError as e:
            raise RoutingError("faults: " + "; ".join(err["msg"].removeprefix("Value error, ")
                                                    for err in e.errors())) from None
    return rules


def build_router(settings: Settings, tools: list[ToolDefinition]) -> Router:
    """The router the settings ask for. Raises RoutingError naming the setting for bad values, and for
    `--real` patterns that match no mirrored tool."""
    rules = read_rules(settings.rules) if settings.rules else RulesFile()
    real_rules = list(rules.real)
    if settings.real:
        real_rules.append(RealRule(tools=settings.real, warmup=settings.warmup, per=settings.warmup_per))
    real = None
    mirrored = [t for t in tools if mirrored_from(t)]
    if real_rules and not mirrored and settings.replay:
        log.info("hybrid routes ignored: replaying %s without a live server", settings.replay)
        real_rules = []
    if real_rules:
        for rule in real_rules:
            for pattern in rule.tools:
                if not any(fnmatch.fnmatchcase(t.name, pattern) for t in mirrored):
                    shown = ", ".join(t.name for t in mirrored[:12]) or "none"
                    raise RoutingError(f"real: {pattern!r} matches no tool mirrored from a live server; real tools "
                                       f"must come from --mirror (mirrored: {shown})")
        specs = {mirrored_from(t) for t in mirrored if any(r.matches(t.name) for r in real_rules)}
        pool = UpstreamPool(sorted(s for s in specs if s), call_timeout_s=settings.upstream_timeout_s,
                            connect_timeout_s=max(settings.upstream_timeout_s, 30.0))
        real = RealRoutes(real_rules, pool)
    try:
        redactor = Redactor(settings.redact_keys, settings.redact_patterns, defaults=settings.redact_defaults)
    except ValueError as e:
        raise RoutingError(f"redact-patterns: {e}") from None
    replayer = None
    if settings.replay:
        if not Path(settings.replay).exists():
            raise RoutingError(f"replay: no cassette at {settings.replay}")
        episodes = load_episodes(settings.replay)
        matcher = CallMatcher(redactor, settings.replay_ignore, settings.replay_volatile)
        replayer = Replayer(episodes, matcher, label=f"the cassette {Path(settings.replay).name}")
    faults = None
    fault_list = fault_rules(settings, rules.faults)
    if fault_list:
        seed = settings.fault_seed if settings.fault_seed is not None else (
            rules.faults.seed if rules.faults.seed is not None else settings.seed)
        faults = FaultInjector(fault_list, seed=seed, max_wait_s=settings.call_timeout_s)
    recorder = None
    if settings.record:
        try:
            Path(settings.record).parent.mkdir(parents=True, exist_ok=True)
            with open(settings.record, "a", encoding="utf-8"):
                pass
        except OSError as e:
            raise RoutingError(f"record: cannot write {settings.record}: {e.strerror}") from None
        meta: dict[str, Any] = {"backend": settings.backend}
        if settings.mirror:
            meta["mirror"] = [redactor.text(m) for m in settings.mirror]
        recorder = Recorder(settings.record, redactor=redactor, seed=settings.seed, max_open=settings.max_sessions,
                            idle_s=settings.session_ttl_s, extra_meta=meta)
    return Router(real=real, replayer=replayer, replay_miss=settings.replay_miss, faults=faults, recorder=recorder,
                  max_output_bytes=settings.max_output_bytes)
