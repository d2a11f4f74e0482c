"""The call pipeline: catalog → argument check → session → backend → output guard → session record.

Transport-independent: the MCP handlers and `gtm-mcp call` both go through `Simulator.call`.
Each step is one method, in the order a call travels:

1. `_resolve`: find the tool (unknown name → isError naming the closest known names);
2. `_session`: the episode's world, after the call's `_meta` steering (reset, session context);
3. `_check`: the argument limits and check (nothing reaches a backend when it fails); large
   arguments, and schemas that are costly to check, are checked in a worker thread;
4. `_answer`: where the answer comes from: the router (`routing.py`) picks the cassette, the real
   server or `_simulate` (the backend's output through the output guard: parse, validate, one
   repair round) and applies injected faults;
5. `_record`: the session keeps the call, as the tool saw it and as it answered (and the router's
   recorder writes it to the cassette).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import anyio

from gtm_mcp.backends.base import Backend, BackendError
from gtm_mcp.calls.checking import ArgumentCheck, check_call
from gtm_mcp.calls.limits import THREAD_BYTES, ArgumentSize, limit_problem, measure_arguments, schema_is_heavy
from gtm_mcp.calls.output import output_problem, read_output
from gtm_mcp.calls.routing import Answer, Router, Unanswered
from gtm_mcp.contract import CallRecord, SimulationRequest, ToolDefinition, ToolOutput
from gtm_mcp.sessions.keys import META_HIDDEN_CONTEXT, META_RESET, META_SESSION_CONTEXT, META_WORLD
from gtm_mcp.sessions.store import Session, SessionStore
from gtm_mcp.sessions.world import WorldError, check_world
from gtm_mcp.tools.catalog import MAX_NAME, ToolCatalog, closest_names
from gtm_mcp.work import run_cpu

log = logging.getLogger(__name__)
ANY_OBJECT: dict[str, Any] = {"type": "object"}
#: Catalogues up to this many tools look up "did you mean" names on the event loop (~10 ms at most).
INLINE_CLOSEST = 200
#: `_meta` key of a result saying who answered: "simulated", "real" or "replayed".
META_ORIGIN = "gtm-mcp/origin"


class Outcome(StrEnum):
    OK = "ok"
    TOOL_ERROR = "tool_error"  # the (simulated) tool refused a valid call: not found, conflict, ...
    UNKNOWN_TOOL = "unknown_tool"
    BAD_ARGUMENTS = "bad_arguments"
    SIMULATOR_FAILED = "simulator_failed"
    UPSTREAM_FAILED = "upstream_failed"  # hybrid: the real server could not answer
    NOT_RECORDED = "not_recorded"  # replay: the cassette never recorded this call
    INJECTED_FAULT = "injected_fault"  # an error or timeout injected on purpose (faults)
    INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True)
class CallResult:
    """What the agent gets: the output (text, or JSON with its text form), whether it is an error,
    and `_meta` entries for the result."""

    outcome: Outcome
    output: ToolOutput
    session: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def is_error(self) -> bool:
        return self.outcome is not Outcome.OK

    @property
    def text(self) -> str:
        return self.output.text

    @property
    def structured(self) -> dict[str, Any] | None:
        return None if self.is_error else self.output.structured

    @classmethod
    def error(cls, outcome: Outcome, text: str, session: str, **meta: Any) -> CallResult:
        return cls(outcome, ToolOutput(text, is_error=True), session, dict(meta))


__all__ = ["META_ORIGIN", "META_WARNINGS", "ArgumentCheck", "CallResult", "Outcome", "Simulator"]
#: `_meta` key of an accepted result that a strict API would have refused: what it would have said.
META_WARNINGS = "gtm-mcp/warnings"


def failure_id() -> str:
    """A short id that ties a generic message shown to an agent to the full log entry."""
    return secrets.token_hex(4)


class Simulator:
    """Answers tool calls. One per server; shared by every session and transport."""

    def __init__(self, catalog: ToolCatalog, backend: Backend, sessions: SessionStore, *, seed: int = 0,
                 allow_extra_params: bool = False, check_profile: str = "strict", call_timeout_s: float = 120.0,
                 max_output_bytes: int = 1024 * 1024, router: Router | None = None,
                 invent_json: bool = False, max_argument_bytes: int = 4 * 1024 * 1024,
                 max_argument_depth: int = 64) -> None:
        self.catalog = catalog
        self.backend = backend
        self.sessions = sessions
        self.seed = seed
        self.allow_extra_params = allow_extra_params
        #: the argument-checking profile of tools that name none (gtm_mcp/calls/checking.py)
        self.check_profile = check_profile
        self.call_timeout_s = call_timeout_s
        self.max_output_bytes = max_output_bytes
        self.max_argument_bytes = max_argument_bytes
        self.max_argument_depth = max_argument_depth
        self._heavy: dict[tuple[int, str], tuple[ToolDefinition, bool]] = {}  # (id(tool), which) -> (tool, heavy)
        self.router = router or Router()
        self.invent_json = invent_json  # tools without an output schema answer JSON objects (the old way)
        self.outcomes: Counter[str] = Counter()
        self.started = time.time()

    async def __aenter__(self) -> Simulator:
        """Start what outlives single calls: real-server connections, the cassette recorder."""
        await self.router.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.router.__aexit__(*exc)

    async def call(self, name: str, arguments: Any, *, session_key: str,
                   meta: Mapping[str, Any] | None = None) -> CallResult:
        try:
            # The session for this call only: a shared store (Redis) loads it, locks it across
            # replicas and writes back what the call changed when the block ends.
            async with self.sessions.lease(session_key):
                result = await self._call(name, {} if arguments is None else arguments, session_key, meta or {})
        except Exception:  # the server never crashes on input; the agent gets an id, the log the details
            ref = failure_id()
            log.exception("internal error [%s] in a call to %r (session %s)", ref, name, session_key)
            result = CallResult.error(Outcome.INTERNAL_ERROR, f"Internal error in the simulator (ref {ref}); the "
                                      "call was not executed. Retrying may help.", session_key)
        self.outcomes[result.outcome.value] += 1
        return result

    async def _call(self, name: str, arguments: Any, session_key: str, meta: Mapping[str, Any]) -> CallResult:
        tool = self.catalog.get(name)
        if tool is None:
            return await self._unknown(name, session_key)
        try:
            session = self._session(session_key, meta)
        except WorldError as e:
            return CallResult.error(Outcome.BAD_ARGUMENTS, f"_meta['{META_WORLD}'] refused: {e}; nothing was "
                                    "executed.", session_key)
        try:
            check = await self._check(tool, arguments)
        except _Unchecked as unchecked:
            return CallResult.error(Outcome.SIMULATOR_FAILED, f"The tool simulator failed for '{name}': {unchecked}. "
                                    "The call was not executed.", session_key)
        if check.problems is not None:
            await self._record(session, CallRecord(name, check.arguments, check.problems, True))
            return CallResult.error(Outcome.BAD_ARGUMENTS, check.problems, session_key)
        hidden = [h for h in (session.hidden_context, meta.get(META_HIDDEN_CONTEXT)) if isinstance(h, str) and h]
        request = SimulationRequest(
            tool=tool, arguments=check.arguments, session_id=session_key, output_schema=self.output_schema_for(tool),
            history=tuple(session.history), hidden_context="\n".join(hidden) or None, seed=self.seed,
            state=session.state, world=session.world)
        try:
            answer = await self._answer(request)
        except _Failed as failed:
            text = f"The tool simulator failed for '{name}': {failed}. The call was not executed; retrying may help."
            log.warning("simulator failed for %s (session %s): %s", name, session_key, failed)
            return CallResult.error(Outcome.SIMULATOR_FAILED, text, session_key)
        except Unanswered as unanswered:
            level = logging.WARNING if unanswered.kind == "upstream_failed" else logging.INFO
            log.log(level, "%s for %s (session %s): %s", unanswered.kind, name, session_key, unanswered)
            return CallResult.error(Outcome(unanswered.kind), str(unanswered), session_key)
        if answer.executed:
            truth = answer.recorded
            await self._record(session, CallRecord(name, check.arguments, truth.value, truth.is_error, answer.origin))
        output = answer.output
        outcome = Outcome(answer.outcome) if answer.outcome else Outcome.TOOL_ERROR if output.is_error else Outcome.OK
        result_meta: dict[str, Any] = {META_ORIGIN: answer.origin, **answer.meta}
        if check.warnings:
            result_meta[META_WARNINGS] = list(check.warnings)
        return CallResult(outcome, output, session_key, result_meta)

    # -- the steps -----------------------------------------------------------------------------

    async def _unknown(self, name: str, session_key: str) -> CallResult:
        names = self.catalog.names()
        if len(names) > INLINE_CLOSEST:  # difflib over thousands of names: tens of milliseconds and more
            close = await run_cpu(closest_names, name, names)
        else:
            close = closest_names(name, names)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        shown = name if len(name) <= MAX_NAME else name[:MAX_NAME] + "..."
        return CallResult.error(Outcome.UNKNOWN_TOOL, f"Unknown tool '{shown}'.{hint} This server has "
                                f"{len(self.catalog)} tools; call tools/list to see them.", session_key)

    def _session(self, session_key: str, meta: Mapping[str, Any]) -> Session:
        session = self.sessions.get(session_key)
        if meta.get(META_RESET) is True:
            session.reset()
        if META_WORLD in meta:
            world = check_world(meta[META_WORLD], f"_meta['{META_WORLD}']")
            if world != session.world:
                session.declare_world(world)
        if isinstance(meta.get(META_SESSION_CONTEXT), str):
            session.hidden_context = meta[META_SESSION_CONTEXT]
        return session

    async def _check(self, tool: ToolDefinition, arguments: Any) -> ArgumentCheck:
        """The size and depth limits, then the tool's checking profile (the backend sees the
        arguments as the real tool would have: coerced values, undeclared keys dropped). On the
        event loop for small arguments and ordinary schemas (a few microseconds more than the check
        itself), in the CPU-work pool otherwise. Raises `_Unchecked` for a schema that cannot be
        applied."""
        if not isinstance(arguments, dict):
            return self._check_now(tool, arguments, None)
        size = measure_arguments(arguments, max_bytes=self.max_argument_bytes, max_depth=self.max_argument_depth,
                                 quick=True)
        if size.complete and ((size.bytes <= THREAD_BYTES and not self._schema_is_heavy(tool, "input"))
                              or size.bytes > self.max_argument_bytes or size.depth > self.max_argument_depth):
            return self._check_now(tool, arguments, size)  # small, or refused by the limits right away
        return await run_cpu(self._check_now, tool, arguments, None if not size.complete else size)

    def _schema_is_heavy(self, tool: ToolDefinition, which: str) -> bool:
        """Whether checking against the tool's input or output schema may take long (cached per tool)."""
        known = self._heavy.get((id(tool), which))
        if known is None or known[0] is not tool:
            if len(self._heavy) > 8192:
                self._heavy.clear()
            schema = tool.input_schema if which == "input" else tool.output_schema
            known = self._heavy[(id(tool), which)] = (tool, schema is not None and schema_is_heavy(schema))
        return known[1]

    def _check_now(self, tool: ToolDefinition, arguments: Any, size: ArgumentSize | None) -> ArgumentCheck:
        if isinstance(arguments, dict):
            if size is None:
                size = measure_arguments(arguments, max_bytes=self.max_argument_bytes,
                                         max_depth=self.max_argument_depth)
            refused = limit_problem(size, max_bytes=self.max_argument_bytes, max_depth=self.max_argument_depth)
            if refused is not None:
                return ArgumentCheck({}, refused)  # too big to keep in the session's history either
        try:
            return check_call(tool, arguments, default_profile=self.check_profile,
                              allow_extra=self.allow_extra_params)
        except Exception as e:  # a schema jsonschema cannot apply (a $ref loop, numbers beyond floats)
            ref = failure_id()
            log.warning("checking arguments of %r failed [%s]: %r", tool.name, ref, e)
            raise _Unchecked(f"its input schema could not be applied to these arguments (ref {ref})") from None

    def output_schema_for(self, tool: ToolDefinition) -> dict[str, Any] | None:
        """The schema a JSON answer must satisfy (None: the tool answers in text, as real tools
        without an output schema do, unless `invent_json` asks for an invented JSON object)."""
        if tool.output_schema is not None:
            return tool.output_schema
        return ANY_OBJECT if self.invent_json else None

    async def _answer(self, request: SimulationRequest) -> Answer:
        """Where the answer comes from: the router picks the cassette, the real server or the simulator."""
        return await self.router.answer(request, self._simulate)

    async def _simulate(self, request: SimulationRequest) -> Answer:
        answer = await self._ask(request)
        problem, output = await self._checked(answer, request)
        if problem and self.backend.repairable:
            previous = answer if isinstance(answer, str) else json.dumps(
                answer.value if isinstance(answer, ToolOutput) else answer, ensure_ascii=False)
            answer = await self._ask(request.with_repair(previous, problem))
            problem, output = await self._checked(answer, request)
        if problem or output is None:
            raise _Failed(f"its answer was not a valid output ({problem})")
        return Answer(output)

    async def _ask(self, request: SimulationRequest) -> ToolOutput | dict[str, Any] | str:
        try:
            with anyio.fail_after(self.call_timeout_s):
                return await self.backend.simulate(request)
        except TimeoutError:
            raise _Failed(f"the {self.backend.name} backend did not answer within {self.call_timeout_s:g} s") from None
        except BackendError as e:
            if e.public == str(e):
                raise _Failed(f"the {self.backend.name} backend reported: {e}") from None
            ref = failure_id()  # the details (endpoint, its error text) stay in the log
            log.warning("backend %s failed [%s]: %s", self.backend.name, ref, e)
            raise _Failed(f"the {self.backend.name} backend reported: {e.public} (ref {ref})") from None
        except Exception:  # a backend bug must not take the server down, nor show its internals
            ref = failure_id()
            log.exception("backend %s raised [%s]", self.backend.name, ref)
            raise _Failed(f"the {self.backend.name} backend had an internal error (ref {ref})") from None

    async def _checked(self, answer: ToolOutput | dict[str, Any] | str,
                       request: SimulationRequest) -> tuple[str | None, ToolOutput | None]:
        """The output guard, in the CPU-work pool when the answer is large or its schema costly to
        check (parsing and validating are linear in the answer's size)."""
        value = answer.value if isinstance(answer, ToolOutput) else answer
        if isinstance(value, str):
            large = len(value) > THREAD_BYTES
        else:
            size = measure_arguments(value, max_bytes=THREAD_BYTES, max_depth=self.max_argument_depth, quick=True)
            large = not size.complete or size.bytes > THREAD_BYTES or size.depth > self.max_argument_depth
        if large or self._schema_is_heavy(request.tool, "output"):
            return await run_cpu(self._guard, answer, request)
        return self._guard(answer, request)

    def _guard(self, answer: ToolOutput | dict[str, Any] | str,
               request: SimulationRequest) -> tuple[str | None, ToolOutput | None]:
        """(why the answer is refused, or None; the output when accepted)."""
        try:
            return self._judge(answer, request)
        except RecursionError:
            return "the output nests too deeply to check against the output schema", None
        except Exception as e:  # a schema jsonschema cannot apply (a $ref loop, numbers beyond floats)
            ref = failure_id()
            log.warning("checking an output of %r failed [%s]: %r", request.tool.name, ref, e)
            return f"the output could not be checked against the output schema (ref {ref})", None

    def _judge(self, answer: ToolOutput | dict[str, Any] | str,
               request: SimulationRequest) -> tuple[str | None, ToolOutput | None]:
        try:
            output = read_output(answer, expects_json=request.expects_json)
        except ValueError as e:
            return str(e), None
        size = len(output.text.encode("utf-8", "replace"))
        if size > self.max_output_bytes:
            return f"the output is {size} bytes, over the limit of {self.max_output_bytes}", None
        if output.is_error:
            return None, output
        if isinstance(output.value, dict):
            validator = request.tool.output_validator if request.tool.output_schema is not None else None
            problem = output_problem(output.value, validator)
            return problem, (None if problem else output)
        if request.expects_json:
            return f"the output must be a JSON object, got {type(output.value).__name__}", None
        return None, output

    async def _record(self, session: Session, record: CallRecord) -> None:
        session.record(record)
        await self.router.record(session.key, session.state, session.hidden_context, self.catalog.get(record.tool),
                                 record)

    def stats(self) -> dict[str, Any]:
        return {"tools": len(self.catalog), "catalog_version": self.catalog.version,
                "calls": dict(self.outcomes), "uptime_s": round(time.time() - self.started, 1),
                **self.sessions.stats(), **self.router.stats()}


class _Failed(Exception):
    pass


class _Unchecked(Exception):
    """The tool's input schema could not be applied to the arguments (the simulator's failure)."""
