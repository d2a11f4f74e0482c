"""Median latency per call through the MCP server (`openai` backend, structured output on) at 1, 16
and 64 concurrent sessions, against a running vLLM (GPU or CPU). The paper's anchor on a GPU is
0.48 s per call.

    .venv/bin/python benchmarks/backend_latency.py --base-url http://127.0.0.1:8000 --model NAME \
        [--sessions 1 16 64] [--calls-per-session 4]

Each session makes its calls one after another (its history grows), sessions run concurrently.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

import anyio
from backend_common import gtm_server, mcp_call

CITIES = ["Paris", "Oslo", "Lima", "Kyoto", "Cairo", "Quito", "Perth", "Dakar"]


async def measure(url: str, sessions: int, per_session: int) -> dict[str, Any]:
    from mcp import Client

    latencies: list[float] = []
    errors = 0
    async with Client(url) as client:
        await mcp_call(client, "echo", {"text": "warm"}, "warm")

        async def session(s: int) -> None:
            nonlocal errors
            for i in range(per_session):
                start = time.perf_counter()
                city = CITIES[(s + i) % len(CITIES)]
                r = await mcp_call(client, "get_weather", {"city": city}, f"lat-{sessions}-{s}")
                latencies.append(time.perf_counter() - start)
                errors += bool(r.is_error)

        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for s in range(sessions):
                tg.start_soon(session, s)
        wall = time.perf_counter() - start
    return {"sessions": sessions, "calls": len(latencies), "errors": errors,
            "median_s": round(statistics.median(latencies), 3),
            "p90_s": round(statistics.quantiles(latencies, n=10)[-1], 3) if len(latencies) > 1 else None,
            "calls_per_s": round(len(latencies) / wall, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--calls-per-session", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    args = parser.parse_args()
    base = args.base_url.rstrip("/").removesuffix("/v1") + "/v1"
    with gtm_server("--backend", "openai", "--base-url", base, "--model", args.model, "--structured-output", "on",
                    "--timeout", "300", "--max-new-tokens", str(args.max_new_tokens)) as url:
        rows = [anyio.run(measure, url, n, args.calls_per_session) for n in args.sessions]
    print(json.dumps({"base_url": base, "model": args.model, "results": rows}, indent=2))
    return 0 if not any(r["errors"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
