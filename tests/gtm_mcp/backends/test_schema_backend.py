"""The model-free schema backend: valid, deterministic, session-consistent outputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import anyio
import pytest
from conftest import EXAMPLE_TOOLS, LIVEMCPBENCH, SEAL_TOOLS, STABLETOOLBENCH, need

from gtm_mcp.backends.schema import SchemaBackend, infer_output_schema, load_rules
from gtm_mcp.backends.schema.rules import snake
from gtm_mcp.calls.pipeline import Simulator
from gtm_mcp.contract.definition import ToolDefinition, validator_class_for
from gtm_mcp.contract.records import SimulationRequest
from gtm_mcp.sessions.store import SessionStore
from gtm_mcp.tools.catalog import ToolCatalog
from gtm_mcp.tools.loader import load_tools


def simulate(backend: SchemaBackend, tool: ToolDefinition, args: dict, state: dict | None = None) -> dict:
    return backend.simulate_now(SimulationRequest(tool, args, "s", tool.output_schema or {"type": "object"},
                                                  state={} if state is None else state))


WEEKDAYS = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}


def meaning_problems(value: Any, rules: Any, where: str = "") -> Iterator[str]:
    """Fields whose name says datetime, date or weekday but whose value is not one, and filler prose."""
    if isinstance(value, dict):
        for key, item in value.items():
            kinds = rules.kinds_of(key)
            if isinstance(item, str) and item and kinds:
                s = snake(key)
                try:
                    if kinds[0] in ("datetime", "created_time", "modified_time") and "time" in s:
                        datetime.fromisoformat(item)
                    elif kinds[0] == "date" and s.endswith("date"):
                        datetime.fromisoformat(item)
                except ValueError:
                    yield f"{where}/{key}: {item!r} is not a {kinds[0]}"
                if kinds[0] == "weekday" and item not in WEEKDAYS:
                    yield f"{where}/{key}: {item!r} is not a weekday"
            if isinstance(item, str) and ("last updated" in item or "everything looks consistent" in item):
                yield f"{where}/{key}: filler prose {item!r}"
            yield from meaning_problems(item, rules, f"{where}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from meaning_problems(item, rules, f"{where}/{i}")


@pytest.mark.parametrize("path", [LIVEMCPBENCH, SEAL_TOOLS, STABLETOOLBENCH])
def test_every_real_tool_gets_a_valid_output_whose_fields_mean_what_they_say(path) -> None:
    """Valid for the schema, and no `"datetime": "meadow prism"`: a field whose name says datetime,
    date or weekday holds one (unless the tool's own schema constrains it otherwise)."""
    backend = SchemaBackend(seed=3)
    rules = load_rules()
    tools = load_tools([need(path)])
    checked = 0
    for tool in tools:
        schema = tool.output_schema or infer_output_schema(tool)
        cls = validator_class_for(schema)
        out = simulate(backend, tool, {})
        errors = list(cls(schema, format_checker=cls.FORMAT_CHECKER).iter_errors(out))
        assert not errors, (tool.name, errors[0].message)
        problems = list(meaning_problems(out, rules))
        assert not problems, (tool.name, problems)
        checked += "datetime" in json.dumps(out) or "date" in json.dumps(out)
    assert checked > 10


def test_deterministic_for_a_seed_and_different_across_seeds() -> None:
    tools = {t.name: t for t in load_tools([EXAMPLE_TOOLS])}
    args = {"city": "Lisbon"}
    one = simulate(SchemaBackend(seed=1), tools["get_weather"], args)
    assert one == simulate(SchemaBackend(seed=1), tools["get_weather"], args)
    assert one["city"] == "Lisbon"  # the argument is echoed into the field of the same name
    others = [simulate(SchemaBackend(seed=s), tools["get_weather"], args) for s in range(2, 8)]
    assert any(o != one for o in others)


def test_patterns_formats_and_bounds_are_respected() -> None:
    tool = ToolDefinition(name="make_code", input_schema={"type": "object"}, output_schema={
        "type": "object", "required": ["code", "when", "n", "tags", "ip"],
        "properties": {"code": {"type": "string", "pattern": "^[A-Z]{2}-\\d{4}(x|y)$"},
                       "when": {"type": "string", "format": "date-time"},
                       "n": {"type": "number", "exclusiveMinimum": 10, "maximum": 10.5, "multipleOf": 0.25},
                       "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "minItems": 2,
                                "uniqueItems": True},
                       "ip": {"type": "string", "format": "ipv4"}}})
    for seed in range(20):
        out = simulate(SchemaBackend(seed=seed), tool, {})
        assert tool.output_validator.is_valid(out), out


