"""The `local` backend on the packaged SmolLM2-135M (CPU): schema-constrained (xgrammar) vs free
decoding, and batched vs one-at-a-time generation of concurrent calls.

    .venv/bin/python benchmarks/backend_local_constrained.py [--calls 8] [--max-new-tokens 64]

tok/s = generated tokens / time spent in `generate` (model load excluded); `valid` counts answers
that parse and satisfy the output schema.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import anyio
import jsonschema
from backend_common import TOOLS

from gtm_mcp.backends.local import LocalBackend
from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.contract.prompt import parse_answer
from gtm_mcp.contract.records import SimulationRequest

ARGS = {"get_weather": [{"city": c} for c in ("Paris", "Oslo", "Lima", "Kyoto")],
        "create_note": [{"title": t} for t in ("groceries", "call mum", "ideas", "trip")],
        "echo": [{"text": t} for t in ("hello", "ping", "abc", "GTM")]}


def requests(n: int) -> list[SimulationRequest]:
    tools = [ToolDefinition(name=t["name"], description=t["description"], input_schema=t["inputSchema"],
                            output_schema=t["outputSchema"]) for t in json.loads(TOOLS.read_text())["tools"]]
    out = []
    for i in range(n):
        tool = tools[i % len(tools)]
        out.append(SimulationRequest(tool=tool, arguments=ARGS[tool.name][i // len(tools) % 4], session_id=f"s{i}",
                                     output_schema=tool.output_schema or {}))
    return out


async def run(backend: LocalBackend, reqs: list[SimulationRequest], concurrent: bool) -> dict[str, Any]:
    await backend.simulate(reqs[0])  # load + warm
    for key in ("generated_tokens", "generate_s", "batches", "batched_requests"):
        backend.stats[key] = 0
    outs: list[str] = [""] * len(reqs)
    start = time.perf_counter()
    if concurrent:
        async def one(i: int) -> None:
            outs[i] = await backend.simulate(reqs[i])

        async with anyio.create_task_group() as tg:
            for i in range(len(reqs)):
                tg.start_soon(one, i)
    else:
        for i, r in enumerate(reqs):
            outs[i] = await backend.simulate(r)
    wall = time.perf_counter() - start
    valid = 0
    for r, text in zip(reqs, outs, strict=True):
        try:
            jsonschema.validate(parse_answer(text), r.output_schema)
            valid += 1
        except (ValueError, jsonschema.ValidationError):
            pass
    s = backend.stats
    return {"wall_s": round(wall, 2), "tokens": s["generated_tokens"],
            "tok_s": round(s["generated_tokens"] / s["generate_s"], 2) if s["generate_s"] else None,
            "batches": s["batches"], "valid": f"{valid}/{len(reqs)}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--calls", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    args = parser.parse_args()
    reqs = requests(args.calls)
    report: dict[str, Any] = {"model": args.model, "calls": args.calls, "max_new_tokens": args.max_new_tokens}
    cases = {"free_sequential": dict(constrained="off", concurrent=False, max_batch=1),
             "constrained_sequential": dict(constrained="on", concurrent=False, max_batch=1),
             "constrained_concurrent_unbatched": dict(constrained="on", concurrent=True, max_batch=1),
             "constrained_concurrent_batched": dict(constrained="on", concurrent=True, max_batch=8)}
    for name, case in cases.items():
        backend = LocalBackend(args.model, max_new_tokens=args.max_new_tokens, constrained=case["constrained"],
                               max_batch=case["max_batch"], timeout_s=3600)
        report[name] = anyio.run(run, backend, reqs, case["concurrent"])
        print(name, report[name], file=sys.stderr)
    free, cons = report["free_sequential"]["tok_s"], report["constrained_sequential"]["tok_s"]
    report["constrained_speed_vs_free"] = round(cons / free, 3) if free and cons else None
    report["batched_speedup_wall"] = round(report["constrained_concurrent_unbatched"]["wall_s"]
                                           / report["constrained_concurrent_batched"]["wall_s"], 2)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
