"""Start the real `gtm-mcp serve` in a subprocess (streamable HTTP) and talk to it with the MCP SDK."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gtm_mcp.launch import LaunchedServer, serve_http

ROOT = Path(__file__).resolve().parents[3]
TOOLS = Path(__file__).with_name("model_tools.json")
SESSION_KEY = "gtm-mcp/session"
HIDDEN_KEY = "gtm-mcp/hidden-context"


@contextmanager
def gtm_server(*args: str, tmp: Path, tools: Path = TOOLS, ready_s: float = 60) -> Iterator[LaunchedServer]:
    with serve_http("--tools", str(tools), *args, log=tmp / "server.log", ready_s=ready_s) as server:
        yield server


async def call(url: str, tool: str, arguments: dict[str, Any], session: str | None = None,
               hidden: str | None = None) -> Any:
    from mcp import Client

    meta: dict[str, Any] = {}
    if session:
        meta[SESSION_KEY] = session
    if hidden:
        meta[HIDDEN_KEY] = hidden
    async with Client(url) as client:
        return await client.call_tool(tool, arguments, meta=meta or None)


def result_text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)
