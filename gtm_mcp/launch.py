"""Starting servers as child processes: `gtm-mcp serve` over HTTP, or any command with an HTTP
readiness URL (a model server). Used by the tests and benchmarks, and by RL harnesses that run
one server per worker:

    from gtm_mcp.launch import serve_http

    with serve_http("--tools", "tools.json", "--seed", "3") as server:
        ...  # MCP at server.url, health at server.base + "/healthz"
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(log: Path | None) -> str:
    return log.read_text(errors="replace")[-4000:] if log and log.exists() else "(no log kept)"


@contextmanager
def spawned(cmd: Sequence[str], ready_url: str, *, log: Path | None = None, env: dict[str, str] | None = None,
            cwd: str | Path | None = None, ready_s: float = 60.0,
            stop_s: float = 10.0) -> Iterator[subprocess.Popen[bytes]]:
    """Run `cmd` until the block ends; enter once `ready_url` answers below HTTP 500. Output goes to
    `log` (or nowhere). Raises RuntimeError with the log's tail if the process dies or is late."""
    out = log.open("wb") if log else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(list(cmd), cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})})
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    try:
        deadline = time.monotonic() + ready_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited with {proc.returncode} before it was ready:\n{_tail(log)}")
            try:
                if httpx.get(ready_url, timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{ready_url} did not answer within {ready_s:g} s:\n{_tail(log)}")
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(stop_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(stop_s)


class LaunchedServer:
    """A running `gtm-mcp serve --transport http`."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path | None) -> None:
        self.proc, self.port, self.log = proc, port, log
        self.base = f"http://127.0.0.1:{port}"
        self.url = f"{self.base}/mcp"

    def healthz(self) -> dict:
        return httpx.get(f"{self.base}/healthz", timeout=10).json()

    def logs(self) -> str:
        return _tail(self.log)


@contextmanager
def serve_http(*args: str, log: Path | None = None, env: dict[str, str] | None = None,
               ready_s: float = 60.0) -> Iterator[LaunchedServer]:
    """`gtm-mcp serve ARGS --transport http` on a free port, entered once /healthz answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "gtm_mcp", "serve", *args, "--transport", "http", "--port", str(port)]
    with spawned(cmd, f"http://127.0.0.1:{port}/healthz", log=log, env=env, ready_s=ready_s) as proc:
        yield LaunchedServer(proc, port, log)
