"""Figures for hybrid serving, record/replay and fault injection.

1. faults: configured vs observed fault rates (and kind mix) over N calls per configuration,
   through the real call path in-process (settings -> router -> schema backend), seeded; with the
   95% binomial interval of each configured rate, and whether a second run with the same seed
   drew exactly the same faults;
2. latency: injected latency as the client sees it, over MCP (streamable HTTP) against a real
   `gtm-mcp serve`: per call, (observed - baseline median) vs the delay the injector drew (from
   `_meta`), for fixed, uniform, normal and lognormal latencies; baseline = a tool without latency
   on the same server, calls interleaved;
3. replay: record N calls over M sessions (hybrid: real filesystem + time servers, plus simulated
   tools) through a real server, then replay them through another: identical results, per-call
   time of recording, replaying and plain simulation;
4. hybrid: per-call time of a real tool called directly (the SDK client over stdio), the same tool
   through gtm-mcp (client -> gtm-mcp HTTP -> stdio), and a simulated tool through gtm-mcp.

    python benchmarks/hybrid_replay_faults.py [--only faults,latency,replay,hybrid] [--calls 4000]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # real_servers: the offline MCP servers the tests use

from real_servers import filesystem_server, time_server  # noqa: E402

from gtm_mcp.config import load_settings  # noqa: E402
from gtm_mcp.launch import serve_http  # noqa: E402
from gtm_mcp.server.runtime import build_simulator  # noqa: E402

console = Console(width=150)
EXAMPLES = ROOT / "gtm_mcp" / "examples" / "tools.json"
CALLS = [("get_weather", {"city": "Oslo"}), ("create_order", {"product": "lamp", "quantity": 2}),
         ("web_search", {"query": "mcp"}), ("get_stock_quote", {"symbol": "ACME"})]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


# -- 1. fault rates ------------------------------------------------------------------------------------

FAULT_CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("--fault-rate 0.05 (error)", {"fault_rate": 0.05}),
    ("--fault-rate 0.2, all 5 kinds", {"fault_rate": 0.2, "fault_kinds": ["error", "timeout", "empty", "malformed",
                                                                          "oversized"]}),
    ("--faults flaky", {"faults": "flaky"}),
    ("--faults errors", {"faults": "errors"}),
    ("--faults garbage", {"faults": "garbage"}),
    ("--faults chaos", {"faults": "chaos"}),
]


def fault_run(flags: dict[str, Any], n: int, sessions: int = 50) -> tuple[list[str | None], float]:
    from gtm_mcp.calls.faults import FaultInjector

    sim = build_simulator(load_settings({**flags, "seed": 1}, env={}))
    injector = sim.router.faults
    assert injector is not None
    # no real waiting (timeouts, latency): the rates are what is measured here
    sim.router.faults = FaultInjector([r.model_copy(update={"timeout_s": 0.0, "latency": None})
                                       for r in injector.rules], seed=injector.seed)
    kinds: list[str | None] = []

    async def main() -> None:
        async with sim:
            for i in range(n):
                tool, args = CALLS[i % len(CALLS)]
                result = await sim.call(tool, args, session_key=f"s{i % sessions}")
                kinds.append((result.meta.get("gtm-mcp/fault") or {}).get("kind"))

    start = time.perf_counter()
    anyio.run(main)
    return kinds, time.perf_counter() - start


def bench_faults(n: int) -> None:
    from gtm_mcp.calls.faults import FaultRule

    table = Table(title=f"fault rates: configured vs observed over {n} calls (seed 1, 50 sessions)")
    for column in ("configuration", "configured", "observed", "95% interval", "kinds observed (count)",
                   "same seed again"):
        table.add_column(column)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("fault rates", total=len(FAULT_CONFIGS))
        for label, flags in FAULT_CONFIGS:
            kinds, _ = fault_run(flags, n)
            again, _ = fault_run(flags, n)
            rule = FaultRule(preset=flags.get("faults"), **{k.removeprefix("fault_"): v for k, v in flags.items()
                                                            if k != "faults"})
            p = rule.rate
            half = 1.96 * math.sqrt(p * (1 - p) / n)
            observed = sum(k is not None for k in kinds) / n
            counts = Counter(k for k in kinds if k)
            table.add_row(label, f"{p:.3f}", f"{observed:.4f}", f"{max(0, p - half):.3f}-{p + half:.3f}",
                          ", ".join(f"{k} {c}" for k, c in sorted(counts.items())),
                          "identical" if kinds == again else "DIFFERENT")
            progress.advance(task)
    console.print(table)


# -- 2. latency accuracy ---------------------------------------------------------------------------------

LATENCY_RULES = """faults:
  rules:
    - tools: [get_weather]
      latency: fixed:50ms
    - tools: [create_order]
      latency: uniform:20ms,120ms
    - tools: [web_search]
      latency: normal:80ms,20ms
    - tools: [get_stock_quote]
      latency: lognormal:60ms,0.5
