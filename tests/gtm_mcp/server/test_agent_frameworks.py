"""Real agent frameworks' MCP clients against the real server: pydantic-ai runs a whole agent loop
with its offline TestModel (no LLM), openai-agents lists and calls tools through its MCP client."""

from __future__ import annotations

import sys

import anyio
import pytest
from conftest import REPO


def test_pydantic_ai_agent_loop_over_streamable_http(example_server) -> None:
    from pydantic_ai import Agent
    from pydantic_ai.mcp import MCPToolset
    from pydantic_ai.models.test import TestModel

    server = MCPToolset(example_server.url)
    model = TestModel(call_tools=["get_weather", "web_search"])
    agent = Agent(model, toolsets=[server])

    async def main():
        async with agent:
            return await agent.run("What is the weather, and what does the web say about it?")

    result = anyio.run(main)
    returns = [part for message in result.all_messages() for part in message.parts
               if part.part_kind == "tool-return"]
    by_tool = {part.tool_name: part.content for part in returns}
    assert set(by_tool) == {"get_weather", "web_search"}
    assert isinstance(by_tool["get_weather"], dict) and "temperature" in by_tool["get_weather"]
    assert by_tool["web_search"]["results"] and by_tool["web_search"]["results"][0]["url"].startswith("https://")


def test_pydantic_ai_agent_gets_the_fix_for_bad_arguments(example_server) -> None:
    """TestModel fills `symbol` with "a", which breaks the tool's pattern: the isError text reaches
    the agent as a retry that says what to fix."""
    from pydantic_ai import Agent
    from pydantic_ai.exceptions import UnexpectedModelBehavior
    from pydantic_ai.mcp import MCPToolset
    from pydantic_ai.models.test import TestModel

    agent = Agent(TestModel(call_tools=["get_stock_quote"]), toolsets=[MCPToolset(example_server.url)])

    async def main():
        async with agent:
            return await agent.run("AAPL quote?")

    with pytest.raises(UnexpectedModelBehavior) as caught:
        anyio.run(main)
    retry = str(caught.value.__cause__)
    assert "[invalid value]" in retry and "symbol" in retry and "^[A-Z]{1,5}$" in retry


@pytest.mark.parametrize("transport", ["http", "stdio"])
def test_openai_agents_mcp_client(example_server, transport: str) -> None:
    from agents.mcp import MCPServerStdio, MCPServerStreamableHttp

    if transport == "http":
        server = MCPServerStreamableHttp({"url": example_server.url}, cache_tools_list=True)
    else:
        server = MCPServerStdio({"command": sys.executable, "args": ["-m", "gtm_mcp", "serve"], "cwd": str(REPO)})

    async def main():
        async with server:
            tools = await server.list_tools()
            weather = await server.call_tool("get_weather", {"city": "Oslo"})
            bad = await server.call_tool("get_weather", {"city": "Oslo", "unit": "kelvin"})
            return tools, weather, bad

    tools, weather, bad = anyio.run(main)
    assert {"get_weather", "create_order", "web_search"} <= {t.name for t in tools}
    assert not weather.is_error and weather.structured_content["city"] == "Oslo"
    assert bad.is_error and "unit" in bad.content[0].text and "celsius" in bad.content[0].text
