"""Shared helpers for the backend benchmarks: free ports, starting `gtm-mcp serve` over HTTP,
calling it with the MCP SDK client."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gtm_mcp.launch import free_port, serve_http, spawned

__all__ = ["ROOT", "TOOLS", "free_port", "gtm_server", "mcp_call", "process"]

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tests" / "gtm_mcp" / "backends" / "model_tools.json"


@contextmanager
def process(cmd: list[str], ready_url: str, *, ready_s: float = 60, env: dict[str, str] | None = None,
            log: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    with spawned(cmd, ready_url, log=log, env=env, cwd=ROOT, ready_s=ready_s, stop_s=20) as proc:
        yield proc


@contextmanager
def gtm_server(*args: str, tools: Path = TOOLS) -> Iterator[str]:
    with serve_http("--tools", str(tools), "--log-level", "warning", *args) as server:
        yield server.url


async def mcp_call(client: Any, tool: str, arguments: dict[str, Any], session: str) -> Any:
    return await client.call_tool(tool, arguments, meta={"gtm-mcp/session": session})
