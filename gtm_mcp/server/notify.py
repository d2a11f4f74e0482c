"""Telling clients that the tool list changed, in both protocol eras.

Handshake-era connections get `notifications/tools/list_changed` on their connection; 2026-07-28
clients get it on the `subscriptions/listen` streams they opened (the SDK's subscription bus).
Catalog changes are synchronous; the fan-out runs in a background task.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

import anyio
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

log = logging.getLogger(__name__)


class ToolChangeNotifier:
    def __init__(self) -> None:
        self.bus = InMemorySubscriptionBus()
        self.listen_handler = ListenHandler(self.bus)
        self._legacy: weakref.WeakSet[Any] = weakref.WeakSet()
        self._send, self._receive = anyio.create_memory_object_stream[int](max_buffer_size=1)
        self.sent = 0

    def track(self, ctx: Any) -> None:
        """Remember a handshake-era connection so it hears about changes (called per request)."""
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            connection = getattr(ctx.session, "_connection", None)
            if connection is not None:
                self._legacy.add(connection)

    def changed(self) -> None:
        """A catalog listener: schedule one fan-out (bursts of changes coalesce)."""
        try:
            self._send.send_nowait(1)
        except anyio.WouldBlock:
            pass  # a fan-out is already pending and will report the latest list

    async def run(self) -> None:
        async for _ in self._receive:
            await self.bus.publish(ToolsListChanged())
            for connection in list(self._legacy):
                try:
                    await connection.send_tool_list_changed()
                    self.sent += 1
                except Exception as e:  # a closed connection must not stop the others
                    log.debug("could not notify a connection: %s", e)
                    self._legacy.discard(connection)
