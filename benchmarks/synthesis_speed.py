"""Synthesis speed, two figures:

1. The deterministic stages over 20,000 real tools (Seal-Tools, StableToolBench, the toolsdk
   registry and LiveMCPBench are ~15k; the rest are variations of real ones): import through the
   server's importers, tool checks, embedding (cold cache), dedup, grouping, the four error
   generators (each error confirmed by the server's argument check), splitting and the export.
   Target: minutes on 2 cores.
2. Teacher throughput end to end: stage 4 (single-turn generation: prompt, request, answer parsing,
   rejection, JSONL writes) against /work/shared/checks/slow_openai.py answering every request in
   a fixed 1 s, 64 requests in flight, cache off. Target: >= 0.9 x 64 calls/s. Measured in the same
   run: the teacher client alone, bare httpx posts, and each one's CPU time per call in this
   process (what decides the rate once the machine is busy: 64 calls/s need 64 x that per second).

    .venv/bin/python benchmarks/synthesis_speed.py [--tools 20000] [--calls 640] [--skip-deterministic]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("SHARED_DATA") or os.environ.get("GTM_SHARED_DATA") or ROOT.parent / "shared" / "data")
SLOW = Path("/work/shared/checks/slow_openai.py")
PREFIXES = ("For logistics teams: ", "In a hospital setting, ", "Enterprise edition: ", "For online stores, ",
            "Education platform: ", "Mobile app backend: ")


def timed(label: str, figures: dict, fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    figures[label] = round(time.perf_counter() - start, 2)
    print(f"  {label:<34} {figures[label]:>8.2f} s", file=sys.stderr, flush=True)
    return result


def real_tools(count: int):
    from gtm_mcp.tools.loader import load_lenient

    tools, _ = load_lenient([DATA / "seal-tools" / "tool.jsonl", DATA / "stabletoolbench",
                             DATA / "toolsdk-mcp-registry" / "packages-list.json",
                             DATA / "livemcpbench" / "tools.json"])
    real = len(tools)
    rng = random.Random(0)
    i = 0
    while len(tools) < count:  # variations of real tools: another name, a reworded description
        base = tools[rng.randrange(real)]
        prefix = PREFIXES[i % len(PREFIXES)]
        tools.append(base.model_copy(update={"name": f"{base.name[:100]}_v{i}",
                                             "description": prefix + base.description}))
        i += 1
    return tools[:count], real


def deterministic(count: int) -> dict:
    from gtm_mcp.calls.arguments import check_arguments, format_problems
    from gtm_mcp.contract import CallRecord, EpisodeRecord
    from synthesis.dedup import near_duplicates
    from synthesis.embed import Embedder
    from synthesis.errorgen import KINDS, bad_call
    from synthesis.export import ExportSettings, export
    from synthesis.grouping import greedy_groups
    from synthesis.splits import tool_split
    from synthesis.toolcheck import tool_problems
    from synthesis.values import sample_arguments

    figures: dict = {}
    print(f"deterministic stages over {count} tools:", file=sys.stderr)
    tools, real = timed("import (server importers)", figures, real_tools, count)
    figures["real_tools"] = real
    timed("tool checks", figures, lambda: [tool_problems(t, need_description=False) for t in tools])
    with tempfile.TemporaryDirectory() as tmp:
        embedder = Embedder(cache_dir=Path(tmp) / "emb", progress=False)
        vectors = timed("embedding (cold cache)", figures, embedder.embed_tools, tools)
        kept = timed("dedup (cosine >= 0.8)", figures, near_duplicates, [t.name for t in tools], vectors, 0.8)
        figures["kept_after_dedup"] = len(kept.kept)
        tools = [tools[i] for i in kept.kept]
        vectors = vectors[kept.kept]
        labels = [tool_split(t.name, 0) for t in tools]
        groups = timed("grouping (2000 groups)", figures, greedy_groups, vectors, random.Random(0), groups=2000,
                       size=(2, 4), threshold=0.45, labels=labels)
        figures["groups"] = len(groups)

        def errors() -> list:
            out = []
            for i, tool in enumerate(tools):
                valid = sample_arguments(tool, random.Random(i))
                if valid is None:
                    continue
                for kind in KINDS:
                    bad = bad_call(kind, tool, valid, random.Random(i))
                    if bad is not None:
                        message = format_problems(tool, check_arguments(tool, bad.arguments))
                        out.append(EpisodeRecord(id=f"error:{tool.name}:{kind}", tools=[tool], source="carg:error",
                                                 calls=[CallRecord(tool.name, bad.arguments, message, True)]))
            return out

        episodes = timed("error generators + server check", figures, errors)
        figures["error_episodes"] = len(episodes)
        source = Path(tmp) / "errors.jsonl"
        source.write_text("".join(e.to_json_line() + "\n" for e in episodes), encoding="utf-8")
        card = timed("split + export (render, write)", figures, export, Path(tmp) / "export", [source],
                     ExportSettings(holdout_servers={}, progress=False))
        figures["sft_records"] = sum(s["sft_records"] for s in card["splits"].values())
    figures["total_s"] = round(sum(v for k, v in figures.items() if k.endswith(
        ("importers)", "checks", "cache)", "0.8)", "groups)", "check", "write)"))), 2)
    return figures


async def teacher_throughput(url: str, calls: int, concurrency: int) -> dict:
    """Calls/s and this process's CPU time per call (independent of what else the machine runs) for:
    bare httpx posts (the baseline), the teacher client, and stage 4 end to end. A warm-up round
    first; the baseline is measured before and after the others and the better figure is kept."""
    from gtm_mcp.contract import ToolDefinition
    from synthesis.config import RunConfig, SingleConfig, TeacherConfig
    from synthesis.stages.base import Run
    from synthesis.stages.single import run_single
    from synthesis.teacher import Teacher
    from synthesis.toolfile import ToolEntry

    config = TeacherConfig(base_url=url, model="slow", concurrency=concurrency, cache=False, max_retries=0)
    limiter = anyio.Semaphore(concurrency)

    async def measured(body) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        await body()
        return time.perf_counter() - wall, time.process_time() - cpu

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency * 2), timeout=60) as client:
        async def posts(n: int) -> None:
            async def post(i: int) -> None:
                async with limiter:
                    await client.post(f"{url}/chat/completions",
                                      json={"model": "slow", "messages": [{"role": "user", "content": f"q{i}"}]})

            async with anyio.create_task_group() as tg:
                for i in range(n):
                    tg.start_soon(post, i)

        await posts(concurrency)  # warm-up: connections, the endpoint's first requests
        baseline = [await measured(lambda: posts(calls))]
        teacher = Teacher(config)

        async def client_calls() -> None:
            async with anyio.create_task_group() as tg:
                for i in range(calls):
                    tg.start_soon(lambda i=i: teacher.complete([{"role": "user", "content": f"q{i}"}], purpose="raw"))

        await client_calls()  # warm-up of the client's own pool
        raw = await measured(client_calls)
        await teacher.aclose()
        # stage 4 over `calls` tools (one sample each): the slow endpoint's answer is junk for a sample,
        # so each item is one request, then a rejection written to JSONL
        tools = [ToolEntry(ToolDefinition(name=f"tool_{i}", description=f"Tool number {i} returns a record.",
                                          input_schema={"type": "object", "properties": {"q": {"type": "string"}}}))
                 for i in range(calls)]
        with tempfile.TemporaryDirectory() as tmp:
            run = Run(RunConfig(out=tmp, teacher=config), progress=False)
            stats: dict = {}

            async def stage() -> None:
                stats.update(await run_single(run, tools, SingleConfig(samples_per_tool=1, retry_rounds=0)))

            staged = await measured(stage)
            await run.close()
        baseline.append(await measured(lambda: posts(calls)))
    best = min(baseline)

    def per_s(wall: float) -> float:
        return round(calls / wall, 1)

    def cpu_ms(cpu: float) -> float:
        return round(cpu / calls * 1000, 2)

    return {"calls": calls, "concurrency": concurrency, "delay_s": 1.0,
            "target_calls_per_s": round(0.9 * concurrency, 1),
            "httpx_baseline_calls_per_s": per_s(best[0]), "teacher_client_calls_per_s": per_s(raw[0]),
            "stage_calls_per_s": per_s(staged[0]), "stage_vs_httpx_baseline": round(best[0] / staged[0], 3),
            "cpu_ms_per_call": {"httpx": cpu_ms(best[1]), "teacher_client": cpu_ms(raw[1]), "stage": cpu_ms(staged[1])},
            "stage_rejected_as_junk": stats.get("junk")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tools", type=int, default=20000)
    parser.add_argument("--calls", type=int, default=640)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--slow-endpoint", default=str(SLOW), help="path of slow_openai.py (PORT SECONDS)")
    parser.add_argument("--skip-deterministic", action="store_true")
    parser.add_argument("--skip-teacher", action="store_true")
    args = parser.parse_args()
    result: dict = {}
    if not args.skip_teacher:
        from gtm_mcp.launch import free_port

        port = free_port()
        proc = subprocess.Popen([sys.executable, args.slow_endpoint, str(port), "1.0"])
        try:
            for _ in range(100):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            result["teacher"] = anyio.run(teacher_throughput, f"http://127.0.0.1:{port}/v1", args.calls,
                                          args.concurrency)
            print(json.dumps(result["teacher"]), file=sys.stderr)
        finally:
            proc.terminate()
            proc.wait(10)
    if not args.skip_deterministic:
        result["deterministic"] = deterministic(args.tools)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
