"""The schema backend's work is bounded whatever the output schema asks, and heavy schemas are
generated off the event loop: a hostile tool cannot freeze the server or other sessions."""

from __future__ import annotations

import time

import anyio
import pytest

from gtm_mcp.backends.schema import SchemaBackend
from gtm_mcp.calls.pipeline import Outcome, Simulator
from gtm_mcp.contract import ToolDefinition
from gtm_mcp.sessions.store import SessionStore
from gtm_mcp.tools.catalog import ToolCatalog

RECURSIVE = {"type": "object", "properties": {"l": {"$ref": "#"}, "r": {"$ref": "#"}}}
HOSTILE = {
    "tree": RECURSIVE,
    "required_recursion": {"type": "object", "properties": {"next": {"$ref": "#"}}, "required": ["next"]},
    "many_items": {"type": "object", "properties": {"xs": {"type": "array", "minItems": 10**9}}, "required": ["xs"]},
    "long_string": {"type": "object", "properties": {"s": {"type": "string", "minLength": 10**9}}, "required": ["s"]},
    "long_pattern": {"type": "object", "properties": {"s": {"type": "string", "pattern": "^a{100000000}$"}},
                     "required": ["s"]},
    "catastrophic": {"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a+)+$"}},
                     "required": ["s"]},
    "all_of_loop": {"allOf": [{"$ref": "#"}], "type": "object"},
    # within the budget but heavy: 9,000 items of 40 characters
    "heavy": {"type": "object", "properties": {"xs": {"type": "array", "minItems": 9000, "items": {
        "type": "object", "properties": {"s": {"type": "string", "minLength": 40}}, "required": ["s"]}}},
              "required": ["xs"]},
}


def simulator() -> Simulator:
    tools = [ToolDefinition(name=f"hostile_{k}", output_schema=v) for k, v in HOSTILE.items()]
    tools.append(ToolDefinition(name="ping", output_schema={"type": "object", "properties": {"ok": {"type": "boolean"}},
                                                            "required": ["ok"]}))
    return Simulator(ToolCatalog(tools), SchemaBackend(), SessionStore(), call_timeout_s=30)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_output_schemas_answer_quickly_with_a_valid_output_or_a_clear_error(name: str) -> None:
    sim = simulator()
    start = time.perf_counter()
    result = anyio.run(lambda: sim.call(f"hostile_{name}", {}, session_key="s"))
    assert time.perf_counter() - start < 5
    if result.is_error:
        assert result.outcome is Outcome.SIMULATOR_FAILED, result.text
        assert "ref " not in result.text  # a clear reason, not an internal error
    else:
        assert sim.catalog.get(f"hostile_{name}").output_validator.is_valid(result.structured)
    assert sim.outcomes.get("internal_error", 0) == 0


def test_the_recursive_schema_of_the_report_gives_a_valid_bounded_output() -> None:
    sim = simulator()
    result = anyio.run(lambda: sim.call("hostile_tree", {}, session_key="s"))
    assert not result.is_error and len(result.text) < 600_000


def test_other_sessions_keep_answering_while_a_heavy_schema_is_generated() -> None:
    sim = simulator()

    async def main() -> tuple[float, list[float]]:
        fast: list[float] = []
        done = anyio.Event()

        async def heavy() -> None:
            for _ in range(5):
                assert not (await sim.call("hostile_heavy", {}, session_key="heavy")).is_error
            done.set()

        async def light() -> None:
            while not done.is_set():
                start = time.perf_counter()
                result = await sim.call("ping", {}, session_key="light")
                assert not result.is_error
                fast.append(time.perf_counter() - start)
                await anyio.sleep(0.005)

        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            tg.start_soon(heavy)
            tg.start_soon(light)
        return time.perf_counter() - start, fast

    total, fast = anyio.run(main)
    assert len(fast) >= 5  # the light session was served all along
    assert max(fast) < max(0.25, total / 3), (max(fast), total)
    assert sim.backend.offloaded >= 5
