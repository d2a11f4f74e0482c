"""Assembling and running a server from `Settings`."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

import anyio

from gtm_mcp.backends import BackendOptions, create_backend
from gtm_mcp.calls.pipeline import Simulator
from gtm_mcp.config import Settings
from gtm_mcp.contract.errors import ToolLoadError
from gtm_mcp.server.mcp_server import GTMServer, build_server
from gtm_mcp.server.watch import DirectoryWatcher
from gtm_mcp.sessions.store import SessionStore
from gtm_mcp.tools.catalog import ToolCatalog
from gtm_mcp.tools.loader import load_lenient, resolve_names
from gtm_mcp.tools.mirror import mirror_tools
from gtm_mcp.tools.mirror_profile import mirror_tools_profiled

if TYPE_CHECKING:
    from gtm_mcp.sessions.redis_store import RedisSessionStore

log = logging.getLogger("gtm_mcp")


def setup_logging(level: str = "INFO") -> None:
    """Logs go to stderr only: stdout carries the stdio protocol."""
    logging.basicConfig(stream=sys.stderr, level=level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def build_simulator(settings: Settings) -> Simulator:
    """Load the tools and build the backend; raises ToolLoadError for bad definitions (unless
    `skip_invalid`, which logs them and serves the rest)."""
    tools, problems = load_lenient(settings.tool_paths(), fmt=settings.format, namespace=settings.namespace)
    for spec in settings.mirror:
        try:
            if settings.check_profile == "auto":  # each mirrored server keeps its own argument checking
                tools += anyio.run(mirror_tools_profiled, spec)
            else:
                tools += anyio.run(mirror_tools, spec)
        except ToolLoadError as e:
            problems += e.problems
    tools, clashes = resolve_names(tools, settings.namespace)
    problems += clashes
    if problems:
        if not settings.skip_invalid:
            raise ToolLoadError(problems)
        for problem in problems:
            log.warning("skipped: %s", problem)
    backend = create_backend(BackendOptions(**{k: getattr(settings, k) for k in BackendOptions.model_fields}))
    sessions = build_session_store(settings)
    return Simulator(ToolCatalog(tools), backend, sessions, seed=settings.seed,
                     allow_extra_params=settings.allow_extra_params, check_profile=settings.check_profile,
                     call_timeout_s=settings.call_timeout_s,
                     max_output_bytes=settings.max_output_bytes)


def build_session_store(settings: Settings) -> SessionStore | RedisSessionStore:
    """Sessions in this process (default), or in Redis, shared by every replica (scale-out)."""
    if settings.session_store == "redis":
        from gtm_mcp.sessions.redis_store import RedisSessionStore

        try:
            return RedisSessionStore(settings.redis_url, prefix=settings.redis_prefix,
                                     max_sessions=settings.max_sessions, idle_ttl_s=settings.session_ttl_s,
                                     max_history=settings.max_history, lock_ttl_s=settings.session_lock_ttl_s,
                                     lock_wait_s=settings.call_timeout_s + 10)
        except ImportError:
            raise
        except Exception as e:  # connection refused, bad URL, auth: say which Redis
            raise ValueError(f"cannot use the Redis session store at {_safe_url(settings.redis_url)}: "
                             f"{type(e).__name__}: {e}") from None
    return SessionStore(max_sessions=settings.max_sessions, idle_ttl_s=settings.session_ttl_s,
                        max_history=settings.max_history)


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    import re

    return re.sub(r"//([^:@/]*):[^@/]*@", r"//\1:***@", url)


async def serve(settings: Settings, simulator: Simulator | None = None) -> None:
    simulator = simulator or build_simulator(settings)
    server = build_server(simulator, stdio=settings.transport == "stdio")
    watchers = [DirectoryWatcher(simulator.catalog, d, interval_s=settings.watch_interval_s,
                                 namespace=settings.namespace) for d in settings.watch]
    for watcher in watchers:
        watcher.sync()
    log.info("serving %d tools with the %s backend over %s", len(simulator.catalog), simulator.backend.name,
             settings.transport if settings.transport == "stdio"
             else f"http://{settings.host}:{settings.port}/mcp")
    try:
        async with anyio.create_task_group() as tg:
            for watcher in watchers:
                tg.start_soon(watcher.run)
            if settings.transport == "http":
                await _serve_http(server, simulator, settings)
            else:
                await _serve_stdio(server)
            tg.cancel_scope.cancel()
    finally:
        await simulator.backend.aclose()
        await simulator.sessions.aclose()


async def _serve_stdio(server: GTMServer) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


async def _serve_http(server: GTMServer, simulator: Simulator, settings: Settings) -> None:
    import uvicorn

    from gtm_mcp.server.http import build_http_app

    app = build_http_app(server, simulator, host=settings.host, admin_token=settings.admin_token,
                         retrieve_tool=settings.retrieve_tool)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning", access_log=False,
                            lifespan="on")
    await uvicorn.Server(config).serve()
