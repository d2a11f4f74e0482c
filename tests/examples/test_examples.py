"""Every example in examples/ runs offline (schema backend, scripted or test LLMs) and shows what
it claims: the scripts as subprocesses, as a user runs them; the client configs by starting the
server they describe and calling it with the official MCP client."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import anyio
import pytest
from conftest import REPO, run_server

EXAMPLES = REPO / "examples"


def run_example(*args: str, timeout: float = 240) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{args[0]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_openai_agents_example() -> None:
    out = run_example("examples/openai_agents_agent.py")
    assert "tool create_order(" in out and "tool get_order(" in out
    assert "get_order returned the order create_order made: yes" in out


def test_pydantic_ai_example() -> None:
    out = run_example("examples/pydantic_ai_agent.py")
    assert "consistent within the episode: yes; isolated from the other episode: yes" in out


@pytest.mark.parametrize("mode", [(), ("--in-process",)], ids=["mcp", "in-process"])
def test_rl_rollout_example(mode: tuple[str, ...]) -> None:
    out = run_example("examples/rl_rollout.py", "--episodes", "24", "--concurrency", "8", *mode)
    assert "consistent within the episode: 24/24" in out
    assert "episodes that saw another episode's order: 0" in out


def test_art_mcp_rl_example() -> None:
    # find_spec, never import: importing openpipe-art patches transformers' masking for the whole
    # process, and the local-backend tests that run later in this pytest process then fail.
    if importlib.util.find_spec("art") is None:
        pytest.skip("openpipe-art is not installed (pip install 'gtm-mcp[rl]')")
    out = run_example("examples/art/mcp_rl.py", "--offline", "--scenarios", "1", "--rollouts", "2")
    assert "1 groups scored by RULER, 2 rollouts, each its own gtm-mcp session" in out
    assert "RULER reward" in out and "completed=True" in out


def test_client_configs_start_a_working_server(tmp_path) -> None:
    from mcp import Client, StdioServerParameters

    claude = json.loads((EXAMPLES / "claude_desktop_config.json").read_text())["mcpServers"]["simulated-shop"]
    cursor = json.loads((EXAMPLES / "cursor_mcp.json").read_text())["mcpServers"]
    assert claude["command"] == "gtm-mcp" and cursor["simulated-shop-stdio"]["command"] == "gtm-mcp"
    args = [a if not a.endswith("shop_tools.json") else str(EXAMPLES / "shop_tools.json") for a in claude["args"]]
    stdio = StdioServerParameters(command=sys.executable, args=["-m", "gtm_mcp", *args], cwd=str(REPO),
                                  env={**os.environ, "PYTHONPATH": str(REPO)})

    async def use(target) -> set[str]:
        async with Client(target) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            result = await client.call_tool("create_order", {"product": "lamp", "quantity": 1})
            assert not result.is_error
            return names

    assert anyio.run(use, stdio) == {"create_order", "get_order", "list_orders", "cancel_order"}
    url = cursor["simulated-shop"]["url"]
    assert url.startswith("http://127.0.0.1:8765/mcp/")
    with run_server("--tools", str(EXAMPLES / "shop_tools.json"), tmp_path=tmp_path) as server:
        assert "get_order" in anyio.run(use, url.replace("127.0.0.1:8765", f"127.0.0.1:{server.port}"))
