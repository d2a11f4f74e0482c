"""veRL against the real server, through the exact interface veRL uses (veRL itself needs torch,
ray and a GPU stack, so its few calls are reproduced here from its source, volcengine/verl at
b178a3c):

- `verl/tools/utils/mcp_clients/McpClientManager.py`: one fastmcp `Client` built from the
  MCP-servers JSON (no `auth_token`: the `{"mcpServers": ...}` config), `list_tools_mcp()`,
  `mcp2openai` (parameters = inputSchema, `required` defaulted to []);
- `verl/tools/schemas.py`: `OpenAIFunctionToolSchema.model_validate` (its models, field for field,
  are `VerlTool` & co below);
- `verl/tools/utils/tool_registry.py`: the class named by `class_name`, built as
  `tool_cls(config=<config block>, tool_schema=<validated schema>)`;
- `verl/experimental/agent_loop/tool_agent_loop.py::_call_tool`: for EVERY call
  `create(create_kwargs=...)` -> `execute(instance_id, args, agent_data=agent_data)` -> `release`.
"""

from __future__ import annotations

import importlib
import json
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import httpx
import pytest
import yaml
from conftest import EXAMPLE_TOOLS, LIVEMCPBENCH, REPO, need, run_server
from pydantic import BaseModel, Field, ValidationError

from gtm_mcp.envs.verl import GTMTool, export_verl
from gtm_mcp.tools.loader import load_lenient

EXAMPLE = REPO / "examples" / "verl"


class VerlProperty(BaseModel):  # verl.tools.schemas.OpenAIFunctionPropertySchema
    type: str
    description: str | None = None
    enum: list[str] | None = None


class VerlParameters(BaseModel):  # OpenAIFunctionParametersSchema
    type: str
    properties: dict[str, VerlProperty]
    required: list[str]


class VerlFunction(BaseModel):  # OpenAIFunctionSchema
    name: str
    description: str
    parameters: VerlParameters = Field(default_factory=lambda: VerlParameters(type="object", properties={},
                                                                               required=[]))
    strict: bool = False


class VerlTool(BaseModel):  # OpenAIFunctionToolSchema
    type: str
    function: VerlFunction


def mcp2openai(tool: Any) -> dict[str, Any]:
    parameters = dict(tool.input_schema)
    if not parameters.get("required"):
        parameters["required"] = []
    return {"type": "function", "function": {"name": tool.name, "description": tool.description,
                                             "parameters": parameters, "strict": False}}


def test_export_makes_every_livemcpbench_tool_acceptable_to_verl() -> None:
    tools, _ = load_lenient([str(need(LIVEMCPBENCH))])
    raw_failures = [t.name for t in tools if not _accepted(t.to_mcp())]
    document, changes = export_verl(tools)
    assert raw_failures and set(raw_failures) <= set(changes)  # served as is, veRL would refuse to start
    assert all(_accepted(entry) for entry in document["tools"])
    # what veRL drops reaches the policy in the description; the server still checks the real schema
    exported = {e["name"]: e for e in document["tools"]}
    example = next(n for n, c in changes.items() if any("no usable type" in x for x in c))
    assert all(isinstance(p["type"], str) for p in exported[example]["inputSchema"]["properties"].values())


def _accepted(entry: dict[str, Any]) -> bool:
    tool = SimpleNamespace(name=entry["name"], description=entry.get("description"), input_schema=entry["inputSchema"])
    try:
        VerlTool.model_validate(mcp2openai(tool))
    except ValidationError:
        return False
    return True


class AgentData(SimpleNamespace):
    """The part of veRL's AgentData a tool sees: `request_id` (uuid4().hex per rollout)."""


