"""Telling clients what changed, in both protocol eras.

- List changes (tools, resources, prompts; global to the server): handshake-era connections get
  `notifications/{tools,resources,prompts}/list_changed` on their connection; 2026-07-28 clients get
  them on the `subscriptions/listen` streams they opened. Catalog changes are synchronous; the
  fan-out runs in background tasks, and bursts coalesce.
- Resource updates (`notifications/resources/updated`) belong to one session: a handshake-era
  connection hears about the URIs it subscribed to (`resources/subscribe`) in the session it
  subscribed from; a listen stream hears about the URIs it named, in the session its request
  resolved to (its `_meta` or `/mcp/<session>` path). Every session has its own subscription bus,
  so one episode's resources never leak into another's stream.

Every send to a connection runs in its own task with a time limit (`timeout_s`): a connection that
stopped reading never delays the others, the next change, or the tool call whose resource updates
it would hear about; one that runs out of time is dropped from the fan-out.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import anyio
import anyio.abc
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    ListenHandler,
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
    ServerEvent,
    ToolsListChanged,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

log = logging.getLogger(__name__)
LIST_EVENTS: dict[str, ServerEvent] = {"tools": ToolsListChanged(), "resources": ResourcesListChanged(),
                                       "prompts": PromptsListChanged()}
#: Resource subscriptions one handshake-era connection may hold.
MAX_SUBSCRIPTIONS = 1000
#: Seconds one connection may take to accept a notification; a slower one is dropped from the fan-out.
NOTIFY_TIMEOUT_S = 5.0


def _connection(ctx: Any) -> Any:
    return getattr(getattr(ctx, "session", None), "_connection", None)


class _SessionBus:
    def __init__(self) -> None:
        self.bus = InMemorySubscriptionBus()
        self.handler = ListenHandler(self.bus)
        self.streams = 0


class ChangeNotifier:
    """One per server. `session_of(ctx, params)` resolves the session a request belongs to."""

    def __init__(self, session_of: Callable[[Any, Any], str] | None = None, *,
                 timeout_s: float = NOTIFY_TIMEOUT_S) -> None:
        self._session_of = session_of or (lambda ctx, params: "default")
        self.timeout_s = timeout_s
        self._in_flight: set[tuple[Any, str]] = set()  # (connection, kind) of list-changed notices on their way
        self._tasks: anyio.abc.TaskGroup | None = None  # run()'s: where sends go
        self._buses: dict[str, _SessionBus] = {}
        self._legacy: weakref.WeakSet[Any] = weakref.WeakSet()
        # session -> uri -> connections subscribed (handshake era)
        self._subscribed: dict[str, dict[str, weakref.WeakSet[Any]]] = {}
        self._pending: set[str] = set()
        self._send, self._receive = anyio.create_memory_object_stream[int](max_buffer_size=1)
        self.sent = 0
        self.dropped = 0

    # -- requests ---------------------------------------------------------------------------------

    def track(self, ctx: Any) -> None:
        """Remember a handshake-era connection so it hears about changes (called per request)."""
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            connection = _connection(ctx)
            if connection is not None:
                self.watch(connection)

    def watch(self, connection: Any) -> None:
        """Send this connection (an SDK `Connection`) every list change."""
        self._legacy.add(connection)

    async def listen_handler(self, ctx: Any, params: Any) -> Any:
        """`subscriptions/listen`: the stream is served by the bus of the request's session."""
        key = self._session_of(ctx, params)
        session_bus = self._buses.get(key)
        if session_bus is None:
            session_bus = self._buses[key] = _SessionBus()
        session_bus.streams += 1
        try:
            return await session_bus.handler(ctx, params)
        finally:
            session_bus.streams -= 1
            if session_bus.streams == 0 and self._buses.get(key) is session_bus:
                del self._buses[key]

    def subscribe(self, ctx: Any, session: str, uri: str) -> bool:
        """`resources/subscribe` from a handshake-era connection; False when it holds too many."""
        connection = _connection(ctx)
        if connection is None:
            return True
        held = sum(connection in subscribers for uris in self._subscribed.values() for subscribers in uris.values())
        if held >= MAX_SUBSCRIPTIONS:
            return False
        self._subscribed.setdefault(session, {}).setdefault(uri, weakref.WeakSet()).add(connection)
        return True

    def unsubscribe(self, ctx: Any, session: str, uri: str) -> None:
        connection = _connection(ctx)
        subscribers = self._subscribed.get(session, {}).get(uri)
        if subscribers is not None and connection is not None:
            subscribers.discard(connection)
            if not subscribers:
                del self._subscribed[session][uri]
                if not self._subscribed[session]:
                    del self._subscribed[session]

    # -- changes ----------------------------------------------------------------------------------

    def changed(self, kind: str = "tools") -> None:
        """A catalog listener: schedule one fan-out of a list change (bursts coalesce)."""
        self._pending.add(kind)
        try:
            self._send.send_nowait(1)
        except anyio.WouldBlock:
            pass  # a fan-out is already pending and will report the latest lists

    def lists_changed(self, kinds: Iterable[str]) -> None:
        for kind in kinds:
            self.changed(kind)

    async def resources_updated(self, session: str, uris: Iterable[str]) -> int:
        """Tell the session's subscribers that these resources changed; returns how many are told
        (connections get it in background tasks: the call that changed them does not wait)."""
        told = 0
        for uri in uris:
            session_bus = self._buses.get(session)
            if session_bus is not None:
                await session_bus.bus.publish(ResourceUpdated(uri=uri))
                told += session_bus.streams
            for connection in list(self._subscribed.get(session, {}).get(uri, ())):
                await self._dispatch(connection, "resource_updated", uri)
                told += 1
        return told

    def unsubscribe_connection(self, connection: Any) -> None:
        for session in list(self._subscribed):
            for uri in list(self._subscribed[session]):
                self._subscribed[session][uri].discard(connection)

    async def run(self) -> None:
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            try:
                async for _ in self._receive:
                    kinds, self._pending = self._pending, set()
                    for kind in sorted(kinds):
                        event = LIST_EVENTS.get(kind)
                        if event is None:
                            continue
                        for session_bus in list(self._buses.values()):
                            await session_bus.bus.publish(event)
                        for connection in list(self._legacy):
                            # "the list changed" carries no content: one notice on its way says it all
                            if (connection, kind) not in self._in_flight:
                                await self._dispatch(connection, kind)
            finally:
                self._tasks = None

    async def _dispatch(self, connection: Any, kind: str, uri: str | None = None) -> None:
        """Send in a task of `run()` (inline, still time-limited, when it is not running)."""
        if uri is None:
            self._in_flight.add((connection, kind))
        if self._tasks is not None:
            self._tasks.start_soon(self._send_one, connection, kind, uri)
        else:
            await self._send_one(connection, kind, uri)

    async def _send_one(self, connection: Any, kind: str, uri: str | None) -> None:
        try:
            with anyio.move_on_after(self.timeout_s) as scope:
                if uri is None:
                    await getattr(connection, f"send_{kind[:-1]}_list_changed")()
                else:
                    await connection.send_resource_updated(uri)
            if scope.cancelled_caught:
                log.info("a connection did not take a notice within %g s; it gets no more", self.timeout_s)
                self._forget(connection)
                self.dropped += 1
            else:
                self.sent += 1
        except Exception as e:  # a closed connection must not stop the others
            log.debug("could not notify a connection: %s", e)
            self._forget(connection)
        finally:
            self._in_flight.discard((connection, kind))

    def _forget(self, connection: Any) -> None:
        self._legacy.discard(connection)
        self.unsubscribe_connection(connection)


#: The former name (tool changes only), kept for code that imports it.
ToolChangeNotifier = ChangeNotifier
