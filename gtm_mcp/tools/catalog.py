"""The catalog: the server's global set of tools, changed at run time, with change listeners."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Iterable

from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.contract.errors import DuplicateToolError

log = logging.getLogger(__name__)
MAX_NAME = 128  # the longest tool name (ToolDefinition.name)


class ToolCatalog:
    """Tools by name. Adding a name that exists is refused (`DuplicateToolError`); every change
    bumps `version` and calls the listeners (which send MCP list-changed notifications)."""

    def __init__(self, tools: Iterable[ToolDefinition] = ()) -> None:
        self._tools: dict[str, ToolDefinition] = {}
        self._listeners: list[Callable[[], None]] = []
        self.version = 0
        self.add(tools)

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def get(self, name: str) -> ToolDefinition | None:
        return self._tools.get(name)

    def tools(self) -> list[ToolDefinition]:
        return list(self._tools.values())

    def names(self) -> list[str]:
        return list(self._tools)

    def closest(self, name: str, n: int = 5) -> list[str]:
        """Known names that look like `name` (for "unknown tool" messages)."""
        return closest_names(name, list(self._tools), n)

    def on_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener()` after every change; returns a function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def add(self, tools: Iterable[ToolDefinition]) -> list[str]:
        """Register tools, all or none: any name already registered (or repeated) is refused."""
        batch = list(tools)
        seen: dict[str, ToolDefinition] = {}
        for tool in batch:
            existing = self._tools.get(tool.name) or seen.get(tool.name)
            if existing is not None:
                raise DuplicateToolError(tool.name, existing.source, tool.source)
            seen[tool.name] = tool
        self._tools.update(seen)
        if batch:
            self._changed(f"added {len(batch)} tool(s)")
        return list(seen)

    def remove(self, names: Iterable[str]) -> list[str]:
        """Unregister tools by name; unknown names are ignored. Returns the names removed."""
        removed = [n for n in names if self._tools.pop(n, None) is not None]
        if removed:
            self._changed(f"removed {len(removed)} tool(s)")
        return removed

    def replace_file(self, file: str, tools: Iterable[ToolDefinition]) -> tuple[list[str], list[str]]:
        """Swap the tools loaded from one file for a new set (a watched file changed): all or none.
        Tools are matched by their origin's file, whatever their line or pointer in it."""
        batch = list(tools)
        old = {n for n, t in self._tools.items() if t.origin is not None and t.origin.file == file}
        kept = {n: t for n, t in self._tools.items() if n not in old}
        for tool in batch:
            if tool.name in kept:
                raise DuplicateToolError(tool.name, kept[tool.name].source, tool.source)
        new = {t.name: t for t in batch}
        if len(new) != len(batch):
            dup = next(t for t in batch if sum(u.name == t.name for u in batch) > 1)
            raise DuplicateToolError(dup.name, dup.source, dup.source)
        if old == set(new) and all(self._tools[n] == t for n, t in new.items()):
            return [], []
        self._tools = {**kept, **new}
        self._changed(f"reloaded {file}")
        return sorted(set(new) - old), sorted(old - set(new))

    def _changed(self, what: str) -> None:
        self.version += 1
        log.info("tool catalog %s (now %d tools)", what, len(self._tools))
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # a listener must never break a catalog change
                log.exception("tool-change listener failed")


def closest_names(name: str, names: list[str], n: int = 5) -> list[str]:
    """Names in `names` that look like `name`, closest first. Costs ~50 µs per known name (difflib):
    callers with a large catalogue run it in a worker thread."""
    if len(name) > MAX_NAME:  # no tool has such a name, and difflib is quadratic in it
        return []
    close = difflib.get_close_matches(name, names, n=n, cutoff=0.5)
    if len(close) < n:
        low = name.lower()
        close += [k for k in names if (low in k.lower() or k.lower() in low) and k not in close][: n - len(close)]
    return close
