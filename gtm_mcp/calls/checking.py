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
    given = arguments if isinstance(arguments, dict) else {}
    found = verdict(tool, arguments, profile, allow_extra=allow_extra)
    if not found.accepted:
        return ArgumentCheck(given, found.refusal, profile=profile, parameters=found.parameters)
    would_refuse = () if profile == "strict" and not allow_extra else strict.problems(tool, arguments)
    warnings = tuple(f"[{p.kind.value}] {p.message}" for p in would_refuse)
    return ArgumentCheck(found.arguments if found.arguments is not None else given, None, warnings, profile)
