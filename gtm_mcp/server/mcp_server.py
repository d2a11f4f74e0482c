"""The MCP server object: tools/list and tools/call handlers over the low-level SDK `Server`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp.types as types
from mcp.server import Server
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.models import InitializationOptions

from gtm_mcp import __version__
from gtm_mcp.calls.pipeline import Simulator
from gtm_mcp.server.notify import ToolChangeNotifier
from gtm_mcp.sessions.keys import resolve_session_key

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Every tool here is simulated by GTM-MCP: results are plausible and consistent within a session, "
    "but nothing real happens. Name a session (episode) with _meta['gtm-mcp/session']."
)


class GTMServer(Server[Any]):
    """The SDK server, announcing `listChanged: true` to handshake-era clients (tools change at run time)."""

    def create_initialization_options(self, notification_options: NotificationOptions | None = None,
                                      experimental_capabilities: dict[str, dict[str, Any]] | None = None,
                                      extensions: dict[str, dict[str, Any]] | None = None) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or NotificationOptions(tools_changed=True), experimental_capabilities, extensions)


def _request_parts(ctx: Any) -> tuple[str | None, str | None]:
    """(session from the HTTP path /mcp/<session>, legacy Mcp-Session-Id header) of an HTTP request."""
    request = getattr(ctx, "request", None)
    if request is None:
        return None, None
    path_params = getattr(request, "path_params", None) or {}
    headers = getattr(request, "headers", None)
    return path_params.get("session"), headers.get("mcp-session-id") if headers is not None else None


def build_server(simulator: Simulator, *, stdio: bool = False, name: str = "gtm-mcp") -> GTMServer:
    notifier = ToolChangeNotifier()
    simulator.catalog.on_change(notifier.changed)
    cache: dict[str, Any] = {"version": -1, "result": None}

    def list_result() -> types.ListToolsResult:
        if cache["version"] != simulator.catalog.version:
            tools = [types.Tool(name=t.name, description=t.description, input_schema=t.input_schema,
                                output_schema=t.output_schema) for t in simulator.catalog.tools()]
            cache.update(version=simulator.catalog.version, result=types.ListToolsResult(tools=tools))
        return cache["result"]

    async def on_list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        notifier.track(ctx)
        return list_result()

    async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        notifier.track(ctx)
        meta: Mapping[str, Any] = params.meta or {}
        path_session, header_session = _request_parts(ctx)
        key = resolve_session_key(meta, path_session, header_session, stdio=stdio)
        # Simulator.call never raises: every failure is an isError result (internals only in the log).
        result = await simulator.call(params.name, params.arguments, session_key=key, meta=meta)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=result.text)],
            structured_content=result.structured,
            is_error=result.is_error,
            meta=result.meta or None,
        )

    @asynccontextmanager
    async def lifespan(server: Server[Any]) -> AsyncIterator[dict[str, Any]]:
        async with anyio.create_task_group() as tg:
            tg.start_soon(notifier.run)
            yield {"simulator": simulator}
            tg.cancel_scope.cancel()

    def input_schema_of(tool_name: str) -> Mapping[str, Any] | None:
        tool = simulator.catalog.get(tool_name)
        return tool.input_schema if tool else None

    server = GTMServer(name, version=__version__, instructions=INSTRUCTIONS, lifespan=lifespan,
                       get_tool_input_schema=input_schema_of, on_list_tools=on_list_tools,
                       on_call_tool=on_call_tool, on_subscriptions_listen=notifier.listen_handler)
    return server