def test_session_world_remembers_ids_and_objects() -> None:
    tools = load_tools([EXAMPLE_TOOLS])
    simulator = Simulator(ToolCatalog(tools), SchemaBackend(), SessionStore())

    async def main() -> None:
        first = (await simulator.call("create_order", {"product": "lamp", "quantity": 2}, session_key="a")).structured
        second = (await simulator.call("create_order", {"product": "desk", "quantity": 1},
                                       session_key="a")).structured
        assert first["order_id"] != second["order_id"]
        fetched = (await simulator.call("get_order", {"order_id": first["order_id"]}, session_key="a")).structured
        assert (fetched["order_id"], fetched["product"], fetched["quantity"]) == (first["order_id"], "lamp", 2)
        assert fetched["total_price"] == first["total_price"]
        listed = (await simulator.call("list_orders", {}, session_key="a")).structured
        assert {o["order_id"] for o in listed["orders"]} == {first["order_id"], second["order_id"]}
        assert listed["total"] == 2
        other = (await simulator.call("list_orders", {}, session_key="b")).structured
        assert not {o["order_id"] for o in other["orders"]} & {first["order_id"], second["order_id"]}
        # A new episode (reset) forgets the world.
        reset = await simulator.call("list_orders", {}, session_key="a", meta={"gtm-mcp/reset": True})
        assert first["order_id"] not in {o["order_id"] for o in reset.structured["orders"]}

    anyio.run(main)


def test_inferred_schema_follows_the_verb() -> None:
    def shape(name: str) -> set[str]:
        return set(infer_output_schema(ToolDefinition(name=name))["required"])

    assert {"results", "total"} <= shape("search_products")
    assert {"success", "message"} <= shape("delete_file")
    assert {"product_id", "status", "created_at"} <= shape("create_product")
    assert {"message_id", "status"} <= shape("send_sms")


def test_json_hidden_context_pins_fields_through_the_server(example_server) -> None:
    """An RL episode's ground truth, given as hidden context, decides the fields it names."""
    from mcp import Client

    async def main() -> None:
        async with Client(example_server.url) as client:
            truth = {"gtm-mcp/session": "ep-truth", "gtm-mcp/session-context": '{"temperature": -3.5}'}
            first = await client.call_tool("get_weather", {"city": "Oslo"}, meta=truth)
            later = await client.call_tool("get_weather", {"city": "Bergen"}, meta={"gtm-mcp/session": "ep-truth"})
            scoped = await client.call_tool("get_stock_quote", {"symbol": "ACME"}, meta={
                "gtm-mcp/session": "ep-truth", "gtm-mcp/hidden-context": '{"get_stock_quote": {"price": 12.5}}'})
            unfit = await client.call_tool("get_weather", {"city": "Oslo"}, meta={
                "gtm-mcp/session": "other", "gtm-mcp/hidden-context": '{"temperature": 999}'})
            prose = await client.call_tool("get_weather", {"city": "Oslo"}, meta={
                "gtm-mcp/session": "prose", "gtm-mcp/hidden-context": "it is freezing"})
        assert first.structured_content["temperature"] == -3.5
        assert later.structured_content["temperature"] == -3.5  # the session's context holds for later calls
        assert later.structured_content["city"] == "Bergen"  # the call's own arguments still win
        assert scoped.structured_content["price"] == 12.5
        assert -60 <= unfit.structured_content["temperature"] <= 60  # a value the schema refuses is not used
        assert not prose.is_error  # free text is for model backends; the schema backend ignores it

    anyio.run(main)
