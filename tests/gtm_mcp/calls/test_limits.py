"""Byte and depth limits on what a call carries in and out, through the real MCP layer (the SDK
client connected to the server in memory), and argument checks that leave the event loop free."""

from __future__ import annotations

import time
from typing import Any

import anyio
from mcp import Client

from gtm_mcp.backends.schema import SchemaBackend
from gtm_mcp.calls.pipeline import Simulator
from gtm_mcp.config import Settings
from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.server.mcp_server import build_server
from gtm_mcp.server.runtime import build_simulator
from gtm_mcp.sessions.store import SessionStore
from gtm_mcp.tools.catalog import ToolCatalog

ANY = ToolDefinition(name="store_blob", input_schema={"type": "object", "properties": {"blob": {}}})
CODES = ToolDefinition(name="check_codes", input_schema={
    "type": "object", "properties": {"codes": {"type": "array", "items": {"type": "string",
                                                                          "pattern": "^[A-Z]{2}[0-9]+$"}}}})
LONG = ToolDefinition(name="get_report", input_schema={"type": "object"}, output_schema={
    "type": "object", "properties": {"text": {"type": "string", "minLength": 400}}, "required": ["text"]})


class Fixed:
    """A backend written in the test that answers one fixed output (as tests/gtm_mcp/calls/
    test_pipeline.py's stand-in does): how the guard treats an output is what is observed."""

    name = "fixed"
    repairable = False

    def __init__(self, output: dict[str, Any]) -> None:
        self.output = output

    async def simulate(self, request: Any) -> dict[str, Any]:
        return self.output

    async def health(self) -> Any:
        return None

    async def aclose(self) -> None:
        return None


def simulator(**kw: Any) -> Simulator:
    return Simulator(ToolCatalog([ANY, CODES, LONG]), SchemaBackend(), SessionStore(), **kw)


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"n": value}
    return value


def test_deep_and_huge_arguments_are_refused_with_a_clear_error() -> None:
    sim = simulator(max_argument_bytes=4 * 1024 * 1024, max_argument_depth=64)

    async def main() -> None:
        async with Client(build_server(sim)) as client:
            start = time.perf_counter()
            deep = await client.call_tool("store_blob", {"blob": nested(240)})  # near what the client can send (~250)
            assert deep.is_error and "--max-argument-depth" in deep.content[0].text
            big = await client.call_tool("store_blob", {"blob": "x" * 5_000_000})
            assert big.is_error and "--max-argument-bytes" in big.content[0].text
            wide = await client.call_tool("store_blob", {"blob": list(range(1_000_000))})
            assert wide.is_error and "--max-argument-bytes" in wide.content[0].text
            assert time.perf_counter() - start < 30
            fine = await client.call_tool("store_blob", {"blob": nested(40)})
            assert not fine.is_error, fine.content[0].text

        # Deeper than any MCP transport here delivers (the SDK's JSON parser refuses ~1000 levels),
        # straight into the pipeline, as `gtm-mcp call` and in-process harnesses use it:
        for depth in (1000, 100_000):
            direct = await sim.call("store_blob", {"blob": nested(depth)}, session_key="direct")
            assert direct.is_error and "--max-argument-depth" in direct.text

    anyio.run(main)
    session = sim.sessions.peek("default")
    assert session is not None and session.history_bytes < 10_000  # refused arguments are not kept
    assert sim.outcomes["bad_arguments"] == 5 and sim.outcomes["ok"] == 1


def test_checking_large_arguments_leaves_the_loop_free() -> None:
    """60,000 strings against a pattern: the check takes a second or more in jsonschema; other tasks keep
    running meanwhile because it runs in a worker thread."""
    sim = simulator()
    codes = [f"AB{i}" for i in range(60_000)] + ["bad"]

    async def main() -> tuple[float, float]:
        ticks: list[float] = []

        async def ticker() -> None:
            while True:
                ticks.append(time.perf_counter())
                await anyio.sleep(0.005)

        async with Client(build_server(sim)) as client, anyio.create_task_group() as tg:
            tg.start_soon(ticker)
            await anyio.sleep(0.05)
            start = time.perf_counter()
            result = await client.call_tool("check_codes", {"codes": codes})
            end = time.perf_counter()
            tg.cancel_scope.cancel()
        assert result.is_error and "codes[60000]" in result.content[0].text
        during = [t for t in ticks if start <= t <= end]
        stall = max(b - a for a, b in zip([start, *during], [*during, end], strict=True))
        return end - start, stall

    took, stall = anyio.run(main)
    assert took > 0.3, f"the check took {took:.2f} s: too little to show anything"
    assert stall < took / 3, f"the loop stalled {stall:.2f} s during a {took:.2f} s check"


