"""Assembling and running a server from `Settings`."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio

from gtm_mcp.backends import BackendOptions, create_backend
from gtm_mcp.calls.pipeline import Simulator
from gtm_mcp.calls.routing import build_router, replay_tools
from gtm_mcp.config import Settings
from gtm_mcp.contract.errors import ToolLoadError
from gtm_mcp.server.mcp_server import GTMServer, build_server
from gtm_mcp.server.watch import DirectoryWatcher
from gtm_mcp.sessions.store import SessionStore
from gtm_mcp.surface.catalog import SurfaceCatalog
from gtm_mcp.tools.catalog import ToolCatalog
from gtm_mcp.tools.loader import load_all, resolve_names
from gtm_mcp.tools.mirror import mirror_tools
from gtm_mcp.tools.mirror_profile import mirror_tools_profiled
from gtm_mcp.tools.mirror_surface import mirror_surface
from gtm_mcp.tools.surface_formats import dedupe, surface_duplicates
from gtm_mcp.work import tune_for_serving

if TYPE_CHECKING:
    from gtm_mcp.sessions.redis_store import RedisSessionStore

log = logging.getLogger("gtm_mcp")
#: Seconds a stopping HTTP server waits for open requests and streams before closing them.
SHUTDOWN_GRACE_S = 3.0


def setup_logging(level: str = "INFO") -> None:
    """Logs go to stderr only: stdout carries the stdio protocol."""
    logging.basicConfig(stream=sys.stderr, level=level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def build_runtime(settings: Settings) -> tuple[Simulator, SurfaceCatalog]:
    """Load the tools, resources, resource templates and prompts (files and mirrors) and build the
    backend; raises ToolLoadError for bad definitions (unless `skip_invalid`, which logs them and
    serves the rest)."""
    # --replay alone serves the tools its cassette recorded (instead of the bundled examples)
    replay_only = bool(settings.replay) and not (settings.tools or settings.mirror or settings.watch)
    paths = [] if replay_only else settings.tool_paths()
    tools, surface, problems = load_all(paths, fmt=settings.format, namespace=settings.namespace)
    if replay_only:
        tools += replay_tools(settings.replay)
    for spec in settings.mirror:
        try:
            copied, (mirrored, content) = anyio.run(_mirror, spec, settings)
        except ToolLoadError as e:
            problems += e.problems
            continue
        tools += copied
        surface.extend(mirrored)
        tools = [t.model_copy(update={"output_content": content[t.name]})
                 if t.name in content and t.output_content is None and t.origin and t.origin.kind == "mirror" else t
                 for t in tools]
    tools, clashes = resolve_names(tools, settings.namespace)
    problems += clashes + surface_duplicates(surface)
    if problems:
        if not settings.skip_invalid:
            raise ToolLoadError(problems)
        for problem in problems:
            log.warning("skipped: %s", problem)
    backend = create_backend(BackendOptions(**{k: getattr(settings, k) for k in BackendOptions.model_fields}))
    sessions = build_session_store(settings)
    router = build_router(settings, tools)
    simulator = Simulator(ToolCatalog(tools), backend, sessions, seed=settings.seed,
                          allow_extra_params=settings.allow_extra_params, check_profile=settings.check_profile,
                          call_timeout_s=settings.call_timeout_s, max_output_bytes=settings.max_output_bytes,
                          router=router, invent_json=settings.invent_json,
                          max_argument_bytes=settings.max_argument_bytes,
                          max_argument_depth=settings.max_argument_depth)
    return simulator, SurfaceCatalog(dedupe(surface))


async def _mirror(spec: str, settings: Settings) -> tuple[list[Any], Any]:
    """A live server's tools and the rest of its surface, copied over two connections at once."""
    found: dict[str, Any] = {}

    async def copy(part: str, fetch: Any) -> None:
        try:
            found[part] = await fetch()
        except ToolLoadError as e:  # raised after both finished, not wrapped in a group
            found[f"{part}-problems"] = e

    tools = mirror_tools_profiled if settings.check_profile == "auto" else mirror_tools  # its own checking
    async with anyio.create_task_group() as tg:
        tg.start_soon(copy, "tools", partial(tools, spec))
        tg.start_soon(copy, "surface", partial(mirror_surface, spec, probe=settings.mirror_probe,
                                               max_content_bytes=settings.mirror_max_content))
    problems = [p for part in ("tools", "surface") if (e := found.get(f"{part}-problems")) for p in e.problems]
    if problems:
        raise ToolLoadError(problems)
    return found["tools"], found["surface"]


