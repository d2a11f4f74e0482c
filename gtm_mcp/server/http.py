"""Streamable HTTP: the MCP endpoint at `/mcp` and `/mcp/<session>`, `/healthz`, and admin routes
for run-time registration (tools, and the resources and prompts a posted document holds) and
session inspection.

Every route passes the same Host/Origin check as `/mcp` (`gtm_mcp.server.guard`); admin writes
need `application/json` and stay under `--max-admin-body`; parsing an upload, and rendering large
admin answers, run in worker threads so the event loop keeps serving calls.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from typing import Any

import anyio.to_thread
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gtm_mcp.calls.checking import PROFILES
from gtm_mcp.calls.pipeline import Simulator
from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.contract.errors import DuplicateToolError, ToolProblem
from gtm_mcp.contract.surface import SurfaceDefinitions
from gtm_mcp.server.admin_surface import surface_routes
from gtm_mcp.server.guard import LOOPBACK, BodyLimit, HostOriginGuard, Refused, guarded, json_body, security_settings
from gtm_mcp.server.mcp_server import GTMServer
from gtm_mcp.server.shims import shim_routes
from gtm_mcp.sessions.store import Session
from gtm_mcp.sessions.world import WorldError, check_world
from gtm_mcp.surface.catalog import DuplicateDefinitionError, SurfaceCatalog
from gtm_mcp.tools.loader import parse_document, resolve_names
from gtm_mcp.tools.surface_formats import parse_surface, surface_duplicates
from gtm_mcp.work import run_cpu

__all__ = ["LOOPBACK", "build_http_app"]


class _JSON(Response):
    """A JSON response whose body was already rendered (in a worker thread)."""

    media_type = "application/json"


async def _json_in_thread(data: Any, status: int = 200) -> Response:
    return _JSON(await run_cpu(lambda: json.dumps(data, ensure_ascii=False).encode()), status)


def _parse_upload(doc: Any, source: str, fmt: str | None, namespace: Any,
                  profile: str | None) -> tuple[list[ToolDefinition], SurfaceDefinitions, list[ToolProblem]]:
    """An admin upload's tools, resources and prompts, and problems (worker thread: linear in the
    document's size)."""
    tools, problems = parse_document(doc, source, fmt, kind="admin")
    surface, more = parse_surface(doc, source, kind="admin")
    problems += more + surface_duplicates(surface)
    if profile is not None:  # every tool of the document checks its arguments this way
        tools = [t.model_copy(update={"check_profile": profile}) for t in tools]
    tools, clashes = resolve_names(tools, namespace)
    return tools, surface, problems + clashes


