"""Log notifications to MCP clients (`notifications/message`): what the simulator does, at the
level the client asked for.

Handshake-era clients pick a level per connection with `logging/setLevel` (nothing is sent before
they do); 2026-07-28 clients opt in per request with `_meta["io.modelcontextprotocol/logLevel"]`.
Messages ride the stream of the request they are about. Each carries `logger: "gtm-mcp"` and data
`{"message": ..., **details}`.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

import mcp.types as types
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

log = logging.getLogger(__name__)
LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
LOG_LEVEL_META_KEY = "io.modelcontextprotocol/logLevel"
LOGGER = "gtm-mcp"


def _connection(ctx: Any) -> Any:
    return getattr(getattr(ctx, "session", None), "_connection", None)


class ClientLog:
    def __init__(self) -> None:
        self._levels: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self.sent = 0

    def set_level(self, ctx: Any, level: str) -> None:
        connection = _connection(ctx)
        if connection is not None:
            self._levels[connection] = level

    def threshold(self, ctx: Any) -> str | None:
        """The lowest level this request's client wants, or None for no log messages."""
        if getattr(ctx, "protocol_version", None) in MODERN_PROTOCOL_VERSIONS:
            meta = getattr(ctx, "meta", None) or {}
            wanted = meta.get(LOG_LEVEL_META_KEY) if isinstance(meta, dict) else None
            return wanted if wanted in LEVELS else None
        connection = _connection(ctx)
        return self._levels.get(connection) if connection is not None else None

    def wants(self, ctx: Any, level: str) -> bool:
        threshold = self.threshold(ctx)
        return threshold is not None and LEVELS.index(level) >= LEVELS.index(threshold)

    async def emit(self, ctx: Any, level: str, message: str, **details: Any) -> None:
        """Send one log message about the request `ctx` serves, if its client wants that level."""
        if not self.wants(ctx, level):
            return
        notification = types.LoggingMessageNotification(params=types.LoggingMessageNotificationParams(
            level=level, logger=LOGGER, data={"message": message, **details}))  # type: ignore[arg-type]
        try:
            await ctx.session.send_notification(notification, related_request_id=ctx.request_id)
            self.sent += 1
        except Exception as e:  # a client that went away must not fail the request it asked about
            log.debug("could not send a log message: %s", e)
