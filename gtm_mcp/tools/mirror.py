"""Mirroring: the tool list of a live MCP server (a URL, or a command started over stdio)."""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable
from typing import Any

from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.tools.loader import parse_document


def _target(spec: str) -> Any:
    from mcp import StdioServerParameters

    if spec.startswith(("http://", "https://")):
        return spec
    argv = shlex.split(spec)
    if not argv:
        raise ValueError("mirror target is empty: give an http(s) URL or a command line")
    return StdioServerParameters(command=argv[0], args=argv[1:])


async def list_all_tools(client: Any) -> list[dict[str, Any]]:
    """Every `tools/list` entry of a connected client's server (MCP wire form), following cursors."""
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.list_tools(cursor=cursor)
        entries += [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in page.tools]
        cursor = page.next_cursor
        if not cursor:
            return entries


async def fetch_tool_list(spec: str, *, timeout_s: float = 60.0,
                          inspect: Callable[[Any, list[dict[str, Any]]], Awaitable[None]] | None = None,
                          ) -> list[dict[str, Any]]:
    """The server's `tools/list` entries (MCP wire form), following pagination cursors. `inspect`
    (client, entries) runs on the same connection afterwards (mirror_profile.py's detection)."""
    import anyio
    from mcp import Client

    with anyio.fail_after(timeout_s):
        async with Client(_target(spec)) as client:
            entries = await list_all_tools(client)
            if inspect is not None:
                await inspect(client, entries)
    return entries


async def mirror_tools(spec: str, *, timeout_s: float = 60.0) -> list[ToolDefinition]:
    """The live server's tools as definitions; raises ToolLoadError naming each bad one."""
    from gtm_mcp.contract.errors import ToolLoadError

    entries = await fetch_tool_list(spec, timeout_s=timeout_s)
    tools, problems = parse_document({"tools": entries}, f"mirror:{spec}", "mcp", kind="mirror")
    if problems:
        raise ToolLoadError(problems)
    return tools
