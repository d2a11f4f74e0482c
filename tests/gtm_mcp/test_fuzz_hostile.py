"""Hostile fuzzing through the real MCP layer: a real server process over streamable HTTP, the
official SDK client, definitions built to hurt (recursive `$ref`, huge minimums, catastrophic
patterns, unicode and odd names) and arguments built to hurt (deep, large, patterns that
backtrack). Every call must answer within a per-call time budget with a valid result or an isError
result, nothing may raise inside the server, and `/healthz` must answer after each round.

Prints how many definitions and calls were tried and the worst per-call time (`pytest -s`).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from conftest import ServerProcess, run_server
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.shared.exceptions import MCPError

#: Seconds one call may take end to end on this (shared, 2-core) machine, hostile or not.
CALL_BUDGET_S = 10.0
OBJ = {"type": "object"}


def _tool(name: str, output: dict | None = None, inputs: dict | None = None, description: str = "") -> dict:
    tool: dict[str, Any] = {"name": name, "description": description or f"hostile case {name}",
                            "inputSchema": inputs or {"type": "object", "properties": {"q": {"type": "string"}}}}
    if output is not None:
        tool["outputSchema"] = output
    return tool


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"n": value}
    return value


TREE = {"type": "object", "properties": {"l": {"$ref": "#"}, "r": {"$ref": "#"}}}
HOSTILE_TOOLS = [
    _tool("recursive_tree", TREE),
    _tool("recursive_required", {**TREE, "required": ["l", "r"]}),
    _tool("recursive_defs", {"type": "object", "$defs": {"node": {"type": "object", "properties": {
        "children": {"type": "array", "minItems": 3, "items": {"$ref": "#/$defs/node"}}}, "required": ["children"]}},
        "properties": {"root": {"$ref": "#/$defs/node"}}, "required": ["root"]}),
    _tool("huge_min_items", {"type": "object", "properties": {"xs": {"type": "array", "minItems": 10**9}},
                             "required": ["xs"]}),
    _tool("huge_min_length", {"type": "object", "properties": {"s": {"type": "string", "minLength": 10**9}},
                              "required": ["s"]}),
    _tool("huge_min_properties", {"type": "object", "minProperties": 10**6}),
    _tool("nested_big_arrays", {"type": "object", "properties": {"grid": {
        "type": "array", "minItems": 1000, "items": {"type": "array", "minItems": 1000,
                                                     "items": {"type": "string", "minLength": 100}}}},
        "required": ["grid"]}),
    _tool("catastrophic_output_pattern", {"type": "object", "properties": {
        "s": {"type": "string", "pattern": "^(a+)+$", "minLength": 30},
        "t": {"type": "string", "pattern": "^(a|aa)+$"}, "u": {"type": "string", "pattern": "(x+x+)+y"}},
        "required": ["s", "t", "u"]}),
    _tool("contradiction", {"type": "object", "properties": {"v": {"allOf": [{"type": "string"},
                                                                             {"type": "integer"}]}},
                            "required": ["v"]}),
    _tool("many_alternatives", {"type": "object", "properties": {"v": {"anyOf": [
        {"type": "object", "properties": {f"k{i}": {"type": "string"}}, "required": [f"k{i}"]}
        for i in range(500)]}}, "required": ["v"]}),
    _tool("catastrophic_input_pattern", OBJ, {"type": "object", "properties": {
        "s": {"type": "string", "pattern": "^(a+)+$"}, "t": {"type": "string", "pattern": "^(a|a?)+$"}}}),
    _tool("lookaround_input_pattern", OBJ, {"type": "object", "properties": {
        "s": {"type": "string", "pattern": "^(?=(a+)+b)"}, "t": {"type": "string", "pattern": "^(a*)*\\1$"}}}),
    _tool("catastrophic_pattern_properties", OBJ, {"type": "object", "patternProperties": {
        "^(a|aa)+$": {"type": "string"}, "^(?=(b+)+c)": {"type": "integer"}}, "additionalProperties": False}),
    _tool("recursive_input", OBJ, {"type": "object", "properties": {"child": {"$ref": "#"},
                                                                   "name": {"type": "string"}}}),
    _tool("huge_enum_input", OBJ, {"type": "object", "properties": {
        "v": {"type": "string", "enum": [f"value-{i}" for i in range(50_000)]}}}),
    _tool("天气预报", None), _tool("погода_сейчас", None), _tool("طقس_اليوم", None), _tool("emoji_☀️_🌧", None),
    _tool("family_👨‍👩‍👧_zwj", None), _tool("a.b-c:d/e@f", None), _tool("quote\"and'apostrophe", None),
    _tool("n" * 128, None),
]

EVIL_A = "a" * 5000 + "!"
HOSTILE_ARGUMENTS: dict[str, list[Any]] = {
    "catastrophic_input_pattern": [{"s": EVIL_A, "t": EVIL_A}, {"s": "aaaa", "t": "aa"}],
    "lookaround_input_pattern": [{"s": "a" * 40, "t": "a" * 40 + "b"}, {"s": "aab"}],
    "catastrophic_pattern_properties": [{"a" * 40 + "!": "x", "b" * 40: 1}, {"aaaa": "ok"}],
    "recursive_input": [{"child": _nested(60)}, {"child": _nested(200)}],
    "huge_enum_input": [{"v": "value-49999"}, {"v": "nope"}],
}
COMMON_ARGUMENTS: list[Any] = [
    {}, {"q": "x" * 3_000_000}, {"q": _nested(240)}, {"q": "日本語のテキスト🌸" * 1000},
    {"q": [list(range(100))] * 1000}, {"q": 10**300}, {"unexpected": True},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("hostile")
    (tmp / "hostile.json").write_text(json.dumps({"tools": HOSTILE_TOOLS}, ensure_ascii=False))
    with run_server("--tools", str(tmp / "hostile.json"), "--call-timeout", "5", "--max-admin-body", "8000000",
                    tmp_path=tmp) as srv:
        yield srv


class Tally:
    """What was tried, and the worst time of one call."""

    def __init__(self) -> None:
        self.definitions = 0
        self.calls = 0
        self.worst = 0.0
        self.worst_case = ""
        self.kinds: Counter[str] = Counter()

    def line(self) -> str:
        return (f"{self.definitions} definitions, {self.calls} calls, worst call {self.worst:.2f} s "
                f"({self.worst_case}); {dict(self.kinds)}")


TALLY = Tally()


async def _call(client: Client, name: str, arguments: Any, session: str) -> str:
    """One call within the budget: 'ok', 'error' (isError) or 'refused' (the transport refused it,
    e.g. a body over the HTTP limit); anything else fails the test."""
    start = time.perf_counter()
    try:
        with anyio.fail_after(CALL_BUDGET_S):
            result = await client.call_tool(name, arguments, meta={"gtm-mcp/session": session})
        kind = "error" if result.is_error else "ok"
        if result.is_error:
            assert result.content and result.content[0].text.strip()
        else:  # JSON for tools with an output schema, text for the others
            assert result.content and (result.structured_content is None or isinstance(result.structured_content,
                                                                                       dict))
    except MCPError as e:  # a transport-level refusal (e.g. HTTP 413) must still be an answer
        kind = "refused"
        assert e.message
    took = time.perf_counter() - start
    TALLY.calls += 1
    TALLY.kinds[kind] += 1
    if took > TALLY.worst:
        TALLY.worst, TALLY.worst_case = took, f"{name[:40]} {json.dumps(arguments, default=str)[:60]}"
    return kind


def _alive(server: ServerProcess) -> dict[str, Any]:
    health = httpx.get(f"{server.base}/healthz", timeout=CALL_BUDGET_S).json()
    assert server.proc.poll() is None
    if "internal_error" in health["calls"]:
        Path("/tmp/harden_hostile.log").write_text(server.log.read_text() if server.log else "")
    assert "internal_error" not in health["calls"], (health["calls"], server.logs())
    return health


def test_hostile_definitions_and_arguments(server: ServerProcess) -> None:
    async def main() -> None:
        async with Client(server.url) as client:
            listed = {t.name for t in (await client.list_tools()).tools}
            assert listed == {t["name"] for t in HOSTILE_TOOLS}  # all valid definitions: all served
            TALLY.definitions += len(HOSTILE_TOOLS)
            for i, tool in enumerate(HOSTILE_TOOLS):
                for arguments in HOSTILE_ARGUMENTS.get(tool["name"], COMMON_ARGUMENTS[:3]):
                    await _call(client, tool["name"], arguments, f"s{i}")
            for arguments in COMMON_ARGUMENTS:
                await _call(client, "recursive_tree", arguments, "common")
            for name in ("x" * 100_000, "天气预报 ", "\u200b", "emoji_☀️_🌧\x00"):
                assert await _call(client, name, {}, "names") == "error"  # unknown, answered at once
            oversized = await _call(client, "recursive_input", {"name": "z" * 5_000_000}, "big")
            assert oversized in ("refused", "error")

    anyio.run(main)
    health = _alive(server)
    assert health["calls"].get("ok", 0) > 0
    print("\nhostile (fixed):", TALLY.line())


NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1,
                max_size=24)
PATTERNS = st.sampled_from(["^(a+)+$", "^(a|aa)+$", "(x+x+)+y", "^(a|a?)+$", "^(?=(a+)+b)", "(\\w+\\s?)*$",
                            "^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|"
                            "([a-z]{2,3}[.]{1}[a-z]{2,3}))$"])
LEAVES = st.one_of(
    st.fixed_dictionaries({"type": st.just("string")}, optional={
        "pattern": PATTERNS, "minLength": st.sampled_from([0, 10, 10**4, 10**9]),
        "maxLength": st.sampled_from([0, 5, 10**9])}),
    st.fixed_dictionaries({"type": st.just("array")}, optional={
        "minItems": st.sampled_from([0, 100, 10**6, 10**9]), "items": st.just({"$ref": "#"})}),
    st.fixed_dictionaries({"type": st.just("object")}, optional={
        "minProperties": st.sampled_from([1, 1000, 10**6]), "additionalProperties": st.just({"$ref": "#"})}),
    st.just({"$ref": "#"}), st.just({"$ref": "#/properties/a"}),
    st.fixed_dictionaries({"type": st.just("integer")}, optional={
        "minimum": st.sampled_from([-(10**300), 0, 10**300]), "multipleOf": st.sampled_from([1e-300, 7, 0.5])}),
)


def hostile_schema() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"type": st.just("object"), "properties": st.dictionaries(
        st.sampled_from(["a", "b", "c", "ключ", "🔑"]), LEAVES, min_size=1, max_size=4)},
        optional={"required": st.lists(st.sampled_from(["a", "b", "c", "ключ", "🔑"]), max_size=3, unique=True)})


HOSTILE_VALUES = st.one_of(
    st.just("a" * 3000 + "!"), st.just("a" * 30 + "b"), st.text(max_size=50),
    st.builds(_nested, st.integers(1, 240)), st.lists(st.integers(), max_size=2000),
    st.integers(-(10**300), 10**300), st.just("\U0001f600" * 10_000),
)


ARGUMENT_KEYS = st.sampled_from(["a", "b", "c", "ключ", "🔑"])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(tools=st.lists(st.tuples(NAMES, hostile_schema(), hostile_schema(),
                                st.dictionaries(ARGUMENT_KEYS, HOSTILE_VALUES, max_size=3)), min_size=1, max_size=3))
def test_random_hostile_definitions(server: ServerProcess, tools: list[tuple[str, dict, dict, dict]]) -> None:
    n = TALLY.definitions
    defs = [{"name": f"h{n}_{i}_{name}", "inputSchema": inputs, "outputSchema": outputs}
            for i, (name, inputs, outputs, _) in enumerate(tools)]
    response = httpx.post(f"{server.base}/admin/tools", json={"tools": defs}, timeout=CALL_BUDGET_S)
    assert response.status_code in (201, 400), response.text  # accepted, or refused naming the problem
    if response.status_code == 400:
        assert all(p["pointer"] is not None and p["message"] for p in response.json()["problems"])
        return
    added = response.json()["added"]
    TALLY.definitions += len(added)

    async def main() -> None:
        async with Client(server.url) as client:
            for tool, (_, _, _, arguments) in zip(defs, tools, strict=True):
                await _call(client, tool["name"], {}, "random")
                await _call(client, tool["name"], arguments, "random")

    try:
        anyio.run(main)
    finally:
        for name in added:
            httpx.delete(f"{server.base}/admin/tools/{name}", timeout=CALL_BUDGET_S)
    _alive(server)


def test_report_hostile_figures(server: ServerProcess, tmp_path: Path) -> None:
    """Runs last in this module: the figures of both hostile tests, and the server still serving."""
    health = _alive(server)
    log = server.log.read_text(errors="replace") if server.log else ""
    crashes = log.count("raised [")  # a backend raised (the agent saw a log id): worth a look, not a hang
    print(f"\nhostile (all): {TALLY.line()}; server outcomes {health['calls']}; backend exceptions {crashes}")
    assert TALLY.calls >= 80 and TALLY.worst < CALL_BUDGET_S
