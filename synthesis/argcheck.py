"""The server's own argument check, seen from synthesis: the ONE place that calls it.

Bad-argument generators (stage 6, the recorder's planner) prove that "the error really exists" with
it, and the checks of generated samples use it on valid arguments. It is
`gtm_mcp.calls.checking.check_call`, which checks a call the way the tool's real implementation
would (`ToolDefinition.check_profile`: strict JSON Schema, pydantic's lax mode, zod). A refusal is
classified into CARG's four kinds by the strict reading of the schema (`profiles.strict.problems`),
restricted to the parameters the profile's refusal names; `refusal()` gives the refusal's own text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gtm_mcp.calls.checking import ArgumentCheck, check_call
from gtm_mcp.calls.profiles import strict
from gtm_mcp.contract import ToolDefinition

#: The four kinds of bad call (CARG), by the server's labels.
KINDS = {"wrong type": "wrong_type", "missing required parameter": "missing_required",
         "unexpected parameter": "unexpected_parameter", "invalid value": "invalid_value"}


@dataclass(frozen=True)
class Problem:
    kind: str  # wrong_type | missing_required | unexpected_parameter | invalid_value
    parameter: str  # dotted path; "" for the arguments object
    message: str  # the server's own words (the strict reading's line for this parameter)


def _server_check(tool: ToolDefinition, arguments: Any) -> ArgumentCheck:
    return check_call(tool, arguments)


def refusal(tool: ToolDefinition, arguments: Any) -> str | None:
    """The text the tool's checker refuses `arguments` with (None: accepted)."""
    return _server_check(tool, arguments).problems


def _kind(problem: Any) -> str:
    label = str(getattr(problem.kind, "value", problem.kind))
    return KINDS.get(label, label.replace(" ", "_"))


def _root(parameter: str) -> str:
    return parameter.split(".")[0].split("[")[0]


def argument_problems(tool: ToolDefinition, arguments: Any) -> list[Problem]:
    """Every problem the server finds with `arguments` for `tool` (empty: the server would accept it)."""
    check = _server_check(tool, arguments)
    if check.accepted:
        return []
    named = {_root(p) for p in check.parameters}
    found = [Problem(_kind(p), p.parameter, p.message) for p in strict.problems(tool, arguments)
             if not named or _root(p.parameter) in named]
    if not found:  # refused in a way the strict reading does not see: keep the refusal itself
        found = [Problem("invalid_value", p, check.problems or "") for p in (check.parameters or ("",))]
    return found
