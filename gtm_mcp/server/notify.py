"""Telling clients that the tool list changed, in both protocol eras.

Handshake-era connections get `notifications/tools/list_changed` on their connection; 2026-07-28
clients get it on the `subscriptions/listen` streams they opened (the SDK's subscription bus).
Catalog changes are synchronous; the fan-out runs in background tasks, one per connection, each
with a time limit.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

import anyio
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

log = logging.getLogger(__name__)


#: Seconds one connection may take to accept a notification; a slower one is dropped from the fan-out.
NOTIFY_TIMEOUT_S = 5.0


class ToolChangeNotifier:
    """Fans `list_changed` out to every known connection, each in its own task with a time limit,
    so a connection that stopped reading never delays the others nor the next change."""

    def __init__(self, timeout_s: float = NOTIFY_TIMEOUT_S) -> None:
        self.bus = InMemorySubscriptionBus()
        self.listen_handler = ListenHandler(self.bus)
        self.timeout_s = timeout_s
        self._legacy: weakref.WeakSet[Any] = weakref.WeakSet()
        self._in_flight: set[Any] = set()
        self._send, self._receive = anyio.create_memory_object_stream[int](max_buffer_size=1)
        self.sent = 0
        self.dropped = 0

    def track(self, ctx: Any) -> None:
        """Remember a handshake-era connection so it hears about changes (called per request)."""
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            connection = getattr(ctx.session, "_connection", None)
            if connection is not None:
                self.watch(connection)

    def watch(self, connection: Any) -> None:
        """Send this connection (anything with `send_tool_list_changed()`) every change."""
        self._legacy.add(connection)

    def changed(self) -> None:
        """A catalog listener: schedule one fan-out (bursts of changes coalesce)."""
        try:
            self._send.send_nowait(1)
        except anyio.WouldBlock:
            pass  # a fan-out is already pending and will report the latest list

    async def run(self) -> None:
        async with anyio.create_task_group() as tg:
            async for _ in self._receive:
                await self.bus.publish(ToolsListChanged())
                for connection in list(self._legacy):
                    # "the list changed" carries no content: one notice still on its way says it all
                    if connection not in self._in_flight:
                        self._in_flight.add(connection)
                        tg.start_soon(self._notify, connection)

    async def _notify(self, connection: Any) -> None:
        try:
            with anyio.move_on_after(self.timeout_s) as scope:
                await connection.send_tool_list_changed()
            if scope.cancelled_caught:
                log.info("a connection did not take a tools/list_changed notice within %g s; it gets no more",
                         self.timeout_s)
                self._legacy.discard(connection)
                self.dropped += 1
            else:
                self.sent += 1
        except Exception as e:  # a closed connection must not stop the others
            log.debug("could not notify a connection: %s", e)
            self._legacy.discard(connection)
        finally:
            self._in_flight.discard(connection)
