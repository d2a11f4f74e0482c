"""Streamable HTTP: the MCP endpoint at `/mcp` and `/mcp/<session>`, `/healthz`, and admin routes
for run-time tool registration and session inspection."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gtm_mcp.calls.checking import PROFILES
from gtm_mcp.calls.pipeline import Simulator
from gtm_mcp.contract.errors import DuplicateToolError
from gtm_mcp.server.mcp_server import GTMServer
from gtm_mcp.server.shims import shim_routes
from gtm_mcp.tools.loader import parse_document, resolve_names

log = logging.getLogger(__name__)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def build_http_app(server: GTMServer, simulator: Simulator, *, host: str = "127.0.0.1",
                   admin_token: str | None = None, session_idle_timeout_s: float = 1800.0,
                   retrieve_tool: str = "web_search") -> Starlette:
    """The ASGI app. Admin routes answer only on a loopback bind or with `admin_token` (Bearer)."""
    admin_open = host in LOOPBACK

    def authorised(request: Request) -> Response | None:
        if admin_token:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), admin_token.encode()):
                return JSONResponse({"error": "admin routes need 'Authorization: Bearer <token>'"}, 401)
            return None
        if not admin_open:
            return JSONResponse({"error": "admin routes are off: the server is not bound to loopback and "
                                 "no --admin-token was set"}, 403)
        return None

    async def healthz(request: Request) -> Response:
        health = await simulator.backend.health()
        body = {"status": "ok" if health.state != "down" else "degraded",
                "backend": {"name": simulator.backend.name, "state": health.state, "detail": health.detail,
                            **({"info": health.info} if health.info else {})},
                **simulator.stats()}
        return JSONResponse(body)

    async def list_tools(request: Request) -> Response:
        if (denied := authorised(request)) is not None:
            return denied
        return JSONResponse({"tools": [{"name": t.name, "description": t.description[:200], "source": t.source,
                                        "server": t.server, "check_profile": t.check_profile}
                                       for t in simulator.catalog.tools()]})

    async def add_tools(request: Request) -> Response:
        if (denied := authorised(request)) is not None:
            return denied
        try:
            doc = json.loads(await request.body())
        except json.JSONDecodeError as e:
            return JSONResponse({"error": f"the body is not JSON: {e}"}, 400)
        fmt = request.query_params.get("format")
        origin = request.query_params.get("source") or "admin"
        try:
            tools, problems = parse_document(doc, origin, fmt, kind="admin")
        except ValueError as e:
            return JSONResponse({"error": str(e)}, 400)
        profile = request.query_params.get("check_profile")  # every tool of the document checks this way
        if profile is not None:
            if profile not in PROFILES:
                return JSONResponse({"error": f"check_profile must be one of {', '.join(PROFILES)}"}, 400)
            tools = [t.model_copy(update={"check_profile": profile}) for t in tools]
        namespace = request.query_params.get("namespace", "auto")
        if namespace not in ("auto", "always", "never"):
            return JSONResponse({"error": "namespace must be auto, always or never"}, 400)
        tools, clashes = resolve_names(tools, namespace)  # type: ignore[arg-type]
        problems += clashes
        if problems:
            return JSONResponse({"error": "tool definitions refused; nothing was added",
                                 "problems": [p.__dict__ for p in problems]}, 400)
        try:
            added = simulator.catalog.add(tools)
        except DuplicateToolError as e:
            return JSONResponse({"error": str(e), "tool": e.name}, 409)
        return JSONResponse({"added": added, "tools": len(simulator.catalog)}, 201)

    async def remove_tool(request: Request) -> Response:
        if (denied := authorised(request)) is not None:
            return denied
        name = request.path_params["name"]
        removed = simulator.catalog.remove([name])
        if not removed:
            return JSONResponse({"error": f"no tool named {name!r}"}, 404)
        return JSONResponse({"removed": removed, "tools": len(simulator.catalog)})

    async def sessions(request: Request) -> Response:
        if (denied := authorised(request)) is not None:
            return denied
        return JSONResponse({**simulator.sessions.stats(), "sessions": simulator.sessions.summaries()})

    async def session(request: Request) -> Response:
        if (denied := authorised(request)) is not None:
            return denied
        key = request.path_params["key"]
        if request.method == "DELETE":
            return JSONResponse({"dropped": simulator.sessions.drop(key)})
        if request.method == "PUT":
            body: Any = await request.body()
            try:
                context = json.loads(body).get("hidden_context")
            except (json.JSONDecodeError, AttributeError):
                context = None
            if context is not None and not isinstance(context, str):
                return JSONResponse({"error": "send {\"hidden_context\": \"text\" | null}"}, 400)
            simulator.sessions.set_hidden_context(key, context)
            return JSONResponse({"key": key, "hidden_context": context})
        found = simulator.sessions.peek(key)
        if found is None:
            return JSONResponse({"error": f"no session {key!r}"}, 404)
        return JSONResponse({**found.summary(), "hidden_context": found.hidden_context,
                             "history": [{"tool": c.tool, "arguments": c.arguments, "result": c.result,
                                          "is_error": c.is_error} for c in found.history]})

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/admin/tools", list_tools, methods=["GET"]),
        Route("/admin/tools", add_tools, methods=["POST"]),
        Route("/admin/tools/{name:path}", remove_tool, methods=["DELETE"]),
        Route("/admin/sessions", sessions, methods=["GET"]),
        Route("/admin/sessions/{key:path}", session, methods=["GET", "PUT", "DELETE"]),
        *shim_routes(simulator, retrieve_tool),  # StableToolBench's /virtual, Search-R1's /retrieve
    ]
    app = server.streamable_http_app(streamable_http_path="/mcp", host=host, custom_starlette_routes=routes,
                                     session_idle_timeout=session_idle_timeout_s)
    # The same MCP endpoint under /mcp/<session>: the path names the session (episode).
    app.router.routes.append(Route("/mcp/{session}", endpoint=StreamableHTTPASGIApp(server.session_manager)))
    return app
