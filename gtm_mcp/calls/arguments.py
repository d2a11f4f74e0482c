"""Checking a call's arguments against the tool's input schema before any model is asked.

Each problem is classified like CARG's four kinds of bad call and described so that an agent can
fix the call: which parameter, what was expected, what was given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from jsonschema.exceptions import ValidationError

from gtm_mcp.contract.definition import ToolDefinition


class ArgumentErrorKind(StrEnum):
    WRONG_TYPE = "wrong type"
    MISSING_REQUIRED = "missing required parameter"
    UNEXPECTED_PARAMETER = "unexpected parameter"
    INVALID_VALUE = "invalid value"


_VALUE_KEYWORDS = {
    "enum", "const", "format", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minLength", "maxLength", "minItems", "maxItems", "uniqueItems", "multipleOf", "minProperties",
    "maxProperties", "contains", "minContains", "maxContains", "not", "propertyNames",
}


@dataclass(frozen=True)
class ArgumentProblem:
    kind: ArgumentErrorKind
    parameter: str  # dotted path, e.g. "filters.limit" or "items[0]"; "" for the arguments object
    message: str


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _show(value: Any, limit: int = 80) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _describe(schema: Any) -> str:
    if not isinstance(schema, dict):
        return ""
    bits = []
    if "type" in schema:
        t = schema["type"]
        bits.append(" or ".join(t) if isinstance(t, list) else str(t))
    if schema.get("enum"):
        bits.append("one of " + ", ".join(_show(v, 40) for v in schema["enum"][:12]))
    if schema.get("format"):
        bits.append(f"format {schema['format']}")
    desc = schema.get("description")
    text = ", ".join(bits)
    if desc:
        text += f" — {str(desc)[:160]}"
    return text


def _leaf_errors(error: ValidationError) -> list[ValidationError]:
    """For anyOf/oneOf failures, the most relevant sub-errors (jsonschema's best match)."""
    if error.validator in ("anyOf", "oneOf", "allOf") and error.context:
        from jsonschema.exceptions import best_match

        best = best_match(error.context)
        return [best] if best is not None else [error]
    return [error]


def classify(error: ValidationError, tool: ToolDefinition) -> list[ArgumentProblem]:
    problems = []
    for err in _leaf_errors(error):
        path = list(err.absolute_path)
        where = _path(path)
        validator = err.validator
        if validator == "required":
            missing = [k for k in err.validator_value if isinstance(err.instance, dict) and k not in err.instance]
            for key in missing or [str(err.message)]:
                param = f"{where}.{key}" if where else key
                schema = (err.schema.get("properties") or {}).get(key, {})
                expected = _describe(schema)
                problems.append(ArgumentProblem(
                    ArgumentErrorKind.MISSING_REQUIRED, param,
                    f"missing required parameter '{param}'" + (f" (expected {expected})" if expected else "")
                    + ": add it to the arguments."))
        elif validator in ("additionalProperties", "unevaluatedProperties"):
            allowed = sorted((err.schema.get("properties") or {}).keys())
            extra = [k for k in (err.instance or {}) if k not in allowed] if isinstance(err.instance, dict) else []
            for key in extra:
                param = f"{where}.{key}" if where else key
                problems.append(ArgumentProblem(
                    ArgumentErrorKind.UNEXPECTED_PARAMETER, param,
                    f"unexpected parameter '{param}': tool '{tool.name}' does not take it; remove it"
                    + (f" (accepted parameters: {', '.join(allowed)})." if allowed else " (it takes no parameters).")))
        elif validator == "type":
            expected = err.validator_value
            expected = " or ".join(expected) if isinstance(expected, list) else expected
            problems.append(ArgumentProblem(
                ArgumentErrorKind.WRONG_TYPE, where,
                f"parameter '{where or '(arguments)'}' must be of type {expected}, "
                f"but got {_json_type(err.instance)} {_show(err.instance)}."))
        else:
            kind = ArgumentErrorKind.INVALID_VALUE
            if validator == "enum":
                detail = "must be one of " + ", ".join(_show(v, 40) for v in err.validator_value[:20])
            elif validator == "const":
                detail = f"must be {_show(err.validator_value)}"
            elif validator == "format":
                detail = f"must be a valid {err.validator_value}"
            elif validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
                detail = {"minimum": "must be >= ", "maximum": "must be <= ", "exclusiveMinimum": "must be > ",
                          "exclusiveMaximum": "must be < ", "multipleOf": "must be a multiple of "}[validator] + str(
                    err.validator_value)
            elif validator in ("minLength", "maxLength", "minItems", "maxItems"):
                detail = {"minLength": "must have at least {} characters", "maxLength":
                          "must have at most {} characters", "minItems": "must have at least {} items",
                          "maxItems": "must have at most {} items"}[validator].format(err.validator_value)
            elif validator == "pattern":
                detail = f"must match the pattern {err.validator_value}"
            else:
                detail = err.message
                if validator not in _VALUE_KEYWORDS:
                    detail = f"is not valid ({err.message})"
            problems.append(ArgumentProblem(
                kind, where, f"invalid value for parameter '{where or '(arguments)'}': {detail}, "
                f"but got {_show(err.instance)}."))
    return problems


def check_arguments(tool: ToolDefinition, arguments: Any, *, allow_extra: bool = False) -> list[ArgumentProblem]:
    """Every problem with `arguments` for `tool` (empty when the call is valid).

    With `allow_extra` False (the default), parameters the schema does not declare are refused
    even where the schema leaves `additionalProperties` open, as a strict real API would.
    """
    if not isinstance(arguments, dict):
        return [ArgumentProblem(ArgumentErrorKind.WRONG_TYPE, "", f"the arguments must be a JSON object, "
                                f"got {_json_type(arguments)}.")]
    problems: list[ArgumentProblem] = []
    for error in sorted(tool.input_validator.iter_errors(arguments), key=lambda e: list(e.absolute_path)):
        problems.extend(classify(error, tool))
    schema = tool.input_schema
    declared = schema.get("properties")
    # Only where the schema leaves extra keys fully open (additionalProperties absent or true);
    # `false` is already reported by the validator, and a schema for extras allows them.
    if not allow_extra and isinstance(declared, dict) and schema.get("additionalProperties", True) is True \
            and not schema.get("patternProperties"):
        allowed = sorted(declared)
        for key in arguments:
            if key not in declared:
                problems.append(ArgumentProblem(
                    ArgumentErrorKind.UNEXPECTED_PARAMETER, key,
                    f"unexpected parameter '{key}': tool '{tool.name}' does not take it; remove it"
                    + (f" (accepted parameters: {', '.join(allowed)})." if allowed else " (it takes no parameters).")))
    return problems


def format_problems(tool: ToolDefinition, problems: list[ArgumentProblem]) -> str:
    """The isError text shown to the agent."""
    lines = [f"Invalid arguments for tool '{tool.name}' ({len(problems)} problem{'s' if len(problems) > 1 else ''})"
             ", nothing was executed:"]
    for p in problems:
        lines.append(f"- [{p.kind.value}] {p.message}")
    props = tool.input_schema.get("properties") or {}
    if props:
        required = set(tool.input_schema.get("required") or [])
        sig = ", ".join(f"{k}{'' if k in required else '?'}: {_describe(v).split(' — ')[0] or 'any'}"
                        for k, v in list(props.items())[:25])
        lines.append(f"Expected arguments: {{{sig}}}. Fix the call and try again.")
    return "\n".join(lines)