def build_http_app(server: GTMServer, simulator: Simulator, *, host: str = "127.0.0.1",
                   admin_token: str | None = None, session_idle_timeout_s: float = 1800.0,
                   allowed_hosts: Sequence[str] = (), allowed_origins: Sequence[str] = (),
                   max_admin_body: int = 32 * 1024 * 1024, max_argument_bytes: int = 4 * 1024 * 1024,
                   retrieve_tool: str = "web_search") -> Starlette:
    """The ASGI app. Admin routes answer only on a loopback bind or with `admin_token` (Bearer)."""
    admin_open = host in LOOPBACK
    security = security_settings(host, allowed_hosts, allowed_origins)
    surface_catalog: SurfaceCatalog = server.surface_handlers.catalog  # type: ignore[attr-defined]

    def authorise(request: Request) -> None:
        if admin_token:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), admin_token.encode()):
                raise Refused(401, "admin routes need 'Authorization: Bearer <token>'")
        elif not admin_open:
            raise Refused(403, "admin routes are off: the server is not bound to loopback and no --admin-token "
                          "was set")

    def authorised(request: Request) -> Response | None:
        """`authorise` as a response (for routes that take a checker returning one)."""
        try:
            authorise(request)
        except Refused as refused:
            return refused.response()
        return None

    async def healthz(request: Request) -> Response:
        health = await simulator.backend.health()
        body = {"status": "ok" if health.state != "down" else "degraded",
                "backend": {"name": simulator.backend.name, "state": health.state, "detail": health.detail,
                            **({"info": health.info} if health.info else {})},
                **simulator.stats()}
        return JSONResponse(body)

    async def list_tools(request: Request) -> Response:
        authorise(request)
        return await _json_in_thread({"tools": [{"name": t.name, "description": t.description[:200],
                                                 "source": t.source, "server": t.server,
                                                 "check_profile": t.check_profile}
                                                for t in simulator.catalog.tools()]})

    async def add_tools(request: Request) -> Response:
        authorise(request)
        namespace = request.query_params.get("namespace", "auto")
        if namespace not in ("auto", "always", "never"):
            raise Refused(400, "namespace must be auto, always or never")
        profile = request.query_params.get("check_profile")
        if profile is not None and profile not in PROFILES:
            raise Refused(400, f"check_profile must be one of {', '.join(PROFILES)}")
        doc = await json_body(request)
        fmt = request.query_params.get("format")
        source = request.query_params.get("source") or "admin"
        try:
            tools, surface, problems = await run_cpu(_parse_upload, doc, source, fmt, namespace, profile)
        except ValueError as e:  # an unknown --format name
            raise Refused(400, str(e)) from None
        if problems:
            return await _json_in_thread({"error": "tool definitions refused; nothing was added",
                                          "problems": [p.__dict__ for p in problems]}, 400)
        try:
            surface_catalog.check(surface)  # before the tools go in: all or nothing
            added = simulator.catalog.add(tools)
        except DuplicateToolError as e:
            return JSONResponse({"error": str(e), "tool": e.name}, 409)
        except DuplicateDefinitionError as e:
            return JSONResponse({"error": str(e), e.kind: e.name}, 409)
        body: dict[str, Any] = {"added": added, "tools": len(simulator.catalog)}
        if len(surface):
            body.update(surface=surface_catalog.add(surface), counts=surface_catalog.counts())
        return JSONResponse(body, 201)

    async def remove_tool(request: Request) -> Response:
        authorise(request)
        name = request.path_params["name"]
        removed = simulator.catalog.remove([name])
        if not removed:
            raise Refused(404, f"no tool named {name!r}")
        return JSONResponse({"removed": removed, "tools": len(simulator.catalog)})

    async def sessions(request: Request) -> Response:
        authorise(request)
        return await _json_in_thread({**simulator.sessions.stats(), "sessions": simulator.sessions.summaries()})

    async def session(request: Request) -> Response:
        authorise(request)
        key = request.path_params["key"]
        if request.method == "DELETE":
            return JSONResponse({"dropped": simulator.sessions.drop(key)})
        if request.method == "PUT":
            data = await json_body(request)
            context = data.get("hidden_context") if isinstance(data, dict) else ...
            if not isinstance(data, dict) or not ({"hidden_context", "world"} & set(data)) or (
                    context is not None and not isinstance(context, str)):
                raise Refused(400, 'send {"hidden_context": "text" | null, "world": {...}}')
            try:  # a declared world starts the session again from it
                world = await run_cpu(check_world, data["world"]) if data.get("world") is not None else None
            except WorldError as e:
                raise Refused(400, str(e)) from None

            def change(target: Session) -> None:
                if "world" in data:
                    target.declare_world(world)
                if "hidden_context" in data:
                    target.hidden_context = context

            target = await anyio.to_thread.run_sync(simulator.sessions.edit, key, change)
            return JSONResponse({"key": key, "hidden_context": target.hidden_context, "world": target.world})
        found = simulator.sessions.peek(key)
        if found is None:
            raise Refused(404, f"no session {key!r}")
        return await _json_in_thread({**found.summary(), "hidden_context": found.hidden_context,
                                      "world": found.world, "history": [c.to_json() for c in found.history]})

    routes = [
        Route("/healthz", guarded(healthz), methods=["GET"]),
        Route("/admin/tools", guarded(list_tools), methods=["GET"]),
        Route("/admin/tools", guarded(add_tools), methods=["POST"]),
        Route("/admin/tools/{name:path}", guarded(remove_tool), methods=["DELETE"]),
        Route("/admin/sessions", guarded(sessions), methods=["GET"]),
        Route("/admin/sessions/{key:path}", guarded(session), methods=["GET", "PUT", "DELETE"]),
        *surface_routes(surface_catalog, authorised),
        *shim_routes(simulator, retrieve_tool),  # StableToolBench's /virtual, Search-R1's /retrieve
    ]
    app = server.streamable_http_app(streamable_http_path="/mcp", host=host, custom_starlette_routes=routes,
                                     session_idle_timeout=session_idle_timeout_s, transport_security=security,
                                     # room for the largest arguments a call may carry, plus the envelope
                                     max_request_body_size=max(DEFAULT_MAX_REQUEST_BODY_SIZE,
                                                               max_argument_bytes + 64 * 1024))
    # The same MCP endpoint under /mcp/<session>: the path names the session (episode).
    app.router.routes.append(Route("/mcp/{session}", endpoint=StreamableHTTPASGIApp(server.session_manager)))
    # /mcp checks Host/Origin and body size itself; every other route gets the same Host/Origin check
    # with the same settings, and a body limit.
    app.add_middleware(BodyLimit, limit=max_admin_body)
    app.add_middleware(HostOriginGuard, settings=security)
    return app
