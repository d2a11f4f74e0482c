"""Calls per second of the call pipeline with the schema backend, in-process (no HTTP, so that the
backend's own cost is what is measured), this checkout against another one (`--baseline PATH`,
e.g. main exported with `git archive main | tar -x -C /tmp/base`). Each round runs each checkout in
a fresh subprocess, rounds alternate, the figure is the median; the ratio this/baseline is printed.
Calls per CPU second (the process's own CPU time: other load on the machine barely moves it) is
the figure compared; calls per wall-clock second is printed beside it.

The call mix: an echo tool, the bundled example tools (create/get/list orders, weather, search),
and LiveMCPBench's filesystem and memory tools in stateful sequences (write, read, list, move),
over 16 sessions at once (asyncio), some with a declared world.

    python benchmarks/world_throughput.py --baseline /tmp/base [--rounds 7] [--calls 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIVEMCPBENCH = REPO.parent / "shared" / "data" / "livemcpbench" / "tools.json"
ECHO = {"name": "echo", "description": "Echo the text back.",
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
        "outputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}


def inner(calls: int) -> None:
    """Runs in the checkout under test (its gtm_mcp on PYTHONPATH); prints {"calls_per_s": ...}."""
    import anyio

    from gtm_mcp.backends.schema import SchemaBackend
    from gtm_mcp.calls.pipeline import Simulator
    from gtm_mcp.contract import ToolDefinition
    from gtm_mcp.sessions.store import SessionStore
    from gtm_mcp.tools.catalog import ToolCatalog
    from gtm_mcp.tools.loader import load_tools

    tools = load_tools([str(REPO / "gtm_mcp" / "examples" / "tools.json")])
    tools.append(ToolDefinition(name="echo", description=ECHO["description"], input_schema=ECHO["inputSchema"],
                                output_schema=ECHO["outputSchema"]))
    taken = {t.name for t in tools}
    if LIVEMCPBENCH.exists():
        lmb = [t for t in load_tools([str(LIVEMCPBENCH)]) if t.server in ("filesystem", "memory")]
        tools += [t.model_copy(update={"name": t.name.split("__", 1)[-1]}) for t in lmb
                  if t.name.split("__", 1)[-1] not in taken]
    simulator = Simulator(ToolCatalog(tools), SchemaBackend(seed=1), SessionStore())
    names = {t.name for t in tools}

    def sequence(i: int) -> list[tuple[str, dict]]:
        path = f"/data/s{i % 50}.txt"
        steps = [("echo", {"text": f"hello {i}"}), ("get_weather", {"city": "Oslo"}),
                 ("create_order", {"product": "lamp", "quantity": 2}), ("list_orders", {}),
                 ("web_search", {"query": "model context protocol"})]
        if "write_file" in names:
            steps += [("write_file", {"path": path, "content": f"line {i}\n"}), ("read_file", {"path": path}),
                      ("move_file", {"source": path, "destination": path + ".bak"}),
                      ("list_directory", {"path": "/data"}),
                      ("create_entities", {"entities": [{"name": f"E{i}", "entityType": "t", "observations": []}]}),
                      ("read_graph", {})]
        return steps

    async def session(key: str, count: int, declared: bool) -> None:
        meta = {"gtm-mcp/session": key}
        if declared:
            meta["gtm-mcp/world"] = {"files": {"/data/": None}}
        done = i = 0
        while done < count:
            for name, arguments in sequence(i):
                result = await simulator.call(name, arguments, session_key=key, meta=meta)
                assert result.outcome.value in ("ok", "tool_error"), result.text
                done += 1
            i += 1

    async def main() -> dict[str, float]:
        per = max(1, calls // 16)
        await session("warm", 50, False)
        start, cpu = time.perf_counter(), time.process_time()
        async with anyio.create_task_group() as tg:
            for s in range(16):
                tg.start_soon(session, f"s{s}", per, s % 2 == 0)
        return {"calls_per_s": per * 16 / (time.perf_counter() - start),
                "calls_per_cpu_s": per * 16 / (time.process_time() - cpu)}

    print(json.dumps(anyio.run(main)))


def measure(tree: Path, calls: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--inner", "--calls", str(calls)], cwd=tree, check=True,
                         env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", help="the other checkout (before)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        inner(args.calls)
        return 0
    trees = {"this checkout": REPO}
    if args.baseline:
        trees = {"baseline": Path(args.baseline).resolve(), **trees}
    rates: dict[str, list[float]] = {name: [] for name in trees}
    walls: dict[str, list[float]] = {name: [] for name in trees}
    for r in range(args.rounds):
        for name, tree in trees.items():
            figures = measure(tree, args.calls)
            rates[name].append(figures["calls_per_cpu_s"])
            walls[name].append(figures["calls_per_s"])
            print(f"round {r + 1}: {name:14s} {rates[name][-1]:8.1f} calls/CPU-s {walls[name][-1]:8.1f} calls/s",
                  file=sys.stderr)
    print(f"\n{args.calls} calls x {args.rounds} rounds, 16 sessions, in-process, {os.cpu_count()} cores")
    for name in trees:
        print(f"{name:14s} {statistics.median(rates[name]):8.1f} calls per CPU second (median), "
              f"{statistics.median(walls[name]):8.1f} calls/s wall clock")
    if args.baseline:
        ratio = statistics.median(rates["this checkout"]) / statistics.median(rates["baseline"])
        paired = statistics.median(a / b for a, b in zip(rates["this checkout"], rates["baseline"], strict=True))
        print(f"this checkout / baseline: {ratio:.2f} calls per CPU second (median of round ratios {paired:.2f}; "
              "target >= 0.90)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
