"""What every HTTP request must pass before a route sees it, and what admin writes must pass too.

- Host/Origin: the MCP SDK's DNS-rebinding protection (`mcp.server.transport_security`), with the
  same settings object the SDK uses for `/mcp`, applied to every route of the app (`/healthz` and
  `/admin/*` included), not only to `/mcp`.
- Admin writes: `Content-Type: application/json` (a browser's cross-site "simple" POST can only
  send `text/plain`, form or multipart bodies, so this refuses it: 415).
- Request bodies of every route but `/mcp` (limited by the SDK): a byte limit read as a stream
  (413 as soon as the limit is passed, never the whole body in memory).
- Failures inside a route: logged with a short id; the client sees only the id.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gtm_mcp.calls.pipeline import failure_id
from gtm_mcp.work import run_cpu

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: What the SDK allows on a loopback bind (`Server.streamable_http_app`), kept identical here.
LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*")
LOOPBACK_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")
#: Bodies above this size are parsed in a worker thread (JSON parsing is linear in the size).
THREAD_PARSE_BYTES = 64 * 1024


def security_settings(host: str, allowed_hosts: Sequence[str] = (),
                      allowed_origins: Sequence[str] = ()) -> TransportSecuritySettings | None:
    """Host/Origin protection for a server bound to `host`: on for a loopback bind (the SDK's
    loopback names plus `allowed_hosts`/`allowed_origins`), on for another bind when allowed
    hosts are named, otherwise off (None, as the SDK leaves it: a public bind behind a proxy)."""
    if host in LOOPBACK:
        return TransportSecuritySettings(enable_dns_rebinding_protection=True,
                                         allowed_hosts=[*LOOPBACK_HOSTS, *allowed_hosts],
                                         allowed_origins=[*LOOPBACK_ORIGINS, *allowed_origins])
    if allowed_hosts:
        return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=list(allowed_hosts),
                                         allowed_origins=list(allowed_origins))
    return None


class HostOriginGuard:
    """ASGI middleware: every HTTP request passes the SDK's Host/Origin check (421/403 otherwise)."""

    def __init__(self, app: ASGIApp, settings: TransportSecuritySettings | None) -> None:
        self.app = app
        self.check = TransportSecurityMiddleware(settings) if settings is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.check is not None:
            refused = await self.check.validate_request(Request(scope), is_post=False)
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


class Refused(Exception):
    """A request refused with an HTTP status and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.message}, self.status)


class BodyTooLarge(Refused):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over the limit of {limit} bytes (--max-admin-body)")


class BodyLimit:
    """ASGI middleware: request bodies of every route but `/mcp` (which the SDK limits itself) stop
    at `limit` bytes with a 413: at once when Content-Length says so, else as soon as the stream
    passes the limit, so an oversized body is never held whole."""

    def __init__(self, app: ASGIApp, limit: int, exempt: tuple[str, ...] = ("/mcp",)) -> None:
        self.app, self.limit, self.exempt = app, limit, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await BodyTooLarge(self.limit).response()(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge as too_large:  # a route that does not answer `Refused` itself
            if not started:
                await too_large.response()(scope, receive, send)


async def json_body(request: Request) -> Any:
    """The request's JSON body: `application/json` only (415), valid JSON (400). Its size is
    bounded by `BodyLimit`. Large bodies are parsed in a worker thread."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise Refused(415, f"send the body as Content-Type: application/json (got {content_type or 'none'!r})")
    raw = await request.body()
    try:
        if len(raw) > THREAD_PARSE_BYTES:
            return await run_cpu(json.loads, raw)
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise Refused(400, f"the body is not JSON: {e}") from None
    except RecursionError:
        raise Refused(400, "the body is not JSON this server reads: nested too deeply") from None


Handler = Callable[[Request], Awaitable[Response]]


def guarded(handler: Handler) -> Handler:
    """A route that answers `Refused` with its status and message, and any other exception with a
    500 naming a log id (the exception text stays in the server log)."""

    @functools.wraps(handler)
    async def route(request: Request) -> Response:
        try:
            return await handler(request)
        except Refused as refused:
            return refused.response()
        except Exception:
            ref = failure_id()
            log.exception("internal error [%s] in %s %s", ref, request.method, request.url.path)
            return JSONResponse({"error": f"internal error (ref {ref}); the server log has the details"}, 500)

    return route
