"""The toolsdk MCP registry (`packages-list.json`): package → category and tool names/descriptions.

The registry has no schemas: each tool gets an open input schema (any object).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gtm_mcp.contract.errors import json_pointer
from gtm_mcp.tools.formats import Entry

NAME = "toolsdk"


def detect(doc: Any) -> bool:
    if not isinstance(doc, dict) or not doc or "tools" in doc:
        return False
    values = list(doc.values())[:20]
    return all(isinstance(v, dict) and "category" in v and "path" in v for v in values)


def entries(doc: Any) -> Iterator[Entry]:
    for package, value in doc.items():
        tools = value.get("tools") if isinstance(value, dict) else None
        if not tools:
            continue  # packages listed without their tools
        for key, tool in tools.items():
            pointer = json_pointer((package, "tools", key))
            if not isinstance(tool, dict):
                yield Entry(pointer, problem="expected {\"name\", \"description\"}")
                continue
            fields: dict[str, Any] = {
                "name": str(tool.get("name") or key),
                "description": tool.get("description") or "",
                "input_schema": {"type": "object"},
                "server": package,
            }
            if value.get("category"):
                fields["domains"] = (str(value["category"]),)
            yield Entry(pointer, fields)
