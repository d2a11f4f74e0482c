"""Tool files between stages: one tool per line in the GTM format (`ToolDefinition.to_gtm()`), plus
`source` (where it came from: `import:seal-tools`, `carg:generated`, ...) and, once the teacher
filled something, `filled` (what). The export's `tools.jsonl` adds `split`. Reading drops these
extra keys before building the definition."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gtm_mcp.contract import ToolDefinition
from synthesis.jsonl import read_jsonl, write_jsonl

EXTRA_KEYS = ("source", "filled", "split", "id")


@dataclass
class ToolEntry:
    tool: ToolDefinition
    source: str = ""
    filled: list[str] = field(default_factory=list)

    def to_json(self, **extra: Any) -> dict[str, Any]:
        line = self.tool.to_gtm()
        line["source"] = self.source
        if self.filled:
            line["filled"] = list(self.filled)
        line.update(extra)
        return line

    @classmethod
    def from_json(cls, line: dict[str, Any]) -> ToolEntry:
        fields = {k: v for k, v in line.items() if k not in EXTRA_KEYS}
        return cls(ToolDefinition(**fields), str(line.get("source", "")), list(line.get("filled") or []))


def read_tools(paths: Iterable[str | Path]) -> list[ToolEntry]:
    """Tools of the files in order; a name seen again is skipped (the first wins)."""
    seen: set[str] = set()
    out = []
    for path in paths:
        for line in read_jsonl(path):
            entry = ToolEntry.from_json(line)
            if entry.tool.name not in seen:
                seen.add(entry.tool.name)
                out.append(entry)
    return out


def write_tools(path: str | Path, entries: Iterable[ToolEntry]) -> int:
    return write_jsonl(path, (e.to_json() for e in entries))
