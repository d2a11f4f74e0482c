"""Argument-checking profiles: how a real implementation checks a call's arguments.

- `strict` (strict.py): the JSON Schema as written, undeclared parameters refused (CARG's error
  kinds, the project's own wording);
- `pydantic` (pydantic_lax.py): a Python MCP server on the official SDK's `MCPServer`: a pydantic
  model built from the schema, the SDK's own JSON pre-parsing, pydantic lax mode, pydantic's text;
- `zod` (zod.py): a TypeScript MCP server (`@modelcontextprotocol/sdk` with zod 4): zod's rules
  ported from its source, no coercion, undeclared keys stripped, zod's issue messages.

Each module has `check(tool, arguments) -> Verdict`; `gtm_mcp.calls.checking.check_call` picks one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """One profile's answer: the arguments as the tool receives them (None when refused), the
    refusal text in the real implementation's shape, and the parameters the refusal names."""

    arguments: dict[str, Any] | None
    refusal: str | None = None
    parameters: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.refusal is None
