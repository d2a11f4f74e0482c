"""The MCP server object: the handlers of tools, resources, prompts, completion and logging over the
low-level SDK `Server` (the surface handlers live in `gtm_mcp.server.surface_handlers`)."""

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
from gtm_mcp.server.notify import ChangeNotifier
from gtm_mcp.server.surface_handlers import SurfaceHandlers
from gtm_mcp.sessions.keys import resolve_session_key
from gtm_mcp.surface.catalog import SurfaceCatalog

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Every tool here is simulated by GTM-MCP: results are plausible and consistent within a session, "
    "but nothing real happens. Name a session (episode) with _meta['gtm-mcp/session']."
)


class GTMServer(Server[Any]):
    """The SDK server, announcing `listChanged: true` to handshake-era clients (tools, resources and
    prompts change at run time)."""

    notifier: ChangeNotifier

    def create_initialization_options(self, notification_options: NotificationOptions | None = None,
                                      experimental_capabilities: dict[str, dict[str, Any]] | None = None,
                                      extensions: dict[str, dict[str, Any]] | None = None) -> InitializationOptions:
        every_list = NotificationOptions(tools_changed=True, resources_changed=True, prompts_changed=True)
        return super().create_initialization_options(notification_options or every_list,
                                                     experimental_capabilities, extensions)


def _request_parts(ctx: Any) -> tuple[str | None, str | None]:
    """(session from the HTTP path /mcp/<session>, legacy Mcp-Session-Id header) of an HTTP request."""
    request = getattr(ctx, "request", None)
    if request is None:
        return None, None
    path_params = getattr(request, "path_params", None) or {}
    headers = getattr(request, "headers", None)
    return path_params.get("session"), headers.get("mcp-session-id") if headers is not None else None


def build_server(simulator: Simulator, *, stdio: bool = False, name: str = "gtm-mcp",
                 surface: SurfaceCatalog | None = None, page_size: int = 500) -> GTMServer:
    """The MCP server: tools from the simulator's catalog (`tools/list` in pages of `page_size`,
    opaque cursors), and resources, resource templates and prompts from `surface` (an empty catalog
    when None), with completion and logging."""
    surface = surface if surface is not None else SurfaceCatalog()

    def session_of(ctx: Any, params: Any) -> str:
        path_session, header_session = _request_parts(ctx)
        return resolve_session_key(getattr(params, "meta", None) or {}, path_session, header_session, stdio=stdio)

    notifier = ChangeNotifier(session_of)
    simulator.catalog.on_change(notifier.changed)
    handlers = SurfaceHandlers(simulator, surface, notifier, session_of)
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
        key = session_of(ctx, params)
        # Simulator.call never raises: every failure is an isError result (internals only in the log).
        result = await handlers.call_tool(ctx, params.name, params.arguments, key, meta)
        return types.CallToolResult(
            content=await handlers.result_content(params.name, params.arguments, result, key),
            structured_content=result.structured,
            is_error=result.is_error,
            meta=result.meta or None,
        )

    @asynccontextmanager
    async def lifespan(server: Server[Any]) -> AsyncIterator[dict[str, Any]]:
        async with anyio.create_task_group() as tg:
            tg.start_soon(notifier.run)
            yield {"simulator": simulator, "surface": surface}
            tg.cancel_scope.cancel()

    def input_schema_of(tool_name: str) -> Mapping[str, Any] | None:
        tool = simulator.catalog.get(tool_name)
        return tool.input_schema if tool else None

    server = GTMServer(name, version=__version__, instructions=INSTRUCTIONS, lifespan=lifespan,
                       get_tool_input_schema=input_schema_of, on_list_tools=on_list_tools,
                       on_call_tool=on_call_tool, on_subscriptions_listen=notifier.listen_handler,
                       on_list_resources=handlers.list_resources,
                       on_list_resource_templates=handlers.list_resource_templates,
                       on_read_resource=handlers.read_resource, on_subscribe_resource=handlers.subscribe,
                       on_unsubscribe_resource=handlers.unsubscribe, on_list_prompts=handlers.list_prompts,
                       on_get_prompt=handlers.get_prompt, on_completion=handlers.complete)
    # Logging is deprecated in the 2026-07-28 spec but handshake-era clients use it; registered
    # here rather than as a constructor argument, which would warn on every start.
    server.add_request_handler("logging/setLevel", types.SetLevelRequestParams, handlers.set_level)

    async def track_connections(ctx: Any, call_next: Any) -> Any:
        """Every handshake-era connection hears about list changes from its first message on
        (`notifications/initialized`), not only once it made a request."""
        notifier.track(ctx)
        return await call_next(ctx)

    server.middleware.append(track_connections)
    server.surface_handlers = handlers  # type: ignore[attr-defined]
    server.notifier = notifier
    return server
