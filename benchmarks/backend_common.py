"""Shared helpers for the backend benchmarks: free ports, starting `gtm-mcp serve` over HTTP,
calling it with the MCP SDK client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tests" / "gtm_mcp" / "backends" / "model_tools.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen[bytes], ready_s: float) -> None:
    deadline = time.time() + ready_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.time() > deadline:
            raise RuntimeError(f"{url} not ready after {ready_s} s")
        time.sleep(0.2)


@contextmanager
def process(cmd: list[str], ready_url: str, *, ready_s: float = 60, env: dict[str, str] | None = None,
            log: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    out = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    try:
        wait_http(ready_url, proc, ready_s)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def gtm_server(*args: str, tools: Path = TOOLS) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "gtm_mcp", "serve", "--tools", str(tools), "--transport", "http",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", *args]
    with process(cmd, f"http://127.0.0.1:{port}/healthz"):
        yield f"http://127.0.0.1:{port}/mcp"


async def mcp_call(client: Any, tool: str, arguments: dict[str, Any], session: str) -> Any:
    return await client.call_tool(tool, arguments, meta={"gtm-mcp/session": session})
