"""Shared fixtures: the real data sets beside the repo, free ports, real server subprocesses."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
LIVEMCPBENCH = DATA / "livemcpbench" / "tools.json"
SEAL_TOOLS = DATA / "seal-tools" / "tool.jsonl"
STABLETOOLBENCH = DATA / "stabletoolbench"
TOOLSDK = DATA / "toolsdk-mcp-registry" / "packages-list.json"
EXAMPLE_TOOLS = REPO / "gtm_mcp" / "examples" / "tools.json"


def need(path: Path) -> Path:
    """The data file, or a skip naming it when ../shared is absent from this checkout."""
    if not path.exists():
        pytest.skip(f"shared data {path} is not present beside the repo (../shared/data)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(self, proc: subprocess.Popen, port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log
        self.base = f"http://127.0.0.1:{port}"
        self.url = f"{self.base}/mcp"

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def run_server(*args: str, tmp_path: Path, env: dict[str, str] | None = None,
               timeout: float = 60.0) -> Iterator[ServerProcess]:
    """`python -m gtm_mcp serve ARGS --transport http --port N` as a real process, up once /healthz answers."""
    port = free_port()
    log = tmp_path / f"server-{port}.log"
    cmd = [sys.executable, "-m", "gtm_mcp", "serve", *args, "--transport", "http", "--port", str(port)]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
                                env={**os.environ, **(env or {})})
    server = ServerProcess(proc, port, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{server.logs()}")
            try:
                if httpx.get(f"{server.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not come up in {timeout} s:\n{server.logs()}")
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def livemcpbench_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with run_server("--tools", str(need(LIVEMCPBENCH)), tmp_path=tmp_path_factory.mktemp("srv")) as server:
        yield server


@pytest.fixture(scope="module")
def example_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with run_server(tmp_path=tmp_path_factory.mktemp("srv")) as server:
        yield server
