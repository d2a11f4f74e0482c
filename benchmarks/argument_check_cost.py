"""What the argument limits cost on the common path, and why small checks stay on the event loop.

For typical arguments (the example tools' and LiveMCPBench-sized ones) prints, in microseconds per
call: the size/depth walk the pipeline adds (`measure_arguments`, quick mode), the argument check
itself (`check_call`), and a round trip through the CPU-work pool (`run_cpu`) that a check moved off
the loop would pay; then a whole in-process `Simulator.call` (schema backend) for the same
arguments. The walk should be a small fraction of the check; the pool hop is why checks of small
arguments are not moved.

    python benchmarks/argument_check_cost.py [--repeat 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from gtm_mcp.backends.schema import SchemaBackend
from gtm_mcp.calls.checking import check_call
from gtm_mcp.calls.limits import measure_arguments
from gtm_mcp.calls.pipeline import Simulator
from gtm_mcp.sessions.store import SessionStore
from gtm_mcp.tools.catalog import ToolCatalog
from gtm_mcp.tools.loader import load_tools
from gtm_mcp.work import run_cpu

REPO = Path(__file__).resolve().parents[1]
CASES = [
    ("get_weather", {"city": "Oslo", "unit": "celsius"}),
    ("create_order", {"product": "lamp", "quantity": 2}),
    ("web_search", {"query": "weather in Oslo tomorrow", "max_results": 5}),
]


def per_call_us(fn: Callable[[], Any], repeat: int) -> float:
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        rounds.append((time.perf_counter() - start) / repeat * 1e6)
    return statistics.median(rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    tools = {t.name: t for t in load_tools([REPO / "gtm_mcp" / "examples" / "tools.json"])}
    simulator = Simulator(ToolCatalog(tools.values()), SchemaBackend(), SessionStore())

    async def hop() -> float:
        start = time.perf_counter()
        for _ in range(200):
            await run_cpu(len, "x")
        return (time.perf_counter() - start) / 200 * 1e6

    async def calls(name: str, arguments: dict[str, Any]) -> float:
        start = time.perf_counter()
        for i in range(200):
            await simulator.call(name, arguments, session_key=f"s{i % 8}")
        return (time.perf_counter() - start) / 200 * 1e6

    hop_us = statistics.median(anyio.run(hop) for _ in range(3))
    print(f"{'tool':14} {'walk µs':>8} {'check µs':>9} {'walk/check':>10} {'pool hop µs':>12} {'whole call µs':>14}")
    for name, arguments in CASES:
        tool = tools[name]
        walk = per_call_us(lambda a=arguments: measure_arguments(a, max_bytes=4 << 20, max_depth=64, quick=True),
                           args.repeat)
        check = per_call_us(lambda t=tool, a=arguments: check_call(t, a), args.repeat)
        whole = anyio.run(calls, name, arguments)
        print(f"{name:14} {walk:8.1f} {check:9.1f} {walk / check:10.2f} {hop_us:12.1f} {whole:14.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
