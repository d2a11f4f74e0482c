"""Start the real `gtm-mcp serve` in a subprocess (streamable HTTP) and talk to it with the MCP SDK."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from openai_fakes import free_port

ROOT = Path(__file__).resolve().parents[3]
TOOLS = Path(__file__).with_name("model_tools.json")
SESSION_KEY = "gtm-mcp/session"
HIDDEN_KEY = "gtm-mcp/hidden-context"


class RunningServer:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log
        self.url = f"http://127.0.0.1:{port}/mcp"

    def healthz(self) -> dict[str, Any]:
        return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=10).json()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def gtm_server(*args: str, tmp: Path, tools: Path = TOOLS, ready_s: float = 60) -> Iterator[RunningServer]:
    port = free_port()
    log = tmp / f"server-{port}.log"
    cmd = [sys.executable, "-m", "gtm_mcp", "serve", "--tools", str(tools), "--transport", "http",
           "--host", "127.0.0.1", "--port", str(port), *args]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ})
    server = RunningServer(proc, port, log)
    try:
        deadline = time.time() + ready_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gtm-mcp serve exited with {proc.returncode}:\n{server.log_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"gtm-mcp serve not ready in {ready_s} s:\n{server.log_text()}")
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


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
