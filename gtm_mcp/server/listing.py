"""`tools/list` in pages, with opaque cursors.

A cursor names a position in one version of the catalog, so a client walking a large catalogue
sees a consistent list even when tools change half-way: the last `KEPT_VERSIONS` versions stay
listable (a list of references each). A cursor from an older version, from another server process,
or one that was tampered with is refused with an INVALID_PARAMS error that says to list again from
the start (clients hear about changes through list-changed notifications anyway).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections import OrderedDict

import mcp.types as types
from mcp.shared.exceptions import MCPError

from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.server.surface_handlers import listed_tool
from gtm_mcp.tools.catalog import ToolCatalog

#: Catalog versions whose listing stays walkable by cursors handed out earlier.
KEPT_VERSIONS = 8


class ToolPages:
    def __init__(self, catalog: ToolCatalog, page_size: int = 500) -> None:
        self.catalog = catalog
        self.page_size = max(1, page_size)
        self._salt = secrets.token_hex(4)  # cursors of another server process are not ours
        self._versions: OrderedDict[int, tuple[ToolDefinition, ...]] = OrderedDict()
        self._pages: dict[tuple[int, int], types.ListToolsResult] = {}

    def page(self, cursor: str | None) -> types.ListToolsResult:
        """The page at `cursor` (the first page when None). Raises MCPError for a bad cursor."""
        if cursor is None:
            version, offset = self._current(), 0
        else:
            version, offset = self._decode(cursor)
        tools = self._versions[version]
        key = (version, offset)
        result = self._pages.get(key)
        if result is None:
            chunk = tools[offset: offset + self.page_size]
            end = offset + len(chunk)
            result = types.ListToolsResult(
                tools=[listed_tool(t) for t in chunk],
                next_cursor=self._encode(version, end) if end < len(tools) else None)
            if version == self.catalog.version:
                self._pages[key] = result
        return result

    def _current(self) -> int:
        version = self.catalog.version
        if version not in self._versions:
            self._versions[version] = tuple(self.catalog.tools())
            while len(self._versions) > KEPT_VERSIONS:
                self._versions.popitem(last=False)
            self._pages.clear()  # built pages are kept for the newest version only (older ones are rebuilt)
        return version

    def _encode(self, version: int, offset: int) -> str:
        raw = json.dumps([self._salt, version, offset], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _decode(self, cursor: str) -> tuple[int, int]:
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            salt, version, offset = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
            valid = (salt == self._salt and isinstance(version, int) and isinstance(offset, int)
                     and offset >= 0)
        except (ValueError, TypeError, UnicodeEncodeError, binascii.Error):
            valid = False
        if not valid:
            raise MCPError(types.INVALID_PARAMS, "invalid tools/list cursor: pass back a nextCursor this server "
                           "returned, or list again without a cursor")
        if version not in self._versions:
            raise MCPError(types.INVALID_PARAMS, "stale tools/list cursor: the tool list changed several times "
                           "since it was handed out; list again without a cursor")
        if offset > len(self._versions[version]):
            raise MCPError(types.INVALID_PARAMS, "invalid tools/list cursor: it points past the end of the list; "
                           "list again without a cursor")
        return version, offset
