"""Checking a call's arguments the way the real tool would: one function for the server, synthesis
and evaluation alike (no server needed).

    from gtm_mcp.calls.checking import check_call

    check = check_call(tool, {"count": "2"})      # honours tool.check_profile (default: strict)
    check.problems    # None when accepted, else the refusal text in the real implementation's shape
    check.arguments   # what the tool receives: {"count": 2} under pydantic (coerced, extras dropped)
    check.warnings    # accepted, but a strict API would have refused: what it would have said

Profiles (`gtm_mcp.calls.profiles`): `strict` (the JSON Schema as written, undeclared parameters
refused), `pydantic` (a Python MCP server on the official SDK: lax coercion, extras ignored,
pydantic's text), `zod` (a TypeScript MCP server: no coercion, extras stripped, zod's text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, get_args

from gtm_mcp.calls.profiles import Verdict
from gtm_mcp.contract.definition import CheckProfile, ToolDefinition

PROFILES: tuple[str, ...] = get_args(CheckProfile)


@dataclass(frozen=True)
class ArgumentCheck:
    """The argument check's verdict: the arguments as the tool sees them, problems (the call is
    refused when there is any) and warnings (accepted, but a strict API would have refused)."""

    arguments: dict[str, Any]
    problems: str | None = None
    warnings: tuple[str, ...] = ()
    #: the profile that decided, and the parameters a refusal names (dotted paths)
    profile: str = "strict"
    parameters: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.problems is None


def profile_of(tool: ToolDefinition, default: str = "strict") -> str:
    """The tool's own profile, else `default` (the server's `--check-profile`; `auto` is strict)."""
    profile = tool.check_profile or default
    return profile if profile in PROFILES else "strict"


def verdict(tool: ToolDefinition, arguments: Any, profile: str, *, allow_extra: bool = False) -> Verdict:
    """One profile's raw verdict (no warnings)."""
    if profile == "pydantic":
        from gtm_mcp.calls.profiles import pydantic_lax

        return pydantic_lax.check(tool, arguments)
    if profile == "zod":
        from gtm_mcp.calls.profiles import zod

        return zod.check(tool, arguments)
    from gtm_mcp.calls.profiles import strict

    return strict.check(tool, arguments, allow_extra=allow_extra)


def check_call(tool: ToolDefinition, arguments: Any, *, default_profile: str = "strict",
               allow_extra: bool = False) -> ArgumentCheck:
    """Check `arguments` for `tool` as its profile's real implementation would (`allow_extra`:
    the strict profile accepts undeclared parameters, with a warning)."""
    from gtm_mcp.calls.profiles import strict

    profile = profile_of(tool, default_profile)
    arguments = {} if arguments is None else arguments  # MCP: no arguments is an empty object
    given = arguments if isinstance(arguments, dict) else {}
    found = verdict(tool, arguments, profile, allow_extra=allow_extra)
    if not found.accepted:
        return ArgumentCheck(given, found.refusal, profile=profile, parameters=found.parameters)
    would_refuse = () if profile == "strict" and not allow_extra else strict.problems(tool, arguments)
    warnings = tuple(f"[{p.kind.value}] {p.message}" for p in would_refuse)
    return ArgumentCheck(found.arguments if found.arguments is not None else given, None, warnings, profile)


_STRICT_LINE = re.compile(r"^- \[[^\]]+\] [^']*'([^']*)'")
_PYDANTIC_HEAD = re.compile(r"^Error executing tool \S+: \d+ validation errors? for \S+$")
_ZOD_HEAD = "MCP error -32602: Input validation error: Invalid arguments for tool "


def _bracketed(path: str) -> str:
    """`tags.0.name` (pydantic's loc) as `tags[0].name`, the form zod and strict refusals use."""
    out = ""
    for part in path.split("."):
        out += f"[{part}]" if part.isdigit() and out else (f".{part}" if out else part)
    return out


def refusal_parameters(text: str) -> tuple[str, ...]:
    """The parameters a refusal names, from its text in any profile's shape (strict, pydantic, zod),
    as dotted paths with `[i]` for list items. Empty when the text is no argument refusal."""
    lines = text.splitlines()
    if not lines:
        return ()
    found: list[str] = []
    if _PYDANTIC_HEAD.match(lines[0]):
        found = [_bracketed(line.strip()) for line in lines[1:] if line and not line.startswith(" ")]
    elif lines[0].startswith(_ZOD_HEAD):
        first = lines[0][len(_ZOD_HEAD):].split(": ", 1)
        messages = ([first[1]] if len(first) == 2 else []) + lines[1:]
        found = [m.rsplit(" at ", 1)[1] for m in messages if " at " in m]
    elif lines[0].startswith("Invalid arguments for tool "):
        found = [m.group(1) for line in lines[1:] if (m := _STRICT_LINE.match(line))]
    return tuple(dict.fromkeys(found))
