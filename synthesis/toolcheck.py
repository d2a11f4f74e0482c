"""Is a tool definition usable as training material? The contract's schema checks
(`ToolDefinition.problems`: valid JSON Schema, objects at the top) plus what the contract leaves
open: every required parameter is declared, and the tool says what it does."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from gtm_mcp.contract import ToolDefinition


def _undeclared_required(schema: Any, pointer: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if not isinstance(schema, dict):
        return found
    props = schema.get("properties")
    required = schema.get("required")
    if isinstance(required, list) and isinstance(props, dict):
        for name in required:
            if name not in props and not schema.get("additionalProperties") and not schema.get("patternProperties"):
                found.append((f"{pointer}/required", f"required parameter {name!r} is not declared in properties"))
    if isinstance(props, dict):
        for key, sub in props.items():
            found += _undeclared_required(sub, f"{pointer}/properties/{key}")
    if isinstance(schema.get("items"), dict):
        found += _undeclared_required(schema["items"], f"{pointer}/items")
    return found


def tool_problems(tool: ToolDefinition, *, need_description: bool = True) -> list[tuple[str, str]]:
    """(pointer, message) for each reason `tool` is not usable; empty when it is."""
    found = list(tool.problems())
    found += _undeclared_required(tool.input_schema, "/input_schema")
    if tool.output_schema is not None:
        found += _undeclared_required(tool.output_schema, "/output_schema")
    if need_description and len(tool.description.strip()) < 8:
        found.append(("/description", "a tool needs a description saying what it does"))
    return found


def tool_from_fields(fields: Any) -> tuple[ToolDefinition | None, list[tuple[str, str]]]:
    """A definition from a JSON object in the GTM format (as a teacher writes it), or its problems."""
    if not isinstance(fields, dict):
        return None, [("", f"expected a JSON object, got {type(fields).__name__}")]
    allowed = {"name", "description", "input_schema", "output_schema", "domains", "server"}
    try:
        tool = ToolDefinition(**{k: v for k, v in fields.items() if k in allowed})
    except ValidationError as e:
        return None, [("/" + ".".join(str(p) for p in err["loc"]), err["msg"]) for err in e.errors()]
    except TypeError as e:
        return None, [("", str(e))]
    problems = tool_problems(tool)
    return (None, problems) if problems else (tool, [])
