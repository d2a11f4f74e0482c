"""Shared fixtures: the real data sets beside the repo, free ports, real server subprocesses."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gtm_mcp.launch import LaunchedServer, free_port, serve_http

__all__ = ["free_port"]
ServerProcess = LaunchedServer

REPO = Path(__file__).resolve().parents[1]
# ../shared/data beside the checkout; SHARED_DATA (or GTM_SHARED_DATA) names it elsewhere (a worktree).
DATA = Path(os.environ.get("SHARED_DATA") or os.environ.get("GTM_SHARED_DATA") or REPO.parent / "shared" / "data")
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


def run_server(*args: str, tmp_path: Path, env: dict[str, str] | None = None, timeout: float = 60.0):
    """`python -m gtm_mcp serve ARGS --transport http` as a real process, up once /healthz answers."""
    return serve_http(*args, log=tmp_path / f"server-{len(list(tmp_path.glob('server-*.log')))}.log", env=env,
                      ready_s=timeout)


@pytest.fixture(scope="module")
def livemcpbench_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with run_server("--tools", str(need(LIVEMCPBENCH)), tmp_path=tmp_path_factory.mktemp("srv")) as server:
        yield server


@pytest.fixture(scope="module")
def example_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with run_server(tmp_path=tmp_path_factory.mktemp("srv")) as server:
        yield server


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny random Qwen2 folder (tests/tiny_model.py), built once per test run."""
    from tiny_model import tiny_random_qwen2

    return str(tiny_random_qwen2(tmp_path_factory.mktemp("tiny-model")))
