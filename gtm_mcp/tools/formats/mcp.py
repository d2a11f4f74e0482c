"""MCP `tools/list` entries: a tool, a list of them, a `tools/list` result or a JSON-RPC response."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gtm_mcp.contract.definition import OUTPUT_CONTENT_META
from gtm_mcp.tools.formats import Entry, items_of

NAME = "mcp"
#: The `_meta` key of an MCP tool entry naming its argument-checking profile (strict, pydantic, zod);
#: `gtm-mcp mirror` writes it, since `tools/list` has no field for it.
META_CHECK_PROFILE = "gtm-mcp/check-profile"


def _unwrap(doc: Any) -> tuple[str, Any]:
    if isinstance(doc, dict) and isinstance(doc.get("result"), dict) and "tools" in doc["result"]:
        return "/result", doc["result"]
    return "", doc


def _is_tool(item: Any) -> bool:
    return isinstance(item, dict) and "name" in item and "inputSchema" in item


def detect(doc: Any) -> bool:
    _, doc = _unwrap(doc)
    return any(_is_tool(item) for _, item in items_of(doc, ("tools",)))


def entries(doc: Any) -> Iterator[Entry]:
    prefix, doc = _unwrap(doc)
    for pointer, item in items_of(doc, ("tools",)):
        yield entry_of(item, prefix + pointer)


def entry_of(item: Any, pointer: str, server: str | None = None) -> Entry:
    if not isinstance(item, dict):
        return Entry(pointer, problem=f"expected an MCP tool object, got {type(item).__name__}")
    if not isinstance(item.get("name"), str):
        return Entry(pointer, problem="an MCP tool needs a string \"name\"", problem_pointer=pointer + "/name")
    fields: dict[str, Any] = {
        "name": item["name"],
        "description": item.get("description") or "",
        "input_schema": item.get("inputSchema"),
    }
    if item.get("outputSchema") is not None:
        fields["output_schema"] = item["outputSchema"]
    meta = item.get("_meta")
    if isinstance(meta, dict) and isinstance(meta.get(OUTPUT_CONTENT_META), list):
        fields["output_content"] = tuple(meta[OUTPUT_CONTENT_META])
    if server:
        fields["server"] = server
    meta = item.get("_meta")
    if isinstance(meta, dict) and meta.get(META_CHECK_PROFILE) is not None:
        fields["check_profile"] = meta[META_CHECK_PROFILE]
    return Entry(pointer, fields)
