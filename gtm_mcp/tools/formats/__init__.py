"""Importers: every tool format users have, turned into `ToolDefinition` fields.

Each format module exposes `NAME`, `detect(doc) -> bool` for a parsed document, and
`entries(doc) -> Iterator[Entry]` yielding one entry per tool with its JSON pointer.
`FORMATS` lists them in detection order (most specific first).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any


@dataclass
class Entry:
    """One tool found in a document: ToolDefinition fields, or the reason none could be made."""

    pointer: str
    fields: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None
    problem_pointer: str | None = None

    @property
    def name(self) -> str | None:
        name = self.fields.get("name")
        return name if isinstance(name, str) else None


def _formats() -> list[ModuleType]:
    from gtm_mcp.tools.formats import gtm, livemcpbench, mcp, openai, seal_tools, stabletoolbench, toolsdk

    return [gtm, livemcpbench, toolsdk, stabletoolbench, seal_tools, openai, mcp]


def format_names() -> list[str]:
    return [f.NAME for f in _formats()]


def detect(doc: Any) -> ModuleType | None:
    """The format module whose shape this document has, or None."""
    for fmt in _formats():
        if fmt.detect(doc):
            return fmt
    return None


def by_name(name: str) -> ModuleType:
    for fmt in _formats():
        if fmt.NAME == name:
            return fmt
    raise ValueError(f"unknown tool format {name!r}; known formats: {', '.join(format_names())}")


def items_of(doc: Any, keys: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    """(pointer, item) for a bare list, or for the list under the first of `keys` a dict holds."""
    if isinstance(doc, list):
        yield from ((f"/{i}", item) for i, item in enumerate(doc))
        return
    if isinstance(doc, dict):
        for key in keys:
            if isinstance(doc.get(key), list):
                yield from ((f"/{key}/{i}", item) for i, item in enumerate(doc[key]))
                return
        yield "", doc
