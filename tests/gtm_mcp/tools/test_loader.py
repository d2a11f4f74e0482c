"""Importers and the loader, on the real data sets and on broken files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import LIVEMCPBENCH, SEAL_TOOLS, STABLETOOLBENCH, TOOLSDK, need

from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.tools import ToolLoadError, load_lenient, load_tools


def test_all_livemcpbench_tools_load_with_shared_names_qualified() -> None:
    tools = load_tools([need(LIVEMCPBENCH)])
    assert len(tools) == 527
    names = {t.name for t in tools}
    assert len(names) == 527
    # 13 names are shared by several servers: each copy is qualified with its server key.
    assert {"filesystem__read_file", "desktop-commander__read_file"} <= names and "read_file" not in names
    assert "bing_search" in names  # names that are unique stay as the server has them
    read_pdf = next(t for t in tools if t.name == "read_pdf")
    assert read_pdf.input_validator.__class__.__name__ == "Draft4Validator"  # boolean exclusiveMinimum
    assert sum(t.output_schema is not None for t in tools) == 104
    assert all(t.domains and t.server for t in tools)


def test_namespace_never_refuses_shared_names() -> None:
    tools, problems = load_lenient([need(LIVEMCPBENCH)], namespace="never")
    assert len(tools) == 510
    assert problems and all("duplicate tool name" in p.message for p in problems)
    assert any(p.tool == "read_file" and p.pointer.startswith("/") for p in problems)


def test_all_seal_tools_load_with_typed_parameters_and_responses() -> None:
    tools = load_tools([need(SEAL_TOOLS)])
    assert len(tools) == 4076
    first = next(t for t in tools if t.name == "analyzeEvidence")
    assert first.input_schema["properties"]["sample"]["type"] == "string"
    assert first.input_schema["required"] == ["evidence_type", "method", "sample"]
    assert set(first.output_schema["properties"]) == {"analysis_results", "conclusion"}
    assert first.domains == ("Chemical Engineering/Forensic engineering",)
    assert any(t.name == "requestFirst_Aid_Assistance" for t in tools)  # a name with spaces, made callable


def test_all_stabletoolbench_apis_load_once() -> None:
    tools = load_tools([need(STABLETOOLBENCH)])
    assert len(tools) == 2479
    health = next(t for t in tools if t.name == "health_for_suivi_colis")
    assert health.output_schema["properties"]["checks"] == {"type": "array"}
    assert "GET endpoint of the suivi-colis API" in health.description
    types = {p.get("type") for t in tools for p in t.input_schema["properties"].values()}
    assert types <= {"string", "number", "boolean", "array", "object"}


def test_toolsdk_registry_loads_all_8010_tools() -> None:
    tools = load_tools([need(TOOLSDK)])
    assert len(tools) == 8010
    assert all(t.input_schema == {"type": "object"} and t.server for t in tools)


@pytest.mark.parametrize("doc,fmt", [
    ({"tools": [{"name": "a", "inputSchema": {"type": "object"}}]}, "mcp"),
    ({"jsonrpc": "2.0", "id": 1, "result": {"tools": [{"name": "a", "inputSchema": {"type": "object"}}]}}, "mcp"),
    ([{"type": "function", "function": {"name": "a", "parameters": {"type": "object"}}}], "openai"),
    ({"functions": [{"name": "a", "description": "d", "parameters": {"type": "object"}}]}, "openai"),
    ({"format": "gtm", "tools": [{"name": "a", "input_schema": {"type": "object"}, "domains": ["x"]}]}, "gtm"),
])
def test_formats_are_detected(tmp_path: Path, doc, fmt: str) -> None:
    path = tmp_path / "tools.json"
    path.write_text(json.dumps(doc))
    tools = load_tools([path])
    assert [t.name for t in tools] == ["a"]
    assert tools[0].input_schema["type"] == "object"


def test_yaml_jsonl_and_directories(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.yaml").write_text("- name: a\n  inputSchema: {type: object}\n")
    (tmp_path / "sub" / "b.jsonl").write_text('{"name": "b", "input_schema": {"type": "object"}}\n\n'
                                              '{"name": "c", "input_schema": {"type": "object"}}\n')
    (tmp_path / "notes.txt").write_text("ignored")
    assert sorted(t.name for t in load_tools([tmp_path])) == ["a", "b", "c"]


def test_problems_name_file_tool_and_pointer(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text(
        '{"name": "ok", "input_schema": {"type": "object"}}\n'
        '{"name": "broken", "input_schema": {"type": "object", "properties": {"x": {"type": "strng"}}}}\n')
    (tmp_path / "syntax.json").write_text('{"tools": [')
    (tmp_path / "mcp.json").write_text(json.dumps({"tools": [
        {"name": "out", "inputSchema": {"type": "object"}, "outputSchema": {"type": "array"}},
        {"name": "ref", "inputSchema": {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}}]}))
    with pytest.raises(ToolLoadError) as caught:
        load_tools([tmp_path])
    problems = {(Path(p.file).name, p.tool, p.pointer): p.message for p in caught.value.problems}
    assert ("bad.jsonl:2", "broken", "/input_schema/properties/x/type") in problems
    assert ("mcp.json", "out", "/tools/0/outputSchema/type") in problems
    assert ("mcp.json", "ref", "/tools/1/inputSchema/properties/a/$ref") in problems
    syntax = next(m for (f, _, _), m in problems.items() if f == "syntax.json")
    assert "invalid JSON at line 1" in syntax
    assert "bad.jsonl:2" in str(caught.value)


def test_unknown_format_and_missing_path(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"hello": 1}')
    tools, problems = load_lenient([tmp_path / "x.json", tmp_path / "nope.json"])
    assert not tools
    messages = {Path(p.file).name: p.message for p in problems}
    assert "no tool definitions recognised" in messages["x.json"]
    assert messages["nope.json"] == "no such file or directory"


def test_definition_contract() -> None:
    tool = ToolDefinition(name="t", input_schema={"properties": {"a": {"type": "string"}}})
    assert tool.input_schema["type"] == "object"  # MCP needs it explicit
    assert tool.to_mcp()["inputSchema"]["type"] == "object"
    with pytest.raises(ValueError, match="without whitespace"):
        ToolDefinition(name="has space")


def test_gtm_format_round_trips_every_livemcpbench_tool(tmp_path: Path) -> None:
    """`to_gtm` writes the GTM unified format that the `gtm` importer reads back unchanged."""
    tools = load_tools([need(LIVEMCPBENCH)])
    path = tmp_path / "tools.jsonl"
    path.write_text("\n".join(json.dumps(t.to_gtm(), ensure_ascii=False) for t in tools))
    again = load_tools([path])
    assert [t.identity() for t in again] == [t.identity() for t in tools]
    assert [(t.output_schema, t.domains) for t in again] == [(t.output_schema, t.domains) for t in tools]
    assert "source" not in tools[0].to_gtm()


def test_ref_loops_that_never_descend_are_refused_at_load_time() -> None:
    """`{"$ref": "#"}` at its own root (found by the fuzz tests: every check recursed without end)
    and loops through allOf/anyOf are refused with the pointer; recursion through properties is fine."""
    from gtm_mcp.tools.loader import parse_document

    doc = [{"name": "root_loop", "inputSchema": {"type": "object", "$ref": "#"}},
           {"name": "defs_loop", "inputSchema": {"type": "object"}, "outputSchema": {
               "type": "object", "$defs": {"x": {"allOf": [{"$ref": "#/$defs/y"}]},
                                           "y": {"anyOf": [{"$ref": "#/$defs/x"}]}},
               "properties": {"p": {"$ref": "#/$defs/x"}}}},
           {"name": "tree", "inputSchema": {"type": "object", "properties": {"l": {"$ref": "#"}, "r": {"$ref": "#"}}}}]
    tools, problems = parse_document(doc, "loops.json")
    assert [t.name for t in tools] == ["tree"]
    assert [(p.tool, p.pointer) for p in problems] == [("root_loop", "/0/inputSchema"),
                                                        ("defs_loop", "/1/outputSchema/$defs/x")]
    assert all("never reads deeper" in p.message for p in problems)
