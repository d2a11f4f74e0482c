"""The `strict` profile: the JSON Schema as written (formats checked), and parameters the schema
does not declare refused even where it leaves `additionalProperties` open, as a strict API would.
The refusal text is the project's own (CARG's four kinds of bad call, see calls/arguments.py)."""

from __future__ import annotations

from typing import Any

from gtm_mcp.calls.arguments import ArgumentProblem, check_arguments, format_problems
from gtm_mcp.calls.profiles import Verdict
from gtm_mcp.contract.definition import ToolDefinition


def problems(tool: ToolDefinition, arguments: Any, *, allow_extra: bool = False) -> list[ArgumentProblem]:
    return check_arguments(tool, arguments, allow_extra=allow_extra)


def check(tool: ToolDefinition, arguments: Any, *, allow_extra: bool = False) -> Verdict:
    found = problems(tool, arguments, allow_extra=allow_extra)
    if found:
        return Verdict(None, format_problems(tool, found), tuple(dict.fromkeys(p.parameter for p in found)))
    return Verdict(dict(arguments))
