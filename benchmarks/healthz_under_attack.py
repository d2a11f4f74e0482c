"""`/healthz` latency (p50/p99) while other sessions call hostile tools, against the same server idle.

One `gtm-mcp serve --transport http` (schema backend) serves the example tools plus hostile ones:
an output schema with recursive `$ref`s (`{l: {$ref: #}, r: {$ref: #}}`), one with huge minimums,
one with catastrophic patterns in the output, and inputs with catastrophic patterns (`^(a+)+$`,
a lookahead only the time-limited engine runs) called with strings built to backtrack. Attacker
tasks, each its own session (raw 2026-07-28 `tools/call` POSTs, see `call_body`), call them back to back while a prober
measures `/healthz`. The same prober runs first against the idle server: the ratio is the figure
(1.0 = no effect). Rounds alternate idle and attack so background load hits both alike.

    python benchmarks/healthz_under_attack.py [--attackers 8] [--probes 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import anyio
import httpx

from gtm_mcp.launch import serve_http

REPO = Path(__file__).resolve().parents[1]
EVIL = "a" * 5000 + "!"
TREE = {"type": "object", "properties": {"l": {"$ref": "#"}, "r": {"$ref": "#"}}}
HOSTILE = [
    {"name": "recursive_tree", "inputSchema": {"type": "object"}, "outputSchema": TREE},
    {"name": "recursive_required", "inputSchema": {"type": "object"}, "outputSchema": {**TREE, "required": ["l", "r"]}},
    {"name": "huge_minimums", "inputSchema": {"type": "object"}, "outputSchema": {"type": "object", "properties": {
        "xs": {"type": "array", "minItems": 10**9}, "s": {"type": "string", "minLength": 10**9}},
        "required": ["xs", "s"]}},
    {"name": "catastrophic_output", "inputSchema": {"type": "object"}, "outputSchema": {
        "type": "object", "properties": {"s": {"type": "string", "pattern": "^(a+)+$", "minLength": 30},
                                         "t": {"type": "string", "pattern": "(x+x+)+y"}}, "required": ["s", "t"]}},
    {"name": "catastrophic_input", "inputSchema": {"type": "object", "properties": {
        "s": {"type": "string", "pattern": "^(a+)+$"}, "t": {"type": "string", "pattern": "^(?=(a+)+b)"}}}},
]
#: (tool, arguments) the attackers cycle through.
ATTACKS = [("recursive_tree", {}), ("recursive_required", {}), ("huge_minimums", {}), ("catastrophic_output", {}),
           ("catastrophic_input", {"s": EVIL, "t": "a" * 40})]


async def probe(base: str, count: int) -> list[float]:
    latencies = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await client.get("/healthz")
        for _ in range(count):
            start = time.perf_counter()
            response = await client.get("/healthz")
            latencies.append(time.perf_counter() - start)
            assert response.status_code == 200
            await anyio.sleep(0.005)
    return latencies


def call_body(tool: str, arguments: dict, session: str) -> bytes:
    """One `tools/call` as a 2026-07-28 client sends it (one self-contained POST): the attackers skip
    the SDK client so that their own CPU use (parsing, output validation) does not compete with the
    server on this 2-core machine."""
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {},
            "gtm-mcp/session": session}
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": tool, "arguments": arguments, "_meta": meta}}).encode()


HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream",
           "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call"}


async def attacked(url: str, base: str, attackers: int, count: int) -> tuple[list[float], Counter[str], float]:
    outcomes: Counter[str] = Counter()
    worst = 0.0
    done = anyio.Event()

    async def attacker(i: int) -> None:
        nonlocal worst
        async with httpx.AsyncClient(timeout=120) as client:
            n = i
            while not done.is_set():
                tool, arguments = ATTACKS[n % len(ATTACKS)]
                n += 1
                start = time.perf_counter()
                response = await client.post(url, content=call_body(tool, arguments, f"attacker-{i}"),
                                             headers={**HEADERS, "mcp-name": tool})
                worst = max(worst, time.perf_counter() - start)
                result = response.json().get("result") or {}
                outcomes["isError" if result.get("isError") else "ok" if result else "protocol error"] += 1

    async with anyio.create_task_group() as tg:
        for i in range(attackers):
            tg.start_soon(attacker, i)
        await anyio.sleep(1.0)  # the attack is under way
        latencies = await probe(base, count)
        done.set()
    return latencies, outcomes, worst


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attackers", type=int, default=8)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", help="attack with this one tool only (to find which hurts)")
    args = parser.parse_args()
    if args.only:
        ATTACKS[:] = [a for a in ATTACKS if a[0] == args.only]
    from rich.progress import track

    with tempfile.TemporaryDirectory() as tmp:
        tools = Path(tmp) / "hostile.json"
        tools.write_text(json.dumps({"tools": HOSTILE}))
        idle: list[list[float]] = []
        attack: list[list[float]] = []
        outcomes: Counter[str] = Counter()
        worst = 0.0
        with serve_http("--tools", str(tools), "--tools", str(REPO / "gtm_mcp" / "examples" / "tools.json"),
                        "--call-timeout", "10", "--log-level", "WARNING", log=Path(tmp) / "server.log") as server:
            for _ in track(range(args.rounds), description="idle / attack rounds", transient=True):
                idle.append(anyio.run(probe, server.base, args.probes))
                lat, got, w = anyio.run(attacked, server.url, server.base, args.attackers, args.probes)
                attack.append(lat)
                outcomes += got
                worst = max(worst, w)
            calls = server.healthz()["calls"]
    print(f"/healthz latency, {args.rounds} rounds x {args.probes} probes; attack: {args.attackers} sessions calling "
          f"{len(ATTACKS)} hostile tools back to back")
    print(f"{'':10} {'p50 ms':>8} {'p99 ms':>8}")
    rows = {}
    for label, rounds in (("idle", idle), ("attack", attack)):
        p50 = statistics.median(percentile(r, 0.50) for r in rounds) * 1000
        p99 = statistics.median(percentile(r, 0.99) for r in rounds) * 1000
        rows[label] = (p50, p99)
        print(f"{label:10} {p50:8.1f} {p99:8.1f}")
    print(f"ratio attack/idle: p50 x{rows['attack'][0] / rows['idle'][0]:.2f}, "
          f"p99 x{rows['attack'][1] / rows['idle'][1]:.2f}")
    print(f"hostile calls answered: {sum(outcomes.values())} ({dict(outcomes)}), slowest {worst:.2f} s; "
          f"server outcomes {calls}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
