"""The server's own argument check, seen from synthesis: the ONE place that calls it.

Bad-argument generators (stage 6, the recorder's planner) prove that "the error really exists" with
it, and the checks of generated samples use it on valid arguments. It wraps
`gtm_mcp.calls.arguments.check_arguments` today; when the per-tool checking profiles
(`gtm_mcp.calls.checking.check_call(tool, args)`) land on main, switching is the one marked line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gtm_mcp.calls.arguments import check_arguments
from gtm_mcp.contract import ToolDefinition

#: The four kinds of bad call (CARG), by the server's labels.
KINDS = {"wrong type": "wrong_type", "missing required parameter": "missing_required",
         "unexpected parameter": "unexpected_parameter", "invalid value": "invalid_value"}


@dataclass(frozen=True)
class Problem:
    kind: str  # wrong_type | missing_required | unexpected_parameter | invalid_value
    parameter: str  # dotted path; "" for the arguments object
    message: str  # the server's own words


def _server_check(tool: ToolDefinition, arguments: Any) -> list[Any]:
    return check_arguments(tool, arguments)  # switch: gtm_mcp.calls.checking.check_call(tool, arguments)


def argument_problems(tool: ToolDefinition, arguments: Any) -> list[Problem]:
    """Every problem the server finds with `arguments` for `tool` (empty: the server would accept it)."""
    found = []
    for problem in _server_check(tool, arguments):
        kind = getattr(problem.kind, "value", problem.kind)
        found.append(Problem(KINDS.get(str(kind), str(kind).replace(" ", "_")), problem.parameter, problem.message))
    return found
