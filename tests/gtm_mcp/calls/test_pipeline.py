"""The call pipeline's contract with backends.

The backend here is a recording stand-in written in the test (not a fake of a real part): it is
how the pipeline's own duties are observed — what history and hidden context a backend is handed,
the one repair round, and failures turned into isError results while other sessions go on.
"""

from __future__ import annotations

import re
import time
from typing import Any

import anyio
import pytest

from gtm_mcp.backends.base import BackendError, BackendHealth
from gtm_mcp.calls.pipeline import Outcome, Simulator
from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.contract.records import SimulationRequest
from gtm_mcp.sessions.store import SessionStore
from gtm_mcp.tools.catalog import ToolCatalog

TOOL = ToolDefinition(name="lookup", input_schema={"type": "object", "properties": {"q": {"type": "string"}},
                                                   "required": ["q"]},
                      output_schema={"type": "object", "properties": {"answer": {"type": "string"}},
                                     "required": ["answer"]})


class Scripted:
    """Answers each call with the next scripted behaviour and records every request."""

    name = "scripted"
    repairable = True

    def __init__(self, script: dict[str, list[Any]]) -> None:
        self.script = script
        self.requests: list[SimulationRequest] = []

    async def simulate(self, request: SimulationRequest) -> dict[str, Any] | str:
        self.requests.append(request)
        step = self.script[request.arguments["q"]].pop(0)
        if step == "hang":
            await anyio.sleep(60)
        if isinstance(step, Exception):
            raise step
        return step

    async def health(self) -> BackendHealth:
        return BackendHealth("ok")

    async def aclose(self) -> None:
        return None


def simulator(script: dict[str, list[Any]], **kwargs: Any) -> tuple[Simulator, Scripted]:
    backend = Scripted(script)
    return Simulator(ToolCatalog([TOOL]), backend, SessionStore(), call_timeout_s=1.0, **kwargs), backend


def test_history_and_hidden_context_reach_the_backend() -> None:
    sim, backend = simulator({"a": ['{"answer": "A"}'], "b": ['```json\n{"answer": "B"}\n```'],
                              "c": ['Sure! {"answer": "C"} hope this helps']})

    async def main() -> None:
        await sim.call("lookup", {"q": "a"}, session_key="s", meta={"gtm-mcp/session-context": "secret is 42"})
        bad = await sim.call("lookup", {"q": 1}, session_key="s")
        assert bad.outcome is Outcome.BAD_ARGUMENTS and len(backend.requests) == 1  # never reached the backend
        b = await sim.call("lookup", {"q": "b"}, session_key="s", meta={"gtm-mcp/hidden-context": "only now"})
        assert b.structured == {"answer": "B"}  # fences stripped
        c = await sim.call("lookup", {"q": "c"}, session_key="s", meta={"gtm-mcp/reset": True})
        assert c.structured == {"answer": "C"}  # prose around the JSON stripped

    anyio.run(main)
    first, second, third = backend.requests
    assert first.hidden_context == "secret is 42" and first.history == ()
    assert second.hidden_context == "secret is 42\nonly now"
    assert [(h.tool, h.arguments, h.is_error) for h in second.history] == [
        ("lookup", {"q": "a"}, False), ("lookup", {"q": 1}, True)]
    assert second.history[0].result == {"answer": "A"} and "[wrong type]" in second.history[1].result
    assert third.history == () and third.hidden_context is None  # reset: a new episode


def test_one_repair_round_then_a_clear_failure() -> None:
    sim, backend = simulator({"fixable": ['{"answr": 1}', '{"answer": "ok"}'],
                              "hopeless": ["no json here", '{"answer": 5}']})

    async def main() -> None:
        fixed = await sim.call("lookup", {"q": "fixable"}, session_key="s")
        assert fixed.outcome is Outcome.OK and fixed.structured == {"answer": "ok"}
        repair = backend.requests[1].repair
        assert repair is not None and repair.previous_answer == '{"answr": 1}' and "answer" in repair.problem
        failed = await sim.call("lookup", {"q": "hopeless"}, session_key="s")
        assert failed.is_error and failed.structured is None
        assert "simulator failed" in failed.text and "not a valid output" in failed.text

    anyio.run(main)
    assert len(backend.requests) == 4  # exactly one re-ask per call


def test_backend_failures_become_errors_and_other_sessions_go_on(caplog: pytest.LogCaptureFixture) -> None:
    sim, _ = simulator({"down": [BackendError("connection refused by http://x")], "bug": [KeyError("oops")],
                        "hang": ["hang"], **{f"ok{i}": ['{"answer": "fine"}'] for i in range(20)}})
    results: dict[str, Any] = {}

    async def one(q: str) -> None:
        results[q] = await sim.call("lookup", {"q": q}, session_key=q)

    async def main() -> float:
        t0 = time.monotonic()
        async with anyio.create_task_group() as tg:
            for q in ["down", "bug", "hang", *[f"ok{i}" for i in range(20)]]:
                tg.start_soon(one, q)
        return time.monotonic() - t0

    elapsed = anyio.run(main)
    assert "connection refused" in results["down"].text and results["down"].outcome is Outcome.SIMULATOR_FAILED
    # A backend bug is not shown to the agent: a short message with a reference that the log explains.
    bug = results["bug"].text
    assert "KeyError" not in bug and "oops" not in bug
    ref = re.search(r"\(ref ([0-9a-f]{8})\)", bug).group(1)
    logged = [r for r in caplog.records if ref in r.getMessage()]
    assert logged and "KeyError: 'oops'" in caplog.text
    assert "did not answer within 1 s" in results["hang"].text
    assert all(results[f"ok{i}"].structured == {"answer": "fine"} for i in range(20))
    assert elapsed < 5  # the hung call was cut at the timeout; nothing waited on it
    assert sim.stats()["calls"] == {"simulator_failed": 3, "ok": 20}
