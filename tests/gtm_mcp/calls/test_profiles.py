"""Argument-checking profiles on tool files: what each accepts, what the tool then receives, the
refusal text in the real implementation's shape, strict's warnings on accepted calls, and the
profile carried by the tool definition (files, episode records, settings, the pipeline)."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from gtm_mcp.backends import BackendOptions, create_backend
from gtm_mcp.calls.checking import check_call, refusal_parameters
from gtm_mcp.calls.pipeline import META_WARNINGS, Outcome, Simulator
from gtm_mcp.config import ConfigError, load_settings
from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.contract.records import EpisodeRecord
from gtm_mcp.sessions.store import SessionStore
from gtm_mcp.tools.catalog import ToolCatalog
from gtm_mcp.tools.loader import load_lenient, parse_document

SCHEMA = {
    "type": "object",
    "properties": {
        "count": {"type": "integer", "minimum": 1},
        "vip": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "seat": {"type": "string", "enum": ["aisle", "window"]},
        "guest": {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                  "required": ["name"]},
        "note": {"type": "string"},
    },
    "required": ["count"],
}


def tool(profile: str | None) -> ToolDefinition:
    return ToolDefinition(name="book", description="Book seats.", input_schema=SCHEMA, check_profile=profile)


@pytest.mark.parametrize("arguments,received", [
    ({"count": "2"}, {"count": 2}),
    ({"count": 2, "vip": "True"}, {"count": 2, "vip": True}),
    ({"count": 2, "vip": "yes"}, {"count": 2, "vip": True}),
    ({"count": 2, "vip": 1}, {"count": 2, "vip": True}),
    ({"count": 2.0}, {"count": 2}),
    ({"count": 2, "tags": '["a", "b"]'}, {"count": 2, "tags": ["a", "b"]}),
    ({"count": 2, "extra": "x"}, {"count": 2}),
    ({"count": 2, "guest": {"name": "Ann", "age": "30", "x": 1}}, {"count": 2, "guest": {"name": "Ann", "age": 30}}),
])
def test_pydantic_coerces_like_lax_mode_and_drops_extras(arguments, received) -> None:
    check = check_call(tool("pydantic"), arguments)
    assert check.problems is None and check.profile == "pydantic"
    assert check.arguments == received
    # strict would have refused all but 2.0 (an integer in JSON Schema): the call says what it would have said
    assert bool(check.warnings) == (arguments != {"count": 2.0})


def test_pydantic_refusal_is_the_sdk_text() -> None:
    check = check_call(tool("pydantic"), {"count": "two", "seat": "middle"})
    assert check.problems is not None
    lines = check.problems.splitlines()
    assert lines[0] == "Error executing tool book: 2 validation errors for bookArguments"
    assert lines[1:3] == ["count", "  Input should be a valid integer, unable to parse string as an integer "
                          "[type=int_parsing, input_value='two', input_type=str]"]
    assert lines[4:6] == ["seat", "  Input should be 'aisle' or 'window' [type=literal_error, input_value='middle', "
                          "input_type=str]"]
    assert check.parameters == ("count", "seat") == refusal_parameters(check.problems)


@pytest.mark.parametrize("arguments,text", [
    ({"count": "2"}, "Invalid input: expected number, received string at count"),
    ({"count": 2, "vip": "true"}, "Invalid input: expected boolean, received string at vip"),
    ({"count": 2.5}, "Invalid input: expected int, received number at count"),
    ({"count": 0}, "Too small: expected number to be >=1 at count"),
    ({"count": 2, "tags": None}, "Invalid input: expected array, received null at tags"),
    ({"count": 2, "seat": "mid"}, 'Invalid option: expected one of "aisle"|"window" at seat'),
    ({"count": 2, "guest": {"age": 3}}, "Invalid input: expected string, received undefined at guest.name"),
    ({}, "Invalid input: expected number, received undefined at count"),
])
def test_zod_never_coerces_and_answers_in_zods_words(arguments, text) -> None:
    check = check_call(tool("zod"), arguments)
    assert check.problems == f"MCP error -32602: Input validation error: Invalid arguments for tool book: {text}"
    assert refusal_parameters(check.problems) == check.parameters


def test_zod_strips_undeclared_keys_and_keeps_numbers_as_javascript_sees_them() -> None:
    check = check_call(tool("zod"), {"count": 2.0, "extra": 1, "guest": {"name": "Ann", "nick": "A"}})
    assert check.problems is None
    assert check.arguments == {"count": 2, "guest": {"name": "Ann"}}
    assert isinstance(check.arguments["count"], int)
    assert any("unexpected parameter 'extra'" in w for w in check.warnings)


def test_strict_is_todays_check_and_refusal_text() -> None:
    for profile in (None, "strict"):
        check = check_call(tool(profile), {"count": "2", "x": 1})
        assert check.problems is not None and check.problems.startswith("Invalid arguments for tool 'book'")
        assert refusal_parameters(check.problems) == ("count", "x") == check.parameters
    assert check_call(tool(None), {"count": 2}).warnings == ()
    loose = check_call(tool(None), {"count": 2, "x": 1}, allow_extra=True)
    assert loose.problems is None and "unexpected parameter 'x'" in loose.warnings[0]


def test_the_tools_own_profile_wins_over_the_server_default() -> None:
    assert check_call(tool(None), {"count": "2"}, default_profile="pydantic").arguments == {"count": 2}
    assert check_call(tool("zod"), {"count": "2"}, default_profile="pydantic").problems is not None
    assert check_call(tool(None), {"count": "2"}, default_profile="auto").profile == "strict"


def test_the_backend_sees_the_coerced_arguments_and_warnings_reach_meta() -> None:
    """Through the whole pipeline with the schema backend: the answer echoes 2, not "2"."""
    simulator = Simulator(ToolCatalog([ToolDefinition(
        name="create_order", input_schema={"type": "object", "properties": {"quantity": {"type": "integer"},
                                                                            "product": {"type": "string"}},
                                           "required": ["product", "quantity"]},
        output_schema={"type": "object", "properties": {"product": {"type": "string"},
                                                        "quantity": {"type": "integer"}},
                       "required": ["product", "quantity"]})]),
        create_backend(BackendOptions()), SessionStore(), check_profile="pydantic")
    result = anyio.run(lambda: simulator.call("create_order", {"product": "lamp", "quantity": "2", "gift": True},
                                              session_key="s"))
    assert result.outcome is Outcome.OK
    assert result.structured["quantity"] == 2 and isinstance(result.structured["quantity"], int)
    assert {w.split("]")[0] for w in result.meta[META_WARNINGS]} == {"[wrong type", "[unexpected parameter"}
    assert simulator.sessions.get("s").history[-1].arguments == {"product": "lamp", "quantity": 2}
    strict = Simulator(simulator.catalog, simulator.backend, SessionStore())
    refused = anyio.run(lambda: strict.call("create_order", {"product": "lamp", "quantity": "2"}, session_key="s"))
    assert refused.outcome is Outcome.BAD_ARGUMENTS and META_WARNINGS not in refused.meta


def test_profile_in_tool_files_and_episode_records(tmp_path: Path) -> None:
    gtm = tmp_path / "tools.json"
    gtm.write_text(json.dumps([{"name": "book", "input_schema": SCHEMA, "check_profile": "zod"},
                               {"name": "plain", "input_schema": SCHEMA}]))
    mcp_file = tmp_path / "mcp.json"
    mcp_file.write_text(json.dumps({"tools": [{"name": "read", "inputSchema": SCHEMA,
                                               "_meta": {"gtm-mcp/check-profile": "pydantic"}}]}))
    tools, problems = load_lenient([gtm, mcp_file])
    assert problems == []
    by_name = {t.name: t for t in tools}
    assert (by_name["book"].check_profile, by_name["plain"].check_profile, by_name["read"].check_profile) == (
        "zod", None, "pydantic")
    assert by_name["book"].to_gtm()["check_profile"] == "zod" and "check_profile" not in by_name["plain"].to_gtm()
    episode = EpisodeRecord(id="e1", tools=[by_name["book"]], calls=[])
    assert EpisodeRecord.from_json_line(episode.to_json_line()).tools[0].check_profile == "zod"
    _, bad = parse_document([{"name": "x", "input_schema": SCHEMA, "check_profile": "lenient"}], "f.json")
    assert bad and bad[0].pointer == "/0/check_profile" and "strict" in bad[0].message
    _, bad = parse_document({"tools": [{"name": "x", "inputSchema": SCHEMA, "_meta": {
        "gtm-mcp/check-profile": "yes"}}]}, "f.json")
    assert bad and bad[0].pointer == "/tools/0/_meta/gtm-mcp~1check-profile"


def test_check_profile_setting() -> None:
    assert load_settings({}, env={}).check_profile == "auto"
    assert load_settings({"check_profile": "zod"}, env={}).check_profile == "zod"
    assert load_settings({}, env={"GTM_MCP_CHECK_PROFILE": "pydantic"}).check_profile == "pydantic"
    with pytest.raises(ConfigError, match="check-profile"):
        load_settings({"check_profile": "loose"}, env={})