def test_output_over_the_byte_limit_is_an_error_through_mcp() -> None:
    async def main(limit: int):
        sim = Simulator(ToolCatalog([LONG]), Fixed({"text": "x" * 400}), SessionStore(), max_output_bytes=limit)
        async with Client(build_server(sim)) as client:
            return await client.call_tool("get_report", {})

    refused = anyio.run(main, 300)
    assert refused.is_error and "over the limit of 300" in refused.content[0].text
    assert refused.structured_content is None
    accepted = anyio.run(main, 100_000)
    assert not accepted.is_error and len(accepted.structured_content["text"]) >= 400


def test_settings_reach_the_simulator_and_sessions() -> None:
    sim = build_simulator(Settings(max_session_bytes=12345, max_argument_bytes=678, max_argument_depth=9,
                                   max_output_bytes=4321))
    assert (sim.sessions.max_session_bytes, sim.max_argument_bytes, sim.max_argument_depth,
            sim.max_output_bytes) == (12345, 678, 9, 4321)
    assert sim.sessions.get("x").max_bytes == 12345


def test_unknown_tool_suggestions_in_a_large_catalogue_leave_the_loop_free() -> None:
    """"Did you mean" over 20,000 names takes a while (difflib); other tasks run meanwhile, and a
    huge unknown name is neither compared nor echoed whole."""
    catalog = ToolCatalog([ToolDefinition(name=f"get_{w}_record_{i}") for i, w in
                           enumerate(["order", "user", "flight", "hotel"] * 5000)])
    sim = Simulator(catalog, SchemaBackend(), SessionStore())

    async def main() -> tuple[float, float, Any]:
        ticks: list[float] = []

        async def ticker() -> None:
            while True:
                ticks.append(time.perf_counter())
                await anyio.sleep(0.005)

        async with anyio.create_task_group() as tg:
            tg.start_soon(ticker)
            await anyio.sleep(0.05)
            start = time.perf_counter()
            result = await sim.call("get_order_recrd_17", {}, session_key="s")
            end = time.perf_counter()
            huge = await sim.call("x" * 1_000_000, {}, session_key="s")
            tg.cancel_scope.cancel()
        assert "get_order_record_17" in result.text
        assert huge.is_error and len(huge.text) < 500
        during = [t for t in ticks if start <= t <= end]
        return end - start, max(b - a for a, b in zip([start, *during], [*during, end], strict=True)), result

    took, stall, _ = anyio.run(main)
    assert took > 0.2, f"the lookup took {took:.2f} s: too little to show anything"
    assert stall < took / 3, f"the loop stalled {stall:.2f} s during a {took:.2f} s lookup"


def test_schemas_jsonschema_cannot_apply_are_simulator_failures_not_internal_errors() -> None:
    tree = {"type": "object", "properties": {"l": {"$ref": "#"}, "r": {"$ref": "#"}}}
    deep: Any = {}
    for _ in range(1000):  # as a model could write it; jsonschema recurses per level
        deep = {"l": deep}
    tools = [ToolDefinition(name="tree", output_schema=tree),
             ToolDefinition(name="tiny_steps", input_schema={"type": "object", "properties": {
                 "n": {"type": "number", "multipleOf": 0.5}}})]
    sim = Simulator(ToolCatalog(tools), Fixed(deep), SessionStore())

    async def main() -> None:
        nested = await sim.call("tree", {}, session_key="s")
        assert nested.outcome.value == "simulator_failed" and "nests too deeply" in nested.text
        huge = await sim.call("tiny_steps", {"n": 10**400}, session_key="s")  # beyond floats
        assert huge.outcome.value == "simulator_failed" and "could not be applied" in huge.text

    anyio.run(main)
    assert "internal_error" not in sim.outcomes