"""


async def timed_calls(url: str, plan: list[tuple[str, dict]], session: str) -> list[tuple[str, float, float]]:
    from mcp import Client

    out = []
    async with Client(url) as client:
        for _ in range(10):
            await client.call_tool("list_orders", {})
        for tool, args in plan:
            start = time.perf_counter()
            result = await client.call_tool(tool, args, meta={"gtm-mcp/session": session})
            elapsed = time.perf_counter() - start
            drawn = ((result.meta or {}).get("gtm-mcp/fault") or {}).get("latency_ms", 0.0) / 1000
            out.append((tool, elapsed, drawn))
    return out


def bench_latency(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.yaml"
        rules.write_text(LATENCY_RULES)
        plan = []
        for i in range(n):
            plan.append(("list_orders", {}))  # the baseline, interleaved
            plan.append(CALLS[i % len(CALLS)])
        with serve_http("--rules", str(rules), "--log-level", "warning") as server:
            with console.status(f"latency: {len(plan)} calls over MCP"):
                rows = anyio.run(timed_calls, server.url, plan, "latency")
    baseline = statistics.median(e for t, e, _ in rows if t == "list_orders")
    table = Table(title=f"latency injection over MCP (HTTP), {n // len(CALLS)} calls per tool; baseline (no "
                        f"latency) median {ms(baseline)} ms")
    for column in ("tool: configured", "drawn mean ms", "observed-baseline mean ms", "error per call: median ms",
                   "p95 |error| ms"):
        table.add_column(column)
    specs = {"get_weather": "fixed:50ms", "create_order": "uniform:20ms,120ms", "web_search": "normal:80ms,20ms",
             "get_stock_quote": "lognormal:60ms,0.5"}
    for tool, spec in specs.items():
        mine = [(e, d) for t, e, d in rows if t == tool]
        errors = [(e - baseline) - d for e, d in mine]
        abs_sorted = sorted(abs(x) for x in errors)
        table.add_row(f"{tool}: {spec}", ms(statistics.mean(d for _, d in mine)),
                      ms(statistics.mean(e - baseline for e, _ in mine)), ms(statistics.median(errors)),
                      ms(abs_sorted[int(0.95 * (len(abs_sorted) - 1))]))
    console.print(table)


# -- 3. record / replay -----------------------------------------------------------------------------------

def replay_plan(root: Path, sessions: int, per_session: int) -> list[tuple[str, str, dict]]:
    plan = []
    for s in range(sessions):
        path = str(root / "files" / f"s{s}.txt")
        steps = [("write_file", {"path": path, "content": f"draft {s}"}), ("read_text_file", {"path": path}),
                 ("write_file", {"path": path, "content": f"final {s}"}), ("read_text_file", {"path": path}),
                 ("get_current_time", {"timezone": "Europe/Lisbon"}),
                 ("convert_time", {"source_timezone": "UTC", "time": f"{s % 24:02d}:00",
                                   "target_timezone": "Asia/Tokyo"}),
                 ("list_directory", {"path": str(root / "files")})]
        plan += [(f"episode-{s}", *steps[i % len(steps)]) for i in range(per_session)]
    return plan


async def run_plan(url: str, plan: list[tuple[str, str, dict]]) -> tuple[list[tuple[str, bool, str]], float]:
    from mcp import Client

    out = []
    async with Client(url) as client:
        await client.call_tool("list_orders", {}, meta={"gtm-mcp/session": "warm-up"})
        start = time.perf_counter()
        for session, tool, args in plan:
            result = await client.call_tool(tool, args, meta={"gtm-mcp/session": session})
            out.append((result.content[0].text if result.content else "", bool(result.is_error),
                        (result.meta or {}).get("gtm-mcp/origin", "")))
        return out, time.perf_counter() - start


def in_process_per_call(flags: dict[str, Any], n: int) -> float:
    """Seconds per call through the in-process call path (no transport), sequential."""
    sim = build_simulator(load_settings(flags, env={}))

    async def main() -> float:
        async with sim:
            for i in range(50):
                await sim.call(*CALLS[i % len(CALLS)], session_key="warm-up")
            start = time.perf_counter()
            for i in range(n):
                await sim.call(*CALLS[i % len(CALLS)], session_key=f"s{i % 20}")
            return (time.perf_counter() - start) / n

    return anyio.run(main)


def bench_replay(sessions: int, per_session: int) -> None:
    from gtm_mcp.calls.cassette import load_episodes

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cassette = root / "cassette.jsonl"
        fs, tm = filesystem_server(root), time_server()
        plan = replay_plan(root, sessions, per_session)
        hybrid = ["--mirror", fs.spec, "--mirror", tm.spec, "--real", "write_file", "read_text_file",
                  "get_current_time", "--log-level", "warning"]
        with console.status(f"replay: recording {len(plan)} calls (hybrid)"):
            with serve_http(*hybrid) as server:
                _, plain_s = anyio.run(run_plan, server.url, plan)
            with serve_http(*hybrid, "--record", str(cassette)) as server:
                recorded, record_s = anyio.run(run_plan, server.url, plan)
        with console.status(f"replay: replaying {len(plan)} calls"), \
                serve_http("--replay", str(cassette), "--log-level", "warning") as server:
            replayed, replay_s = anyio.run(run_plan, server.url, plan)
        episodes = load_episodes(cassette)
        size = cassette.stat().st_size
    first_answer: dict[str, str] = {}
    repeats_differing = 0
    for (session, tool, args), (text, _, _) in zip(plan, recorded, strict=True):
        key = f"{session} {tool} {sorted(args.items())}"
        if key in first_answer and first_answer[key] != text:
            repeats_differing += 1
        first_answer.setdefault(key, text)
    same = sum((a[0], a[1]) == (b[0], b[1]) for a, b in zip(recorded, replayed, strict=True))
    origins = Counter(o for _, _, o in recorded)
    table = Table(title=f"record / replay round trip: {len(plan)} calls in {sessions} sessions")
    table.add_column("figure")
    table.add_column("value")
    table.add_row("calls recorded (origin)", ", ".join(f"{o} {c}" for o, c in sorted(origins.items())))
    table.add_row("episodes in the cassette / bytes", f"{len(episodes)} / {size}")
    table.add_row("replayed identically (text and isError)", f"{same} / {len(plan)}")
    table.add_row("replayed answers origin", ", ".join(f"{o} {c}" for o, c in Counter(o for *_, o in replayed).items()))
    table.add_row("repeated identical calls with a different recorded answer (replayed in order)",
                  str(repeats_differing))
    table.add_row("per call: hybrid without recording (ms)", ms(plain_s / len(plan)))
    table.add_row("per call: hybrid recording (ms)", ms(record_s / len(plan)))
    table.add_row("per call: replaying (ms)", ms(replay_s / len(plan)))
    with tempfile.TemporaryDirectory() as tmp, console.status("replay: in-process recording cost"):
        cassette = Path(tmp) / "c.jsonl"
        rounds = {"plain": [], "recording": [], "replaying": []}
        for _ in range(3):  # interleaved rounds
            rounds["plain"].append(in_process_per_call({}, 1000))
            rounds["recording"].append(in_process_per_call({"record": str(cassette)}, 1000))
            rounds["replaying"].append(in_process_per_call({"replay": str(cassette), "tools": [str(EXAMPLES)]},
                                                           1000))
    med = {k: statistics.median(v) for k, v in rounds.items()}
    table.add_row("in-process per call (schema backend): plain / recording / replaying (ms)",
                  f"{ms(med['plain'])} / {ms(med['recording'])} / {ms(med['replaying'])}")
    console.print(table)


# -- 4. hybrid overhead ------------------------------------------------------------------------------------

async def direct(spec_argv: list[str], n: int) -> float:
    from mcp import Client, StdioServerParameters

    async with Client(StdioServerParameters(command=spec_argv[0], args=spec_argv[1:])) as client:
        for _ in range(10):
            await client.call_tool("get_current_time", {"timezone": "UTC"})
        start = time.perf_counter()
        for _ in range(n):
            await client.call_tool("get_current_time", {"timezone": "UTC"})
        return (time.perf_counter() - start) / n


async def through(url: str, tool: str, args: dict, n: int) -> float:
    from mcp import Client

    async with Client(url) as client:
        for _ in range(10):
            await client.call_tool(tool, args)
        start = time.perf_counter()
        for _ in range(n):
            await client.call_tool(tool, args)
        return (time.perf_counter() - start) / n


def bench_hybrid(n: int, rounds: int = 3) -> None:
    tm = time_server()
    zone = {"timezone": "UTC"}
    figures: dict[str, list[float]] = {"direct": [], "real": [], "simulated": []}
    with serve_http("--mirror", tm.spec, "--real", "get_current_time", "--log-level", "warning") as server:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("hybrid overhead", total=rounds)
            for _ in range(rounds):  # interleaved rounds: background load hits all three alike
                figures["direct"].append(anyio.run(direct, tm.argv, n))
                figures["real"].append(anyio.run(through, server.url, "get_current_time", zone, n))
                figures["simulated"].append(anyio.run(through, server.url, "convert_time",
                                                      {"source_timezone": "UTC", "time": "12:00",
                                                       "target_timezone": "Asia/Tokyo"}, n))
                progress.advance(task)
    med = {k: statistics.median(v) for k, v in figures.items()}
    table = Table(title=f"hybrid overhead per call, median of {rounds} rounds x {n} sequential calls")
    table.add_column("path")
    table.add_column("ms per call")
    table.add_row("real get_current_time, SDK client over stdio (direct)", ms(med["direct"]))
    table.add_row("real get_current_time through gtm-mcp (HTTP -> upstream stdio)", ms(med["real"]))
    table.add_row("simulated convert_time through gtm-mcp (HTTP)", ms(med["simulated"]))
    table.add_row("overhead of routing a real call through gtm-mcp", ms(med["real"] - med["direct"]))
    table.add_row("real through gtm-mcp minus simulated through gtm-mcp", ms(med["real"] - med["simulated"]))
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="faults,latency,replay,hybrid")
    parser.add_argument("--calls", type=int, default=4000, help="calls per fault configuration")
    parser.add_argument("--latency-calls", type=int, default=400, help="calls with latency (over MCP)")
    parser.add_argument("--sessions", type=int, default=20, help="replay: sessions")
    parser.add_argument("--per-session", type=int, default=12, help="replay: calls per session")
    parser.add_argument("--hybrid-calls", type=int, default=200, help="hybrid: calls per round and path")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if "faults" in only:
        bench_faults(args.calls)
    if "latency" in only:
        bench_latency(args.latency_calls)
    if "replay" in only:
        bench_replay(args.sessions, args.per_session)
    if "hybrid" in only:
        bench_hybrid(args.hybrid_calls)


if __name__ == "__main__":
    main()
