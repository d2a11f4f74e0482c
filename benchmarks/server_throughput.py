"""Calls per second and p50/p99 latency through `gtm-mcp serve --transport http` (schema backend)
against a bare MCP SDK server with one echo tool: same client, same machine, same run.

Rounds alternate between the servers (bare, gtm, bare, gtm, ...) so that background load hits
both alike; the figure per server is the median over rounds. Target: gtm >= 0.90 x bare.
`--baseline PATH` adds the same gtm-mcp servers run from another checkout (e.g. main, exported with
`git archive main | tar -x -C /tmp/base`), interleaved too, and prints this tree's calls/s as a
ratio of that one's (before/after a change). The server processes' own CPU time per call (from
/proc, Linux) is printed too: other load on the machine barely moves it, so it compares checkouts
where calls/s on a shared machine cannot.

    python benchmarks/server_throughput.py [--calls 600] [--concurrency 8] [--rounds 5] [--mode auto|legacy]
        [--baseline /tmp/base]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anyio

from gtm_mcp.launch import free_port, spawned

REPO = Path(__file__).resolve().parents[1]
ECHO_TOOL = {
    "name": "echo", "description": "Echo the text back.",
    "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    "outputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
}


def bare_server(port: int) -> None:
    """The baseline: the SDK's low-level server, one echo tool, nothing else."""
    import mcp.types as types
    import uvicorn
    from mcp.server import Server

    tool = types.Tool(name="echo", description=ECHO_TOOL["description"], input_schema=ECHO_TOOL["inputSchema"],
                      output_schema=ECHO_TOOL["outputSchema"])

    async def list_tools(ctx, params):
        return types.ListToolsResult(tools=[tool])

    async def call_tool(ctx, params):
        text = (params.arguments or {}).get("text", "")
        return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps({"text": text}))],
                                    structured_content={"text": text})

    server = Server("echo", version="1", on_list_tools=list_tools, on_call_tool=call_tool)
    uvicorn.run(server.streamable_http_app(), host="127.0.0.1", port=port, log_level="warning")


async def measure(url: str, tool: str, args: dict, calls: int, concurrency: int, mode: str) -> tuple[float, list]:
    from mcp import Client

    latencies: list[float] = []
    async with Client(url, mode=mode) as client:
        for _ in range(20):  # warm-up
            await client.call_tool(tool, args)
        remaining = calls

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                t0 = time.perf_counter()
                result = await client.call_tool(tool, args)
                latencies.append(time.perf_counter() - t0)
                if result.is_error:
                    raise RuntimeError(result.content[0].text)

        t0 = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker)
        elapsed = time.perf_counter() - t0
    return calls / elapsed, latencies


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far, from /proc (None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mode", default="auto", choices=["auto", "legacy"])
    parser.add_argument("--baseline", help="another checkout whose gtm-mcp servers are measured too (before)")
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        bare_server(args.bare_server)
        return 0

    tools_file = Path(tempfile.mkdtemp()) / "echo.json"
    tools_file.write_text(json.dumps([ECHO_TOOL]))
    livemcpbench = REPO.parent / "shared" / "data" / "livemcpbench" / "tools.json"
    targets = {
        "bare SDK echo": ([sys.executable, __file__, "--bare-server", "{port}"], "echo", {"text": "hello"}),
        "gtm-mcp echo": ([sys.executable, "-m", "gtm_mcp", "serve", "--tools", str(tools_file), "--transport", "http",
                          "--port", "{port}", "--log-level", "WARNING"], "echo", {"text": "hello"}),
    }
    if livemcpbench.exists():
        targets["gtm-mcp 527 tools"] = ([sys.executable, "-m", "gtm_mcp", "serve", "--tools", str(livemcpbench),
                                         "--transport", "http", "--port", "{port}", "--log-level", "WARNING"],
                                        "bing_search", {"query": "model context protocol"})
    trees = {name: REPO for name in targets}
    if args.baseline:
        baseline = Path(args.baseline).resolve()
        for name in [n for n in targets if n.startswith("gtm-mcp")]:
            targets[f"{name} (baseline)"] = targets[name]
            trees[f"{name} (baseline)"] = baseline
    urls: dict[str, str] = {}
    procs: dict[str, Any] = {}
    with ExitStack() as stack:
        for name, (cmd, _, _) in targets.items():
            port = free_port()
            procs[name] = stack.enter_context(spawned([c.replace("{port}", str(port)) for c in cmd],
                                        f"http://127.0.0.1:{port}/mcp", cwd=trees[name],
                                        env={"PYTHONPATH": str(trees[name])}))
            urls[name] = f"http://127.0.0.1:{port}/mcp"
        rates: dict[str, list[float]] = {n: [] for n in targets}
        lat: dict[str, list[float]] = {n: [] for n in targets}
        cpu: dict[str, list[float]] = {n: [] for n in targets}
        for r in range(args.rounds):
            for name, (_, tool, tool_args) in targets.items():
                before = cpu_seconds(procs[name].pid)
                rate, latencies = anyio.run(measure, urls[name], tool, tool_args, args.calls, args.concurrency,
                                            args.mode)
                after = cpu_seconds(procs[name].pid)
                if before is not None and after is not None:
                    cpu[name].append((after - before) / (args.calls + 20) * 1e6)
                rates[name].append(rate)
                lat[name].extend(latencies)
                print(f"round {r + 1}: {name:18s} {rate:7.1f} calls/s", file=sys.stderr)
    print(f"\n{args.calls} calls x {args.rounds} rounds, {args.concurrency} concurrent, one client, mode={args.mode}, "
          f"{os.cpu_count()} cores")
    print(f"{'server':31s} {'calls/s (median)':>17s} {'p50 ms':>8s} {'p99 ms':>8s} {'server CPU us/call':>19s}")
    base = statistics.median(rates["bare SDK echo"])
    for name in targets:
        median = statistics.median(rates[name])
        used = f"{statistics.median(cpu[name]):19.0f}" if cpu[name] else f"{'-':>19s}"
        print(f"{name:31s} {median:17.1f} {pct(lat[name], 0.5):8.2f} {pct(lat[name], 0.99):8.2f} {used}"
              + ("" if name == "bare SDK echo" else f"   ratio {median / base:.2f}"))
    ratio = statistics.median(rates["gtm-mcp echo"]) / base
    print(f"gtm-mcp / bare SDK server: {ratio:.2f} (target >= 0.90)")
    for name in [n for n in targets if n.endswith(" (baseline)")]:
        mine = name.removesuffix(" (baseline)")
        ratio_now = statistics.median(rates[mine]) / statistics.median(rates[name])
        line = f"{mine}: this tree / baseline = {ratio_now:.2f} calls/s"
        if cpu[mine] and cpu[name]:
            line += f", {statistics.median(cpu[name]) / statistics.median(cpu[mine]):.2f} by server CPU per call"
        print(line + " (target >= 0.90)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
