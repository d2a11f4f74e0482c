"""The call pipeline: catalog → argument check → session → backend → output guard → session record.

Transport-independent: the MCP handlers and `gtm-mcp call` both go through `Simulator.call`.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import anyio

from gtm_mcp.backends.base import Backend, BackendError, CallRecord, SimulationRequest
from gtm_mcp.calls.arguments import check_arguments, format_problems
from gtm_mcp.calls.output import output_problem, parse_answer
from gtm_mcp.sessions.keys import META_HIDDEN_CONTEXT, META_RESET, META_SESSION_CONTEXT
from gtm_mcp.sessions.store import SessionStore
from gtm_mcp.tools.catalog import ToolCatalog

log = logging.getLogger(__name__)
ANY_OBJECT: dict[str, Any] = {"type": "object"}


class Outcome(StrEnum):
    OK = "ok"
    UNKNOWN_TOOL = "unknown_tool"
    BAD_ARGUMENTS = "bad_arguments"
    SIMULATOR_FAILED = "simulator_failed"


@dataclass(frozen=True)
class CallResult:
    outcome: Outcome
    text: str
    structured: dict[str, Any] | None = None
    session: str = ""

    @property
    def is_error(self) -> bool:
        return self.outcome is not Outcome.OK


class Simulator:
    """Answers tool calls. One per server; shared by every session and transport."""

    def __init__(self, catalog: ToolCatalog, backend: Backend, sessions: SessionStore, *, seed: int = 0,
                 allow_extra_params: bool = False, call_timeout_s: float = 120.0) -> None:
        self.catalog = catalog
        self.backend = backend
        self.sessions = sessions
        self.seed = seed
        self.allow_extra_params = allow_extra_params
        self.call_timeout_s = call_timeout_s
        self.outcomes: Counter[str] = Counter()
        self.started = time.time()

    async def call(self, name: str, arguments: Any, *, session_key: str,
                   meta: Mapping[str, Any] | None = None) -> CallResult:
        result = await self._call(name, {} if arguments is None else arguments, session_key, meta or {})
        self.outcomes[result.outcome.value] += 1
        return result

    async def _call(self, name: str, arguments: Any, session_key: str, meta: Mapping[str, Any]) -> CallResult:
        tool = self.catalog.get(name)
        if tool is None:
            close = self.catalog.closest(name)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            return CallResult(Outcome.UNKNOWN_TOOL, f"Unknown tool '{name}'.{hint} This server has "
                              f"{len(self.catalog)} tools; call tools/list to see them.", session=session_key)
        session = self.sessions.get(session_key)
        if meta.get(META_RESET) is True:
            session.reset()
        if isinstance(meta.get(META_SESSION_CONTEXT), str):
            session.hidden_context = meta[META_SESSION_CONTEXT]
        problems = check_arguments(tool, arguments, allow_extra=self.allow_extra_params)
        if problems:
            text = format_problems(tool, problems)
            session.record(CallRecord(name, arguments if isinstance(arguments, dict) else {}, text, True))
            return CallResult(Outcome.BAD_ARGUMENTS, text, session=session_key)
        hidden = [h for h in (session.hidden_context, meta.get(META_HIDDEN_CONTEXT)) if isinstance(h, str) and h]
        request = SimulationRequest(
            tool=tool, arguments=arguments, session_id=session_key,
            output_schema=tool.output_schema or ANY_OBJECT, history=tuple(session.history),
            hidden_context="\n".join(hidden) or None, seed=self.seed, state=session.state)
        try:
            value = await self._simulate(request)
        except _Failed as failed:
            text = f"The tool simulator failed for '{name}': {failed}. The call was not executed; " \
                   "retrying may help."
            log.warning("simulator failed for %s (session %s): %s", name, session_key, failed)
            return CallResult(Outcome.SIMULATOR_FAILED, text, session=session_key)
        session.record(CallRecord(name, arguments, value))
        return CallResult(Outcome.OK, json.dumps(value, ensure_ascii=False), value, session=session_key)

    async def _simulate(self, request: SimulationRequest) -> dict[str, Any]:
        validator = request.tool.output_validator
        answer = await self._ask(request)
        problem, value = self._check(answer, validator)
        if problem and self.backend.repairable:
            previous = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
            answer = await self._ask(request.with_repair(previous, problem))
            problem, value = self._check(answer, validator)
        if problem:
            raise _Failed(f"its answer was not a valid output ({problem})")
        return value

    async def _ask(self, request: SimulationRequest) -> dict[str, Any] | str:
        try:
            with anyio.fail_after(self.call_timeout_s):
                return await self.backend.simulate(request)
        except TimeoutError:
            raise _Failed(f"the {self.backend.name} backend did not answer within {self.call_timeout_s:g} s") from None
        except BackendError as e:
            raise _Failed(f"the {self.backend.name} backend reported: {e}") from None
        except Exception as e:  # a backend bug must not take the server down
            log.exception("backend %s raised", self.backend.name)
            raise _Failed(f"the {self.backend.name} backend raised {type(e).__name__}: {e}") from None

    @staticmethod
    def _check(answer: dict[str, Any] | str, validator: Any) -> tuple[str | None, Any]:
        try:
            value = parse_answer(answer)
        except ValueError as e:
            return str(e), None
        return output_problem(value, validator), value

    def stats(self) -> dict[str, Any]:
        return {"tools": len(self.catalog), "catalog_version": self.catalog.version,
                "calls": dict(self.outcomes), "uptime_s": round(time.time() - self.started, 1),
                **self.sessions.stats()}


class _Failed(Exception):
    pass
