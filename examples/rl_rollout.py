"""An RL rollout loop: many episodes in parallel, each its own gtm-mcp session.

    python examples/rl_rollout.py --episodes 64                 # starts a server, MCP over HTTP
    python examples/rl_rollout.py --mcp-url http://127.0.0.1:8765/mcp --episodes 1000 --concurrency 128
    python examples/rl_rollout.py --in-process --episodes 1000  # gtm_mcp.envs.VectorToolEnv, no HTTP

Each episode runs a tiny scripted policy (create an order, read it back, list the orders) with the
episode key in `_meta["gtm-mcp/session"]`, and checks what a trainer relies on: the order it created
is the one it reads back (consistency within an episode) and no other episode's order shows up in
its list (isolation between episodes). Replace `policy` with your model's tool calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any


def policy(step: int, episode: int, last: dict[str, Any] | None) -> dict[str, Any] | None:
    """The next tool call of the scripted agent (None: the episode is over)."""
    if step == 0:
        return {"tool": "create_order", "arguments": {"product": f"item-{episode}", "quantity": 1 + episode % 9}}
    if step == 1 and last:
        return {"tool": "get_order", "arguments": {"order_id": last["order_id"]}}
    if step == 2:
        return {"tool": "list_orders", "arguments": {}}
    return None


def check(episode: int, outputs: list[dict[str, Any]]) -> tuple[bool, str]:
    created, read, listed = outputs
    consistent = (read["order_id"], read["product"]) == (created["order_id"], f"item-{episode}")
    return consistent, created["order_id"], [o["order_id"] for o in listed.get("orders", [])]


async def over_mcp(url: str, episodes: int, concurrency: int) -> list[list[dict[str, Any]]]:
    from mcp import Client

    results: list[list[dict[str, Any]]] = [[] for _ in range(episodes)]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(episodes):
        queue.put_nowait(i)

    async def worker() -> None:
        async with Client(url) as client:
            while not queue.empty():
                i = queue.get_nowait()
                last = None
                for step in range(10):
                    action = policy(step, i, last)
                    if action is None:
                        break
                    result = await client.call_tool(action["tool"], action["arguments"],
                                                    meta={"gtm-mcp/session": f"rollout-{i}"})
                    last = result.structured_content or json.loads(result.content[0].text)
                    results[i].append(last)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, episodes))))
    return results


def in_process(episodes: int) -> list[list[dict[str, Any]]]:
    from gtm_mcp.envs import VectorToolEnv

    env = VectorToolEnv.from_settings(episodes, tools=[str(Path(__file__).resolve().parent / "shop_tools.json")],
                                      max_steps=None)
    env.reset()
    results: list[list[dict[str, Any]]] = [[] for _ in range(episodes)]
    for step in range(3):
        actions = [policy(step, i, results[i][-1] if results[i] else None) for i in range(episodes)]
        observations, *_ = env.step(actions)
        for i, text in enumerate(observations):
            results[i].append(json.loads(text))
    env.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mcp-url", help="a running gtm-mcp server (default: start one)")
    parser.add_argument("--episodes", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=32, help="MCP connections in parallel")
    parser.add_argument("--in-process", action="store_true", help="step the simulator in-process (no HTTP)")
    args = parser.parse_args()
    from gtm_mcp.launch import serve_http

    started = time.perf_counter()
    with ExitStack() as stack:
        if args.in_process:
            results = in_process(args.episodes)
        else:
            tools = str(Path(__file__).resolve().parent / "shop_tools.json")
            url = args.mcp_url or stack.enter_context(serve_http("--tools", tools)).url
            started = time.perf_counter()
            results = asyncio.run(over_mcp(url, args.episodes, args.concurrency))
    elapsed = time.perf_counter() - started
    checks = [check(i, outputs) for i, outputs in enumerate(results)]
    own = {order_id for _, order_id, _ in checks}
    consistent = sum(ok for ok, _, _ in checks)
    leaks = sum(1 for _, order_id, listed in checks if (set(listed) & own) - {order_id})
    calls = sum(len(r) for r in results)
    print(f"{args.episodes} episodes, {calls} calls in {elapsed:.2f} s ({calls / elapsed:.0f} calls/s, "
          f"{'in-process' if args.in_process else 'MCP over HTTP'})")
    print(f"consistent within the episode: {consistent}/{args.episodes}")
    print(f"episodes that saw another episode's order: {leaks}")
    return 0 if consistent == args.episodes and leaks == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
