"""64 concurrent calls through the real MCP server (streamable HTTP) and the `openai` backend to an
OpenAI-compatible endpoint that answers after a fixed delay (default 2 s): the batch must finish in
≤ 1.3× one call's time (a pool of 8 connections would give ~8×, serial calls 64×).

    .venv/bin/python benchmarks/backend_concurrency.py [--calls 64] [--delay 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import anyio
from backend_common import free_port, gtm_server, mcp_call, process

SLOW = "/work/shared/checks/slow_openai.py"


async def measure(url: str, calls: int) -> dict[str, float]:
    from mcp import Client

    async with Client(url) as client:
        await mcp_call(client, "echo", {"text": "warm"}, "warm")  # connection + catalog warm
        start = time.perf_counter()
        one = await mcp_call(client, "echo", {"text": "one"}, "one")
        single = time.perf_counter() - start
        assert not one.is_error, one
        latencies: list[float] = []
        errors = 0

        async def call(i: int) -> None:
            nonlocal errors
            t = time.perf_counter()
            r = await mcp_call(client, "echo", {"text": f"c{i}"}, f"session-{i}")
            latencies.append(time.perf_counter() - t)
            errors += bool(r.is_error)

        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for i in range(calls):
                tg.start_soon(call, i)
        batch = time.perf_counter() - start
    return {"single_s": single, "batch_s": batch, "ratio": batch / single, "errors": errors,
            "median_latency_s": statistics.median(latencies), "max_latency_s": max(latencies)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=64)
    parser.add_argument("--delay", type=float, default=2.0)
    parser.add_argument("--slow-endpoint", default=SLOW, help="path of slow_openai.py (PORT SECONDS)")
    args = parser.parse_args()
    port = free_port()
    with process([sys.executable, args.slow_endpoint, str(port), str(args.delay)],
                 f"http://127.0.0.1:{port}/v1/models"), \
         gtm_server("--backend", "openai", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "slow",
                    "--timeout", str(args.delay * 10)) as url:
        result = anyio.run(measure, url, args.calls)
    result.update(calls=args.calls, delay_s=args.delay, target_ratio=1.3, passed=result["ratio"] <= 1.3)
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}, indent=2))
    return 0 if result["passed"] and not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
