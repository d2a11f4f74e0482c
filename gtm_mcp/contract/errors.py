"""Errors raised while loading tool definitions: each names the file, the tool and the JSON pointer."""

from __future__ import annotations

from dataclasses import dataclass


def json_pointer(path: object) -> str:
    """RFC 6901 pointer for a sequence of keys/indices (``()`` is the whole document: ``""``)."""
    parts = []
    for part in path:  # type: ignore[attr-defined]
        parts.append(str(part).replace("~", "~0").replace("/", "~1"))
    return "".join("/" + p for p in parts)


@dataclass(frozen=True)
class ToolProblem:
    """One problem in one definition: a tool, or (`kind`) a resource, resource template or prompt."""

    file: str
    tool: str | None
    pointer: str
    message: str
    kind: str = "tool"

    def __str__(self) -> str:
        tool = f" {self.kind} {self.tool!r}" if self.tool else ""
        return f"{self.file}:{tool} at {self.pointer or '/'}: {self.message}"


class ToolLoadError(ValueError):
    """One or more tool definitions were refused. ``problems`` holds every one found."""

    def __init__(self, problems: list[ToolProblem]) -> None:
        self.problems = problems
        head = f"{len(problems)} problem(s) in tool definitions:" if len(problems) > 1 else "invalid tool definition:"
        shown = "\n  ".join(str(p) for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{head}\n  {shown}{more}")


class DuplicateToolError(ValueError):
    """A tool with this name is already registered."""

    def __init__(self, name: str, existing_source: str | None, new_source: str | None) -> None:
        self.name = name
        where = f" (registered from {existing_source})" if existing_source else ""
        new = f" from {new_source}" if new_source else ""
        super().__init__(
            f"duplicate tool name {name!r}{new}: a tool of that name is already registered{where}; "
            "remove it first or rename one of them"
        )
