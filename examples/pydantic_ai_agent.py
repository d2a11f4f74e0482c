"""A pydantic-ai agent whose tools are simulated by gtm-mcp.

    python examples/pydantic_ai_agent.py                         # offline: TestModel, no LLM
    python examples/pydantic_ai_agent.py --mcp-url http://127.0.0.1:8765/mcp --model openai:gpt-5

Offline, pydantic-ai's TestModel plays the LLM: it calls the tools it is told to with arguments
generated from their schemas and runs the whole agent loop. Two runs share an episode (the URL path
`/mcp/<episode>`): the order the first run creates is in the second run's order list, and not in
the list of another episode.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any


async def run(mcp_url: str, episode: str, model: Any, task: str) -> dict[str, Any]:
    from pydantic_ai import Agent
    from pydantic_ai.mcp import MCPToolset

    agent = Agent(model, toolsets=[MCPToolset(f"{mcp_url.rstrip('/')}/{episode}")])
    async with agent:
        result = await agent.run(task)
    returns = [p for m in result.all_messages() for p in m.parts if p.part_kind == "tool-return"]
    return {"tools": {p.tool_name: p.content for p in returns}, "output": result.output}


def model_for(name: str | None, tools: list[str]) -> Any:
    if name:
        return name
    from pydantic_ai.models.test import TestModel

    return TestModel(call_tools=tools)


async def demo(mcp_url: str, model_name: str | None) -> int:
    episode, other = f"pyd-{uuid.uuid4().hex[:8]}", f"pyd-{uuid.uuid4().hex[:8]}"
    created = await run(mcp_url, episode, model_for(model_name, ["create_order"]), "Order a lamp.")
    order = created["tools"].get("create_order")
    print(f"[{episode}] create_order -> {json.dumps(order)}")
    listed = await run(mcp_url, episode, model_for(model_name, ["list_orders"]), "List my orders.")
    elsewhere = await run(mcp_url, other, model_for(model_name, ["list_orders"]), "List my orders.")
    ids = lambda r: [o.get("order_id") for o in (r["tools"].get("list_orders") or {}).get("orders", [])]  # noqa: E731
    print(f"[{episode}] list_orders -> {ids(listed)}")
    print(f"[{other}] list_orders -> {ids(elsewhere)}")
    if not isinstance(order, dict):
        return 0  # a real model may not have called the tool
    consistent = order["order_id"] in ids(listed)
    isolated = order["order_id"] not in ids(elsewhere)
    print(f"consistent within the episode: {'yes' if consistent else 'NO'}; "
          f"isolated from the other episode: {'yes' if isolated else 'NO'}")
    return 0 if consistent and isolated else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mcp-url", help="a running gtm-mcp server (default: start one)")
    parser.add_argument("--model", help="a pydantic-ai model name (default: TestModel, offline)")
    args = parser.parse_args()
    from gtm_mcp.launch import serve_http

    with ExitStack() as stack:
        tools = str(Path(__file__).resolve().parent / "shop_tools.json")
        mcp_url = args.mcp_url or stack.enter_context(serve_http("--tools", tools)).url
        return asyncio.run(demo(mcp_url, args.model))


if __name__ == "__main__":
    sys.exit(main())
