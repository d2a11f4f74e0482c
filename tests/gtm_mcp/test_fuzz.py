"""Hypothesis fuzzing: random tool definitions and arguments never crash or hang the server.

Definitions go through the importers (every format detector sees them); those accepted are
registered in a real server and called through the official client (in memory) with random and
with schema-shaped arguments. Each call must answer within a bound, as a valid result or an
isError result that the call deserved (the outcome counters show no simulator failure and no
internal error), and the server must keep answering afterwards.
"""

from __future__ import annotations

import json

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from gtm_mcp.backends.schema import SchemaBackend
from gtm_mcp.calls.pipeline import Simulator
from gtm_mcp.server.mcp_server import build_server
from gtm_mcp.sessions.store import SessionStore
from gtm_mcp.tools.catalog import ToolCatalog
from gtm_mcp.tools.loader import parse_document, resolve_names

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
names = st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True)
types_ = st.sampled_from(["string", "integer", "number", "boolean", "array", "object", "null", "strng", 3])


def schemas(depth: int = 2) -> st.SearchStrategy:
    leaf = st.fixed_dictionaries({"type": types_}, optional={
        "enum": st.lists(json_values, min_size=1, max_size=3),
        "minimum": st.integers(-5, 5), "maximum": st.integers(-5, 50), "exclusiveMinimum": st.booleans(),
        "pattern": st.sampled_from(["^[A-Z]{2,4}$", "[0-9]+", "(a|b)*c", "^\\d{3}-\\d{4}$", "[", "x{2,"]),
        "minLength": st.integers(0, 5), "maxLength": st.integers(0, 8),
        "format": st.sampled_from(["date", "date-time", "email", "uri", "uuid", "ipv4", "bogus"]),
        "minItems": st.integers(0, 3), "items": st.just({"type": "string"}),
        "$ref": st.sampled_from(["#/$defs/a", "#/nowhere", "#"]), "const": json_values,
    })
    if depth == 0:
        return leaf
    return leaf | st.fixed_dictionaries({
        "type": st.just("object"),
        "properties": st.dictionaries(names, schemas(depth - 1), max_size=4),
    }, optional={"required": st.lists(names, max_size=3), "additionalProperties": st.booleans(),
                 # alternatives that are objects too: `type: object` with `anyOf: [{type: string}]` has no
                 # valid value at all, and failing such a schema is right, not a simulator failure
                 "anyOf": st.lists(st.fixed_dictionaries({"type": st.just("object"), "properties": st.dictionaries(
                     names, schemas(depth - 1), max_size=2)}), min_size=1, max_size=2),
                 "$defs": st.fixed_dictionaries({"a": leaf})})


tool_docs = st.lists(st.fixed_dictionaries(
    {"name": names | st.text(max_size=6), "inputSchema": schemas() | json_values},
    optional={"description": st.text(max_size=30), "outputSchema": schemas() | json_values}), max_size=4)
other_docs = json_values | st.fixed_dictionaries({"tools": json_values}) | st.lists(st.fixed_dictionaries(
    {"api_name": st.text(max_size=8), "parameters": json_values}, optional={"responses": json_values}), max_size=3)


def simulator_for(tools) -> Simulator:
    return Simulator(ToolCatalog(tools), SchemaBackend(), SessionStore(max_sessions=50), call_timeout_s=5)


async def call_all(simulator: Simulator, tools, argument_sets) -> None:
    async with Client(build_server(simulator)) as client:
        for tool in tools:
            for arguments in argument_sets(tool):
                if not isinstance(arguments, dict) and arguments is not None:
                    # The SDK client refuses non-object arguments; other clients may send them.
                    with anyio.fail_after(5):
                        raw = await simulator.call(tool.name, arguments, session_key="raw")
                    assert raw.is_error and "must be a JSON object" in raw.text
                    continue
                with anyio.fail_after(5):  # never hangs
                    result = await client.call_tool(tool.name, arguments)
                if not result.is_error and tool.output_schema is not None:
                    assert isinstance(result.structured_content, dict)
                    assert tool.output_validator.is_valid(result.structured_content)
                    assert json.loads(result.content[0].text) == result.structured_content
                elif not result.is_error:  # no output schema: a text answer
                    assert result.structured_content is None and result.content[0].text.strip()
                else:
                    assert result.content[0].text.strip()
        with anyio.fail_after(5):  # still alive
            assert (await client.list_tools()).tools is not None
    assert_no_failures(simulator)


def assert_no_failures(simulator: Simulator) -> None:
    """An isError result is fine only when the call deserved it (unknown tool, bad arguments, a
    refusal): the simulator itself never failed and nothing raised inside the server."""
    failed = {k: n for k, n in simulator.outcomes.items() if k in ("simulator_failed", "internal_error")}
    assert not failed, f"calls that the server failed: {failed}"
    assert set(simulator.stats()["calls"]) <= {"ok", "tool_error", "unknown_tool", "bad_arguments"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=tool_docs | other_docs, args=st.lists(json_values | st.dictionaries(names, json_values), max_size=3))
def test_random_definitions_and_arguments(doc, args) -> None:
    tools, problems = parse_document(doc, "fuzz.json")  # never raises: tools or located problems
    for problem in problems:
        assert problem.file == "fuzz.json" and isinstance(problem.pointer, str) and problem.message
    tools, _ = resolve_names(tools, "auto")
    simulator = simulator_for(tools)

    def argument_sets(tool):
        return [*args, {}, _schema_shaped(tool.input_schema)]

    anyio.run(call_all, simulator, tools, argument_sets)


def _schema_shaped(schema: dict) -> dict:
    """Arguments shaped by the input schema (valid or nearly), to reach past the argument check."""
    from gtm_mcp.contract.definition import ToolDefinition
    from gtm_mcp.contract.records import SimulationRequest

    probe = ToolDefinition(name="probe", input_schema={"type": "object"}, output_schema=schema)
    try:
        value = SchemaBackend().simulate_now(SimulationRequest(probe, {}, "s", schema))
    except Exception as e:  # the generator itself must not fail either
        pytest.fail(f"generating from {schema!r} raised {e!r}")
    return value


@settings(max_examples=80, deadline=None)
@given(arguments=json_values)
def test_random_arguments_to_real_tools(arguments) -> None:
    from conftest import EXAMPLE_TOOLS

    from gtm_mcp.tools.loader import load_tools

    tools = load_tools([EXAMPLE_TOOLS])
    anyio.run(call_all, simulator_for(tools), tools, lambda tool: [arguments])
