"""What the MCP surface adds to a tool call: calls per second (and CPU time per call) through the
official client connected in process to the server object, with

- `tools only`: one echo tool, no resources or prompts (the baseline);
- `with surface`: the same tool beside the bundled example resources, templates and prompts;
- `write call`: a tool whose calls write a resource (`write_note(path, content)`), so every call
  works out what it changed and updates the session's copy;
- `logging + progress`: the client asked for debug logs and sends a progress token (five
  notifications per call);
- `image result`: a tool declaring an image result (a PNG made per call).

Rounds alternate between the configurations, the figure is the median; ratios are against the
baseline measured in the same run. In process, so the figures are the server's own work (no HTTP).

    python benchmarks/surface_overhead.py [--calls 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import anyio

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
warnings.filterwarnings("ignore")

from mcp import Client  # noqa: E402

from gtm_mcp.config import load_settings  # noqa: E402
from gtm_mcp.server.mcp_server import build_server  # noqa: E402
from gtm_mcp.server.runtime import build_runtime  # noqa: E402

SCHEMA = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
TOOLS = {"format": "gtm", "tools": [
    {"name": "echo", "description": "Echo the text back.", "input_schema": SCHEMA, "output_schema": SCHEMA},
    {"name": "write_note", "description": "Write a note.", "input_schema": {
        "type": "object", "properties": {"path": {"type": "string"}, "content": {"type": "string"}}}},
    {"name": "snapshot", "description": "Take a picture.", "input_schema": SCHEMA,
     "output_content": [{"type": "image", "mime_type": "image/png"}]}],
    "resource_templates": [{"uri_template": "notes:///{+path}", "name": "Note", "mime_type": "text/markdown"}]}


def server(paths: list[str]) -> Any:
    simulator, surface = build_runtime(load_settings({"tools": paths}, env={}))
    return build_server(simulator, surface=surface)


async def measure(srv: Any, tool: str, arguments: dict[str, Any], calls: int, chatty: bool) -> tuple[float, float]:
    async def ignore(*_: Any) -> None:
        return None

    async with Client(srv, mode="legacy", logging_callback=ignore) as client:
        if chatty:
            await client.set_logging_level("debug")
        extra = {"progress_callback": ignore} if chatty else {}
        for i in range(20):
            await client.call_tool(tool, {**arguments, "text": f"warm {i}"} if "text" in arguments else arguments)
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(calls):
            args = {**arguments, "content": f"line {i}"} if tool == "write_note" else arguments
            await client.call_tool(tool, args, **extra)
        return calls / (time.perf_counter() - wall), 1000 * (time.process_time() - cpu) / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        only = Path(tmp) / "echo.json"
        only.write_text(json.dumps({"tools": [{"name": "echo", "description": "Echo.", "inputSchema": SCHEMA,
                                               "outputSchema": SCHEMA}]}))
        full = Path(tmp) / "surface.json"
        full.write_text(json.dumps(TOOLS))
        examples = str(REPO / "gtm_mcp" / "examples" / "tools.json")
        bare, rich = server([str(only)]), server([str(full), examples])
        configs = {"tools only": (bare, "echo", {"text": "hi"}, False),
                   "with surface": (rich, "echo", {"text": "hi"}, False),
                   "write call": (rich, "write_note", {"path": "/a.md"}, False),
                   "logging + progress": (rich, "echo", {"text": "hi"}, True),
                   "image result": (rich, "snapshot", {"text": "hi"}, False)}
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in configs}
        for round_ in range(args.rounds):
            for name, (srv, tool, arguments, chatty) in configs.items():
                results[name].append(anyio.run(measure, srv, tool, arguments, args.calls, chatty))
            print(f"round {round_ + 1} done", file=sys.stderr)
    base = statistics.median(r[0] for r in results["tools only"])
    print(f"{args.calls} calls x {args.rounds} rounds, in process, one client")
    print(f"{'configuration':<22}{'calls/s':>10}{'cpu ms/call':>14}{'ratio':>8}")
    for name, runs in results.items():
        rate = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(f"{name:<22}{rate:>10.1f}{cpu:>14.3f}{rate / base:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
