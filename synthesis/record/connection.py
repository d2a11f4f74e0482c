"""Talking to the real server: connect (a URL, or a command over stdio, parsed by the mirror code),
list its tools through the server's importer, and call a tool keeping its answer EXACTLY as returned:

- `structuredContent` when the server sent it (a JSON object), else the text of its content;
- `isError` as the server set it; a JSON-RPC error (the server refused the request itself) is an
  error too, its message as the text, with `{"protocol_error": {code, message}}` in the call's meta;
- anything the text cannot carry (non-text blocks such as images or embedded resources, several text
  blocks, text that differs from the structured content) is kept as the MCP content blocks
  (`{"content": [...]}`) in the call's meta."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from gtm_mcp.contract import ToolDefinition
from gtm_mcp.tools.loader import parse_document
from gtm_mcp.tools.mirror import _target


@dataclass(frozen=True)
class RealOutput:
    result: dict[str, Any] | str
    is_error: bool
    meta: dict[str, Any] | None  # what the record's result cannot carry


@asynccontextmanager
async def connect(spec: str, *, env: dict[str, str] | None = None, cwd: str | Path | None = None,
                  errlog: TextIO | None = None) -> AsyncIterator[Any]:
    """An MCP `Client` to `spec` (URL or command line). For a command, `env` adds variables and the
    server's stderr goes to `errlog`."""
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    target = _target(spec)
    if isinstance(target, StdioServerParameters):
        target = target.model_copy(update={"env": {**(target.env or {}), **(env or {})} or None,
                                           "cwd": str(cwd) if cwd else None})
        transport = stdio_client(target, errlog=errlog) if errlog is not None else stdio_client(target)
        async with Client(transport) as client:
            yield client
    else:
        async with Client(target) as client:
            yield client


async def list_tools(client: Any, label: str, *, check_profile: str | None = "auto") -> list[ToolDefinition]:
    """The server's tools through the server's importer (MCP format); bad ones are left out. Each
    carries the server's argument-checking profile: detected as `gtm-mcp --mirror` does
    (`gtm_mcp.tools.mirror_profile`, which may call one read-only tool with a wrongly typed value)
    for `auto`, as given otherwise, none for None."""
    from gtm_mcp.tools.mirror import list_all_tools
    from gtm_mcp.tools.mirror_profile import detect, with_profile

    entries = await list_all_tools(client)
    if check_profile == "auto":
        check_profile = (await detect(client, entries)).profile
    if check_profile:
        entries = with_profile(entries, check_profile)
    tools, _problems = parse_document({"tools": entries}, f"mirror:{label}", "mcp", kind="mirror")
    return [t.model_copy(update={"server": t.server or label}) for t in tools]


def to_output(result: Any) -> RealOutput:
    """A `CallToolResult` as stored: see the module doc."""
    blocks = [b.model_dump(by_alias=True, exclude_none=True, mode="json") for b in (result.content or [])]
    texts = [b.get("text", "") for b in blocks if b.get("type") == "text"]
    text = "\n".join(texts)
    structured = result.structured_content
    is_error = bool(result.is_error)
    keep_blocks = len(texts) != len(blocks) or len(texts) > 1
    if isinstance(structured, dict) and not is_error:
        value: dict[str, Any] | str = structured
        try:
            same = bool(texts) and json.loads(text) == structured
        except json.JSONDecodeError:
            same = False
        keep_blocks = keep_blocks or not same
    else:
        value = text
    meta = {"content": blocks} if keep_blocks and blocks else None
    if meta is not None and isinstance(structured, dict) and is_error:
        meta["structured_content"] = structured
    return RealOutput(value, is_error, meta)


def protocol_error(error: Any) -> RealOutput:
    """A JSON-RPC error answer (`mcp.MCPError`) as an error output."""
    code, message = getattr(error, "code", None), getattr(error, "message", str(error))
    return RealOutput(str(message), True, {"protocol_error": {"code": code, "message": str(message)}})
