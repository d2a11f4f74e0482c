from __future__ import annotations

import pytest

from gtm_mcp.contract import DuplicateToolError, Origin, ToolDefinition
from gtm_mcp.tools.catalog import ToolCatalog


def tool(name: str, source: str = "a.json#/0", line: int | None = None) -> ToolDefinition:
    file, _, pointer = source.partition("#")
    return ToolDefinition(name=name, origin=Origin(file=file, line=line, pointer=pointer))


def test_add_is_all_or_nothing_and_duplicates_are_refused() -> None:
    changes: list[int] = []
    catalog = ToolCatalog([tool("a")])
    catalog.on_change(lambda: changes.append(catalog.version))
    with pytest.raises(DuplicateToolError, match=r"'a'.*already registered.*a\.json"):
        catalog.add([tool("b"), tool("a", "b.json#/1")])
    assert catalog.names() == ["a"] and changes == []
    catalog.add([tool("b")])
    assert catalog.remove(["a", "zzz"]) == ["a"]
    assert changes == [2, 3]


def test_replace_file_swaps_one_files_tools() -> None:
    catalog = ToolCatalog([tool("a", "x.json#/0"), tool("b", "y.json#/0")])
    added, removed = catalog.replace_file("x.json", [tool("c", "x.json#/0")])
    assert (added, removed) == (["c"], ["a"])
    assert sorted(catalog.names()) == ["b", "c"]
    with pytest.raises(DuplicateToolError):
        catalog.replace_file("x.json", [tool("b", "x.json#/0")])
    assert sorted(catalog.names()) == ["b", "c"]


def test_replace_file_finds_json_lines_tools_by_file_whatever_their_line() -> None:
    """Watched .jsonl files: tools carry `file:LINE` origins and must still be replaced by file."""
    catalog = ToolCatalog([tool("a", "t.jsonl#", line=1), tool("b", "t.jsonl#", line=2), tool("z", "u.jsonl#", line=1)])
    added, removed = catalog.replace_file("t.jsonl", [tool("a", "t.jsonl#", line=1)])
    assert (added, removed) == ([], ["b"])
    assert sorted(catalog.names()) == ["a", "z"]


def test_closest_names() -> None:
    catalog = ToolCatalog([tool(n) for n in ["get_weather", "get_forecast", "send_email"]])
    assert catalog.closest("get_wether")[0] == "get_weather"
