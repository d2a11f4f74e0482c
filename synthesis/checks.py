"""The three-level check of a generated call (stage 4, reused by 5 and 6):

(a) deterministic: the arguments pass the server's argument check and the output is what the tool
    can return (valid for its output schema; non-empty text for a text tool); then `concrete`: no
    placeholder where a real value belongs (an empty or "string"/"example"/"N/A" value, a context of
    a word or two), which a weak teacher writes and a judge of the same size lets through;
(b) no contradictions between parameters, and (c) the output is coherent with the input: a judge
    prompt with a fixed rubric (`synthesis.prompts.RUBRIC`); multi-turn episodes add a consistency
    check of the last call against the history, error samples a helpfulness check.

A judge answer that is not the verdict object asked for is junk: the sample is rejected."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from gtm_mcp.calls.output import output_problem
from gtm_mcp.contract import ToolDefinition
from synthesis import prompts
from synthesis.argcheck import argument_problems
from synthesis.flow import leaves
from synthesis.stages.base import Rejected
from synthesis.teacher import Junk, Teacher, json_object

#: Values a teacher writes when it has nothing concrete to say (compared lower-case, stripped).
PLACEHOLDERS = frozenset({"", "string", "str", "text", "example", "sample", "value", "object", "array", "number",
                          "integer", "boolean", "n/a", "na", "none", "null", "undefined", "...", "todo", "tbd", "foo",
                          "bar", "baz", "lorem ipsum", "xxx", "placeholder", "your_value", "<value>", "description"})
_ANGLE = re.compile(r"^<[^<>]{1,40}>$|^\{[a-z_ ]{1,40}\}$|^\[[a-z_ ]{1,40}\]$")


def is_placeholder(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    text = value.strip().lower()
    return text in PLACEHOLDERS or bool(_ANGLE.match(text))


def placeholder_problem(arguments: Any, output: Any, context: str | None = None) -> str | None:
    """Why the sample holds a placeholder instead of a concrete value (None when it does not)."""
    if context is not None and len(context.split()) < 3:
        return f"the context says nothing ({context!r})"
    for key, value in leaves(arguments):
        if is_placeholder(value):
            return f"argument '{key}' is a placeholder ({value!r})"
    if isinstance(output, str):
        if is_placeholder(output):
            return f"the output is a placeholder ({output!r})"
        return None
    for key, value in leaves(output):
        if is_placeholder(value):
            return f"output field '{key}' is a placeholder ({value!r})"
    return None


def concrete_check(arguments: Any, output: Any, checks: dict[str, bool], answer: str = "", *,
                   context: str | None = None) -> None:
    """Records `concrete` in `checks`; raises `Rejected` on a placeholder."""
    problem = placeholder_problem(arguments, output, context)
    checks["concrete"] = problem is None
    if problem:
        raise Rejected("check: concrete", problem, dict(checks), answer)


def arguments_problem(tool: ToolDefinition, arguments: Any) -> str | None:
    problems = argument_problems(tool, arguments)
    return "; ".join(p.message for p in problems[:3]) if problems else None


def normalised_output(tool: ToolDefinition, output: Any) -> tuple[Any, str | None]:
    """(the output as the tool returns it, why it cannot be one). A text tool's JSON answer becomes its
    JSON text (real text tools print JSON too)."""
    if tool.output_schema is not None:
        return output, output_problem(output, tool.output_validator)
    if isinstance(output, (dict, list)):
        output = json.dumps(output, ensure_ascii=False)
    if not isinstance(output, str) or not output.strip():
        return output, "a text tool's output must be non-empty text"
    return output, None


def schema_check(tool: ToolDefinition, arguments: Any, output: Any, checks: dict[str, bool],
                 answer: str = "") -> Any:
    """Check (a); records `schema` in `checks`, raises `Rejected` on failure, returns the output."""
    problem = arguments_problem(tool, arguments)
    output, out_problem = normalised_output(tool, output)
    checks["schema"] = problem is None and out_problem is None
    if not checks["schema"]:
        raise Rejected("check: schema", problem or out_problem or "", dict(checks), answer)
    return output


async def judge(teacher: Teacher, tool: ToolDefinition, names: Sequence[str], arguments: Any, output: Any,
                checks: dict[str, bool], *, context: str | None = None, history: Sequence[dict[str, Any]] = (),
                is_error: bool = False, seed: int | None = None) -> None:
    """Checks `names` by the judge; records each in `checks`; raises `Rejected` naming the first failure."""
    messages = prompts.judge(tool, names, arguments, output, context=context, history=history, is_error=is_error)
    reply = await teacher.complete(messages, purpose="judge", schema=prompts.verdict_schema(names),
                                   schema_name="verdict", temperature=teacher.config.judge_temperature,
                                   max_tokens=teacher.config.judge_max_tokens, seed=seed)
    try:
        verdict = json_object(reply.text, truncated=reply.truncated, required=tuple(names))
    except Junk as e:
        raise Rejected(f"junk: judge {e.reason}", e.detail, dict(checks), reply.text) from None
    failed = None
    for name in names:
        entry = verdict.get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("pass"), bool):
            raise Rejected("junk: judge verdict without pass", json.dumps(verdict)[:300], dict(checks), reply.text)
        checks[name] = entry["pass"]
        if not entry["pass"] and failed is None:
            failed = (name, str(entry.get("reason", ""))[:300])
    if failed:
        raise Rejected(f"check: {failed[0]}", failed[1], dict(checks), reply.text)
