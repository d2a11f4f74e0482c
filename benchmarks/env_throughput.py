"""Calls/s of the same episodes through the in-process environment and through MCP over HTTP.

    PYTHONPATH=. .venv/bin/python benchmarks/env_throughput.py [--episodes 400] [--concurrency 16]

Each episode is create_order -> get_order(its id) -> list_orders on the schema backend. Measured in
one run: `VectorToolEnv` (all episodes stepped together), `ToolEnv` (one episode at a time), and a
`gtm-mcp serve --transport http` process driven by `--concurrency` official MCP clients, each call
naming its episode in `_meta`. Prints calls/s and the in-process/MCP ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOLS = str(REPO / "examples" / "shop_tools.json")


def action(step: int, episode: int, last: dict | None) -> dict:
    if step == 0:
        return {"tool": "create_order", "arguments": {"product": f"item-{episode}", "quantity": 1}}
    if step == 1:
        return {"tool": "get_order", "arguments": {"order_id": last["order_id"]}}  # type: ignore[index]
    return {"tool": "list_orders", "arguments": {}}


def vector_env(episodes: int) -> float:
    from gtm_mcp.envs import VectorToolEnv

    env = VectorToolEnv.from_settings(episodes, tools=[TOOLS], max_steps=None)
    env.reset()
    last: list[dict | None] = [None] * episodes
    started = time.perf_counter()
    for step in range(3):
        observations, *_ = env.step([action(step, i, last[i]) for i in range(episodes)])
        last = [json.loads(o) for o in observations]
    elapsed = time.perf_counter() - started
    env.close()
    return 3 * episodes / elapsed


def single_env(episodes: int) -> float:
    from gtm_mcp.envs import ToolEnv

    env = ToolEnv.from_settings(tools=[TOOLS], max_steps=None)
    started = time.perf_counter()
    for i in range(episodes):
        env.reset()
        last = None
        for step in range(3):
            last = json.loads(env.step(action(step, i, last))[0])
    elapsed = time.perf_counter() - started
    env.close()
    return 3 * episodes / elapsed


async def over_mcp(url: str, episodes: int, concurrency: int) -> float:
    from mcp import Client

    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(episodes):
        queue.put_nowait(i)

    async def worker() -> None:
        async with Client(url) as client:
            while not queue.empty():
                i = queue.get_nowait()
                last = None
                for step in range(3):
                    a = action(step, i, last)
                    result = await client.call_tool(a["tool"], a["arguments"], meta={"gtm-mcp/session": f"b-{i}"})
                    last = result.structured_content

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return 3 * episodes / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    from gtm_mcp.launch import serve_http

    with serve_http("--tools", TOOLS, "--log-level", "WARNING") as server:
        mcp_rate = asyncio.run(over_mcp(server.url, args.episodes, args.concurrency))
    vector_rate = vector_env(args.episodes)
    single_rate = single_env(args.episodes)
    print(f"{args.episodes} episodes x 3 calls (create_order, get_order, list_orders), schema backend")
    print(f"  in-process VectorToolEnv ({args.episodes} episodes per step): {vector_rate:8.0f} calls/s")
    print(f"  in-process ToolEnv (one episode at a time):                {single_rate:8.0f} calls/s")
    print(f"  MCP over streamable HTTP ({args.concurrency} clients):                 {mcp_rate:8.0f} calls/s")
    print(f"  ratio in-process / MCP: vector {vector_rate / mcp_rate:.1f}x, single {single_rate / mcp_rate:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
