"""The GTM unified format: `ToolDefinition` fields as snake_case JSON (documented in the README).

A file is one tool object, a list of them, JSON Lines of them, or `{"format": "gtm", "tools": [...]}`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gtm_mcp.tools.formats import Entry, items_of

NAME = "gtm"
KEYS = {"name", "description", "input_schema", "output_schema", "domains", "server", "check_profile",
        "output_content"}
#: keys of a GTM document besides its tools: the rest of the surface (gtm_mcp.tools.surface_formats)
SURFACE_KEYS = {"resources", "resource_templates", "prompts"}


def _is_tool(item: Any) -> bool:
    return isinstance(item, dict) and "name" in item and "input_schema" in item


def detect(doc: Any) -> bool:
    if isinstance(doc, dict) and doc.get("format") == NAME:
        return True
    return any(_is_tool(item) for _, item in items_of(doc, ("tools",)))


def entries(doc: Any) -> Iterator[Entry]:
    if isinstance(doc, dict) and "tools" not in doc and SURFACE_KEYS & set(doc):
        return  # a document of resources / prompts only
    for pointer, item in items_of(doc, ("tools",)):
        if not isinstance(item, dict):
            yield Entry(pointer, problem=f"expected a tool object, got {type(item).__name__}")
            continue
        unknown = sorted(set(item) - KEYS)
        if unknown:
            yield Entry(pointer, {"name": item.get("name")},
                        problem=f"unknown field(s) {unknown}; the GTM format has {sorted(KEYS)}",
                        problem_pointer=f"{pointer}/{unknown[0]}")
            continue
        fields = dict(item)
        if isinstance(fields.get("domains"), list):
            fields["domains"] = tuple(fields["domains"])
        if isinstance(fields.get("output_content"), list):
            fields["output_content"] = tuple(fields["output_content"])
        yield Entry(pointer, fields)
