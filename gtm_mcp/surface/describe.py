"""Descriptions for tools whose source has none: MCP clients (and the conformance suite) expect
every listed tool to carry one, and agents choose tools by it.

The description is derived from the tool's name and input schema ("Get order. Parameters:
order_id (string, required), include_items (boolean)."), and the listed tool is marked with
`_meta["gtm-mcp/description"] = "derived"`. The definition itself keeps its empty description, so
model prompts and training data render exactly as the source defined the tool.
"""

from __future__ import annotations

import re
from typing import Any

from gtm_mcp.contract.definition import ToolDefinition

#: `_meta` key marking a listed tool whose description was derived (value "derived").
META_DESCRIPTION = "gtm-mcp/description"
MAX_PARAMETERS = 8


def _phrase(name: str) -> str:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    words = [w for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]
    text = " ".join(w.lower() if not w.isupper() or len(w) <= 1 else w for w in words) or name
    return text[0].upper() + text[1:]


def _type(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "any"
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = "/".join(str(k) for k in kind)
    if "enum" in schema and isinstance(schema["enum"], list):
        shown = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in schema["enum"][:5])
        return f"one of {shown}" + (", ..." if len(schema["enum"]) > 5 else "")
    if kind == "array" and isinstance(schema.get("items"), dict) and schema["items"].get("type"):
        return f"array of {schema['items']['type']}"
    return str(kind or "any")


def derived_description(tool: ToolDefinition) -> str:
    """A one-line description from the tool's name and input schema."""
    properties = tool.input_schema.get("properties") or {}
    required = set(tool.input_schema.get("required") or [])
    text = _phrase(tool.name) + "."
    if isinstance(properties, dict) and properties:
        shown = [f"{name} ({_type(schema)}{', required' if name in required else ''})"
                 for name, schema in list(properties.items())[:MAX_PARAMETERS]]
        more = f", and {len(properties) - MAX_PARAMETERS} more" if len(properties) > MAX_PARAMETERS else ""
        text += " Parameters: " + ", ".join(shown) + more + "."
    else:
        text += " Takes no parameters."
    return text


def listed_description(tool: ToolDefinition) -> tuple[str, dict[str, Any] | None]:
    """(description to list, `_meta` marking it derived or None)."""
    if tool.description.strip():
        return tool.description, None
    return derived_description(tool), {META_DESCRIPTION: "derived"}
