"""An MCP server (stdio) serving tau-bench's real tools of one domain, so that `gtm-synth record`
records them like any other MCP server:

    python -m synthesis.record.tau_server --domain retail [--root ../shared/data/tau-bench]

Each session gets its own fresh deep copy of the domain's JSON database (a session is named by the
call's `_meta["gtm-synth/session"]`; without one, the process is one session), so episodes never see
each other's writes. A call runs the tool's own `invoke(data, **arguments)` exactly as tau-bench's
environment does: a returned `Error: ...` string and an exception (tau-bench turns both into
`Error: <text>` observations) become isError results whose text is what follows `Error: `, so the
prompt format's `Error: <text>` reproduces tau-bench's observation exactly. Other answers are text.
Nothing is validated here: tau-bench does not validate arguments either."""

from __future__ import annotations

import argparse
import logging
import pickle
import sys
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

SESSION_KEY = "gtm-synth/session"
MAX_SESSIONS = 32
log = logging.getLogger("synthesis.tau_server")


class Worlds:
    """A fresh copy of the database per session (least recently used dropped past `limit`)."""

    def __init__(self, pristine: dict[str, Any], limit: int = MAX_SESSIONS) -> None:
        self._blob = pickle.dumps(pristine, protocol=pickle.HIGHEST_PROTOCOL)
        self._sessions: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.limit = limit

    def get(self, key: str) -> dict[str, Any]:
        if key in self._sessions:
            self._sessions.move_to_end(key)
            return self._sessions[key]
        world = pickle.loads(self._blob)  # a deep copy, ~10x faster than copy.deepcopy
        self._sessions[key] = world
        while len(self._sessions) > self.limit:
            self._sessions.popitem(last=False)
        return world


def invoke(tool: Any, data: dict[str, Any], arguments: Mapping[str, Any]) -> tuple[str, bool]:
    """(text, is_error) as tau-bench's environment would observe it."""
    try:
        text = tool.invoke(data=data, **dict(arguments))
    except Exception as e:  # tau-bench's Env.step: observation = f"Error: {e}"
        return str(e), True
    text = text if isinstance(text, str) else str(text)
    if text.startswith("Error: "):
        return text[len("Error: "):], True
    return text, False


def build_server(domain_name: str, root: str) -> Any:
    import anyio
    import mcp.types as types
    from mcp.server import Server

    from synthesis.record.tau import load_domain

    domain = load_domain(root, domain_name)
    worlds = Worlds(domain.load_data())
    listing = types.ListToolsResult(tools=[types.Tool(name=d.name, description=d.description,
                                                      input_schema=d.input_schema) for d in domain.definitions])
    lock = anyio.Lock()

    async def on_list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return listing

    async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        tool = domain.tools.get(params.name)
        if tool is None:
            return types.CallToolResult(content=[types.TextContent(type="text", text=f"Unknown tool: {params.name}")],
                                        is_error=True)
        key = str((params.meta or {}).get(SESSION_KEY) or "default")
        async with lock:  # one call at a time per process: tau-bench's tools mutate shared dicts
            data = worlds.get(key)
            text, is_error = await anyio.to_thread.run_sync(invoke, tool, data, params.arguments or {})
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=is_error)

    return Server(f"tau-bench-{domain_name}", version="1", on_list_tools=on_list_tools, on_call_tool=on_call_tool)


async def serve(domain: str, root: str) -> None:
    from mcp.server.stdio import stdio_server

    server = build_server(domain, root)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def main(argv: list[str] | None = None) -> int:
    import anyio

    parser = argparse.ArgumentParser(prog="python -m synthesis.record.tau_server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domain", choices=["retail", "airline"], required=True)
    parser.add_argument("--root", default=None, help="the tau-bench checkout (default: $SHARED_DATA/tau-bench "
                        "or ../shared/data/tau-bench)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    import os
    from pathlib import Path

    shared = os.environ.get("SHARED_DATA") or os.environ.get("GTM_SHARED_DATA") or "../shared/data"
    root = args.root or str(Path(shared) / "tau-bench")
    from synthesis.record.tau import TauUnavailable

    try:
        anyio.run(serve, args.domain, root)
    except TauUnavailable as e:
        print(f"tau_server: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