def build_simulator(settings: Settings) -> Simulator:
    """The simulator alone (tools only: `gtm-mcp call`); see `build_runtime`."""
    return build_runtime(settings)[0]


def build_session_store(settings: Settings) -> SessionStore | RedisSessionStore:
    """Sessions in this process (default), or in Redis, shared by every replica (scale-out)."""
    if settings.session_store == "redis":
        from gtm_mcp.sessions.redis_store import RedisSessionStore

        try:
            return RedisSessionStore(settings.redis_url, prefix=settings.redis_prefix,
                                     max_sessions=settings.max_sessions, idle_ttl_s=settings.session_ttl_s,
                                     max_history=settings.max_history, lock_ttl_s=settings.session_lock_ttl_s,
                                     lock_wait_s=settings.call_timeout_s + 10, world=settings.declared_world(),
                                     max_session_bytes=settings.max_session_bytes)
        except ImportError:
            raise
        except Exception as e:  # connection refused, bad URL, auth: say which Redis
            raise ValueError(f"cannot use the Redis session store at {_safe_url(settings.redis_url)}: "
                             f"{type(e).__name__}: {e}") from None
    return SessionStore(max_sessions=settings.max_sessions, idle_ttl_s=settings.session_ttl_s,
                        max_history=settings.max_history, world=settings.declared_world(),
                        max_session_bytes=settings.max_session_bytes)


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    import re

    return re.sub(r"//([^:@/]*):[^@/]*@", r"//\1:***@", url)


async def serve(settings: Settings, simulator: Simulator | None = None, surface: SurfaceCatalog | None = None) -> None:
    tune_for_serving(settings.cpu_threads)
    if simulator is None:
        simulator, surface = build_runtime(settings)
    surface = surface if surface is not None else SurfaceCatalog()
    server = build_server(simulator, stdio=settings.transport == "stdio", surface=surface,
                          page_size=settings.page_size)
    watchers = [DirectoryWatcher(simulator.catalog, d, interval_s=settings.watch_interval_s,
                                 namespace=settings.namespace, surface=surface) for d in settings.watch]
    for watcher in watchers:
        watcher.sync()
    log.info("serving %d tools with the %s backend over %s", len(simulator.catalog), simulator.backend.name,
             settings.transport if settings.transport == "stdio"
             else f"http://{settings.host}:{settings.port}/mcp")
    if len(surface):
        counts = surface.counts()
        log.info("and %d resources, %d resource templates, %d prompts", counts["resources"],
                 counts["resource_templates"], counts["prompts"])
    try:
        async with simulator, anyio.create_task_group() as tg:
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


def _graceful_server_class() -> type:
    import uvicorn

    class GracefulServer(uvicorn.Server):
        """uvicorn re-raises SIGTERM/SIGINT once it has stopped, which kills the process before
        `serve` can close what it opened (cassette episodes, real-server connections, the backend):
        here a signal only stops the server, and `serve` returns normally."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return GracefulServer


async def _serve_http(server: GTMServer, simulator: Simulator, settings: Settings) -> None:
    import uvicorn

    from gtm_mcp.server.http import build_http_app

    app = build_http_app(server, simulator, host=settings.host, admin_token=settings.admin_token,
                         allowed_hosts=settings.allowed_hosts, allowed_origins=settings.allowed_origins,
                         max_admin_body=settings.max_admin_body, max_argument_bytes=settings.max_argument_bytes,
                         retrieve_tool=settings.retrieve_tool)
    # Open SSE streams (standalone GET streams, listen streams) never end by themselves: without a
    # limit a graceful shutdown would wait for them forever.
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning", access_log=False,
                            lifespan="on", timeout_graceful_shutdown=SHUTDOWN_GRACE_S)
    await _graceful_server_class()(config).serve()
