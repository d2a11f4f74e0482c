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
from mcp.shared.exceptions import MCPError

from gtm_mcp import __version__
from gtm_mcp.calls.pipeline import Simulator, failure_id
from gtm_mcp.server.listing import ToolPages
from gtm_mcp.server.notify import ToolChangeNotifier
from gtm_mcp.sessions.keys import resolve_session_key

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Every tool here is simulated by GTM-MCP: results are plausible and consistent within a session, "
    "but nothing real happens. Name a session (episode) with _meta['gtm-mcp/session']."
)


class GTMServer(Server[Any]):
    """The SDK server, announcing `listChanged: true` to handshake-era clients (tools change at run time)."""

    notifier: ToolChangeNotifier

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


def build_server(simulator: Simulator, *, stdio: bool = False, name: str = "gtm-mcp",
                 page_size: int = 500) -> GTMServer:
    """The MCP server for `simulator`: `tools/list` in pages of `page_size` tools (opaque cursors),
    `tools/call` through the call pipeline."""
    notifier = ToolChangeNotifier()
    simulator.catalog.on_change(notifier.changed)
    pages = ToolPages(simulator.catalog, page_size)

    async def on_list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        notifier.track(ctx)
        try:
            return pages.page(params.cursor if params is not None else None)
        except MCPError:
            raise
        except Exception:  # the client gets an id, the log the details
            ref = failure_id()
            log.exception("internal error [%s] in tools/list", ref)
            raise MCPError(types.INTERNAL_ERROR, f"internal error listing tools (ref {ref})") from None

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
    server.notifier = notifier
    return server