async def verl_call(tool: Any, arguments: dict[str, Any], agent_data: AgentData,
                    create_kwargs: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """veRL's `_call_tool`: a fresh instance for this one call, released right after."""
    instance_id, _ = await tool.create(create_kwargs=create_kwargs or {})
    try:
        response, _, metrics = await tool.execute(instance_id, arguments, agent_data=agent_data)
    finally:
        await tool.release(instance_id)
    return response.text, metrics


@pytest.fixture(scope="module")
def verl_server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("verl")
    tools, _ = load_lenient([str(EXAMPLE_TOOLS)])
    exported = folder / "verl_tools.json"
    exported.write_text(json.dumps(export_verl(tools)[0]))
    with run_server("--tools", str(exported), tmp_path=folder) as server:
        yield server, folder


def load_verl_tools(url: str, folder: Path) -> tuple[list[Any], Any]:
    """veRL's initialisation from the shipped tool config, with the test server's URL."""
    from fastmcp import Client

    config = yaml.safe_load((EXAMPLE / "gtm_tool_config.yaml").read_text())["tools"][0]
    servers = json.loads((REPO / config["mcp"]["mcp_servers_config_path"]).read_text())
    assert all("auth_token" not in s for s in servers["mcpServers"].values())  # else veRL speaks SSE
    for server in servers["mcpServers"].values():
        server["url"] = url
    client = Client(servers)

    async def schemas() -> list[dict[str, Any]]:
        async with client:
            return [mcp2openai(t) for t in (await client.list_tools_mcp()).tools]

    module, _, name = config["class_name"].rpartition(".")
    tool_cls = getattr(importlib.import_module(module), name)
    assert config["config"]["type"] == "mcp" and "rate_limit" in config["config"]
    tools = [tool_cls(config=config["config"], tool_schema=VerlTool.model_validate(s)) for s in anyio.run(schemas)]
    return tools, client


def test_verl_rollouts_each_keep_their_own_world_across_create_execute_release(verl_server, monkeypatch) -> None:
    server, folder = verl_server
    tools, client = load_verl_tools(server.url, folder)
    by_name = {t.name: t for t in tools}
    assert {"create_order", "get_order", "list_orders", "get_weather"} <= set(by_name)
    monkeypatch.setattr(GTMTool, "client_for", lambda name: client)
    rollouts = [AgentData(request_id=uuid.uuid4().hex) for _ in range(4)]

    async def rollout(i: int, agent_data: AgentData, out: dict[str, Any]) -> None:
        text, metrics = await verl_call(by_name["create_order"], {"product": f"lamp-{i}", "quantity": i + 1},
                                        agent_data)
        assert not metrics["is_error"] and metrics["episode"] == agent_data.request_id
        order = json.loads(text)
        read, _ = await verl_call(by_name["get_order"], {"order_id": order["order_id"]}, agent_data)
        listed, _ = await verl_call(by_name["list_orders"], {}, agent_data)
        weather, _ = await verl_call(by_name["get_weather"], {"city": "Oslo"}, agent_data,
                                     {"hidden_context": json.dumps({"temperature": -10 - i})})
        out[agent_data.request_id] = (order, json.loads(read), listed, json.loads(weather))

    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with anyio.create_task_group() as tg:
            for i, agent_data in enumerate(rollouts):
                tg.start_soon(rollout, i, agent_data, out)
        return out

    out = anyio.run(main)
    for i, agent_data in enumerate(rollouts):
        order, read, listed, weather = out[agent_data.request_id]
        assert (read["order_id"], read["product"], read["quantity"]) == (order["order_id"], f"lamp-{i}", i + 1)
        assert order["order_id"] in listed and " " not in listed[:20]  # compact JSON
        others = [out[r.request_id][0]["order_id"] for r in rollouts if r is not agent_data]
        assert not any(other in listed for other in others)  # rollouts never see each other's world
        assert weather["temperature"] == -10 - i  # the sample's hidden context, via create_kwargs
    sessions = httpx.get(f"{server.base}/admin/sessions", timeout=10).json()["sessions"]
    calls = {s["key"]: s["calls"] for s in sessions}
    assert all(calls[r.request_id] == 4 for r in rollouts)


def test_stock_verl_client_path_shares_one_world_between_rollouts(verl_server) -> None:
    """What GTMTool fixes: veRL's MCPBaseTool calls `call_tool_mcp(name, parameters)` with no
    request id, so every rollout lands in the server's default session."""
    server, folder = verl_server
    _, client = load_verl_tools(server.url, folder)

    async def stock(product: str) -> str:
        async with client:
            result = await client.call_tool_mcp("create_order", {"product": product, "quantity": 1})
        return json.loads(result.content[0].text)["order_id"]

    async def main() -> tuple[str, str]:
        return await stock("first-rollout"), await stock("second-rollout")

    first, second = anyio.run(main)
    history = httpx.get(f"{server.base}/admin/sessions/default", timeout=10).json()["history"]
    ids = [c["result"]["order_id"] for c in history if c["tool"] == "create_order"]
    assert first in ids and second in ids
