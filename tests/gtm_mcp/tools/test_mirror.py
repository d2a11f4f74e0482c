"""Mirroring the tool list of a live MCP server, over HTTP and over stdio."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
from conftest import REPO, run_server
from mcp import Client

from gtm_mcp.tools.mirror import mirror_tools


def test_mirror_a_live_http_server_then_serve_its_tools(example_server, tmp_path: Path) -> None:
    tools = anyio.run(mirror_tools, example_server.url)
    assert len(tools) == 10
    weather = next(t for t in tools if t.name == "get_weather")
    assert weather.output_schema["required"] == ["city", "temperature", "unit", "conditions"]
    # A second server simulates the first one's tools, copied live at start.
    with run_server("--mirror", example_server.url, tmp_path=tmp_path) as copy:
        async def call() -> dict:
            async with Client(copy.url) as client:
                assert len((await client.list_tools()).tools) == 10
                return (await client.call_tool("get_weather", {"city": "Quito"})).structured_content

        assert anyio.run(call)["city"] == "Quito"


def test_mirror_command_over_stdio_writes_a_tools_file(tmp_path: Path) -> None:
    out = tmp_path / "copied.json"
    command = f"{sys.executable} -m gtm_mcp serve --tools {REPO / 'gtm_mcp/examples/tools.json'}"
    done = subprocess.run([sys.executable, "-m", "gtm_mcp", "mirror", command, "-o", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(out.read_text())["tools"]) == 10
    check = subprocess.run([sys.executable, "-m", "gtm_mcp", "check", str(out)], cwd=REPO, capture_output=True,
                           text=True)
    assert check.returncode == 0
    unreachable = subprocess.run([sys.executable, "-m", "gtm_mcp", "mirror", "http://127.0.0.1:9/mcp"], cwd=REPO,
                                 capture_output=True, text=True, timeout=60)
    assert unreachable.returncode == 2 and "cannot list the tools of http://127.0.0.1:9/mcp" in unreachable.stderr
