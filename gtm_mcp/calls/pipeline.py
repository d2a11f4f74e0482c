"""The call pipeline: catalog → argument check → session → backend → output guard → session record.

Transport-independent: the MCP handlers and `gtm-mcp call` both go through `Simulator.call`.
Each step is one method, in the order a call travels:

1. `_resolve`: find the tool (unknown name → isError naming the closest known names);
2. `_session`: the episode's world, after the call's `_meta` steering (reset, session context);
3. `_check`: the argument check (nothing reaches a backend when it fails);
4. `_answer`: the backend's output through the output guard (parse, validate, one repair round);
5. `_record`: the session keeps the call, as the tool saw it and as it answered.
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
from gtm_mcp.calls.output import output_problem, read_output
from gtm_mcp.contract import CallRecord, SimulationRequest, ToolDefinition, ToolOutput
from gtm_mcp.sessions.keys import META_HIDDEN_CONTEXT, META_RESET, META_SESSION_CONTEXT
from gtm_mcp.sessions.store import Session, SessionStore
from gtm_mcp.tools.catalog import ToolCatalog

log = logging.getLogger(__name__)
ANY_OBJECT: dict[str, Any] = {"type": "object"}
#: `_meta` key of a result saying who answered: "simulated", "real" or "replayed".
META_ORIGIN = "gtm-mcp/origin"


class Outcome(StrEnum):
    OK = "ok"
    TOOL_ERROR = "tool_error"  # the (simulated) tool refused a valid call: not found, conflict, ...
    UNKNOWN_TOOL = "unknown_tool"
    BAD_ARGUMENTS = "bad_arguments"
    SIMULATOR_FAILED = "simulator_failed"
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
                 max_output_bytes: int = 1024 * 1024) -> None:
        self.catalog = catalog
        self.backend = backend
        self.sessions = sessions
        self.seed = seed
        self.allow_extra_params = allow_extra_params
        #: the argument-checking profile of tools that name none (gtm_mcp/calls/checking.py)
        self.check_profile = check_profile
        self.call_timeout_s = call_timeout_s
        self.max_output_bytes = max_output_bytes
        self.outcomes: Counter[str] = Counter()
        self.started = time.time()

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
            return self._unknown(name, session_key)
        session = self._session(session_key, meta)
        check = self._check(tool, arguments)
        if check.problems is not None:
            self._record(session, CallRecord(name, arguments if isinstance(arguments, dict) else {}, check.problems,
                                             True))
            return CallResult.error(Outcome.BAD_ARGUMENTS, check.problems, session_key)
        hidden = [h for h in (session.hidden_context, meta.get(META_HIDDEN_CONTEXT)) if isinstance(h, str) and h]
        request = SimulationRequest(
            tool=tool, arguments=check.arguments, session_id=session_key, output_schema=self.output_schema_for(tool),
            history=tuple(session.history), hidden_context="\n".join(hidden) or None, seed=self.seed,
            state=session.state, world=session.world)
        try:
            output = await self._answer(request)
        except _Failed as failed:
            text = f"The tool simulator failed for '{name}': {failed}. The call was not executed; retrying may help."
            log.warning("simulator failed for %s (session %s): %s", name, session_key, failed)
            return CallResult.error(Outcome.SIMULATOR_FAILED, text, session_key)
        self._record(session, CallRecord(name, check.arguments, output.value, output.is_error))
        outcome = Outcome.TOOL_ERROR if output.is_error else Outcome.OK
        result_meta: dict[str, Any] = {META_ORIGIN: "simulated"}
        if check.warnings:
            result_meta[META_WARNINGS] = list(check.warnings)
        return CallResult(outcome, output, session_key, result_meta)

    # -- the steps -----------------------------------------------------------------------------

    def _unknown(self, name: str, session_key: str) -> CallResult:
        close = self.catalog.closest(name)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        return CallResult.error(Outcome.UNKNOWN_TOOL, f"Unknown tool '{name}'.{hint} This server has "
                                f"{len(self.catalog)} tools; call tools/list to see them.", session_key)

    def _session(self, session_key: str, meta: Mapping[str, Any]) -> Session:
        session = self.sessions.get(session_key)
        if meta.get(META_RESET) is True:
            session.reset()
        if isinstance(meta.get(META_SESSION_CONTEXT), str):
            session.hidden_context = meta[META_SESSION_CONTEXT]
        return session

    def _check(self, tool: ToolDefinition, arguments: Any) -> ArgumentCheck:
        """The tool's checking profile decides; the backend then sees the arguments as the real tool
        would have (coerced values, undeclared keys dropped)."""
        return check_call(tool, arguments, default_profile=self.check_profile, allow_extra=self.allow_extra_params)

    def output_schema_for(self, tool: ToolDefinition) -> dict[str, Any] | None:
        """The schema a JSON answer must satisfy (None: the tool answers in text)."""
        return tool.output_schema or ANY_OBJECT

    async def _answer(self, request: SimulationRequest) -> ToolOutput:
        answer = await self._ask(request)
        problem, output = self._guard(answer, request)
        if problem and self.backend.repairable:
            previous = answer if isinstance(answer, str) else json.dumps(
                answer.value if isinstance(answer, ToolOutput) else answer, ensure_ascii=False)
            answer = await self._ask(request.with_repair(previous, problem))
            problem, output = self._guard(answer, request)
        if problem or output is None:
            raise _Failed(f"its answer was not a valid output ({problem})")
        return output

    async def _ask(self, request: SimulationRequest) -> ToolOutput | dict[str, Any] | str:
        try:
            with anyio.fail_after(self.call_timeout_s):
                return await self.backend.simulate(request)
        except TimeoutError:
            raise _Failed(f"the {self.backend.name} backend did not answer within {self.call_timeout_s:g} s") from None
        except BackendError as e:
            raise _Failed(f"the {self.backend.name} backend reported: {e}") from None
        except Exception:  # a backend bug must not take the server down, nor show its internals
            ref = failure_id()
            log.exception("backend %s raised [%s]", self.backend.name, ref)
            raise _Failed(f"the {self.backend.name} backend had an internal error (ref {ref})") from None

    def _guard(self, answer: ToolOutput | dict[str, Any] | str,
               request: SimulationRequest) -> tuple[str | None, ToolOutput | None]:
        """(why the answer is refused, or None; the output when accepted)."""
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

    def _record(self, session: Session, record: CallRecord) -> None:
        session.record(record)

    def stats(self) -> dict[str, Any]:
        return {"tools": len(self.catalog), "catalog_version": self.catalog.version,
                "calls": dict(self.outcomes), "uptime_s": round(time.time() - self.started, 1),
                **self.sessions.stats()}


class _Failed(Exception):
    pass
