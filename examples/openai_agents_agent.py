"""An openai-agents agent whose tools are simulated by gtm-mcp.

    python examples/openai_agents_agent.py                       # offline: starts gtm-mcp and a scripted LLM
    python examples/openai_agents_agent.py --mcp-url http://127.0.0.1:8765/mcp \
        --base-url http://127.0.0.1:8000/v1 --model my-model     # your server, your model

The agent's MCP connection names its episode in the URL path (`/mcp/<episode>`), so each run is its
own session: an order the agent creates is there when it reads it back, and nowhere else.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from contextlib import ExitStack
from pathlib import Path


def _text(output: object) -> str:
    """A tool output as openai-agents hands it over (text, a content part, or a list of them)."""
    if isinstance(output, list):
        return "".join(_text(part) for part in output)
    if isinstance(output, dict):
        return str(output.get("text", ""))
    return str(output)


async def run_agent(mcp_url: str, base_url: str, model: str, task: str) -> dict:
    from agents import Agent, OpenAIChatCompletionsModel, Runner, set_tracing_disabled
    from agents.mcp import MCPServerStreamableHttp
    from openai import AsyncOpenAI

    set_tracing_disabled(True)  # traces would go to OpenAI's servers
    episode = f"agent-{uuid.uuid4().hex[:8]}"
    llm = OpenAIChatCompletionsModel(model=model, openai_client=AsyncOpenAI(base_url=base_url, api_key="none"))
    async with MCPServerStreamableHttp({"url": f"{mcp_url.rstrip('/')}/{episode}"}, cache_tools_list=True) as tools:
        agent = Agent(name="shop assistant", instructions="Use the tools to do what the user asks.",
                      model=llm, mcp_servers=[tools])
        result = await Runner.run(agent, task, max_turns=6)
    calls = [item.raw_item for item in result.new_items if item.type == "tool_call_item"]
    outputs = [_text(item.output) for item in result.new_items if item.type == "tool_call_output_item"]
    return {"episode": episode, "calls": [(c.name, json.loads(c.arguments)) for c in calls],
            "outputs": outputs, "final": result.final_output}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mcp-url", help="a running gtm-mcp server (default: start one)")
    parser.add_argument("--base-url", help="an OpenAI-compatible model endpoint (default: the scripted LLM)")
    parser.add_argument("--model", default="scripted")
    parser.add_argument("--task", default="Order two desk lamps, then check the order went through.")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from scripted_llm import ScriptedLLM

    from gtm_mcp.launch import serve_http

    with ExitStack() as stack:
        tools = str(Path(__file__).resolve().parent / "shop_tools.json")
        mcp_url = args.mcp_url or stack.enter_context(serve_http("--tools", tools)).url
        base_url = args.base_url or stack.enter_context(ScriptedLLM()).url
        report = asyncio.run(run_agent(mcp_url, base_url, args.model, args.task))
    for (name, arguments), output in zip(report["calls"], report["outputs"], strict=False):
        print(f"tool {name}({json.dumps(arguments)}) -> {output[:160]}")
    print(f"final answer: {report['final']}")
    created = next((json.loads(o) for (n, _), o in zip(report["calls"], report["outputs"], strict=False)
                    if n == "create_order"), None)
    read = next((json.loads(o) for (n, _), o in zip(report["calls"], report["outputs"], strict=False)
                 if n == "get_order"), None)
    if created and read:
        same = read["product"] == created["product"] and read["order_id"] == created["order_id"]
        print(f"episode {report['episode']}: get_order returned the order create_order made: {'yes' if same else 'NO'}")
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
