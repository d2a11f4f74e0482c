"""The paper's deterministic metrics (Format, Comp, Det), decided per sample without a judge.

- **Format**: the call was answered with an output (not an error) of the tool's format: a JSON object
  that validates against the output schema when the tool has one; a JSON value when the reference
  is JSON; any non-empty output when the tool answers in text.
- **Comp** (completeness): every field the output schema requires is present, recursively in the
  nested objects and array items that are present; without an output schema, every top-level key of
  a JSON reference. An error answer is not complete.
- **Det** (detection, error samples): the simulator answered with an isError result of its own
  (a simulator failure is not a detection).
"""

from __future__ import annotations

from typing import Any

from gtm_mcp.contract import ToolDefinition
from training.evaluation.samples import Outcome


def format_ok(tool: ToolDefinition, observed: Outcome, reference: Outcome) -> bool:
    if observed.is_error:
        return False
    if tool.output_schema is not None:
        value = observed.json_value()
        if not isinstance(value, dict):
            return False
        validator = tool.output_validator
        return validator is None or not any(True for _ in validator.iter_errors(value))
    if reference.shape == "json":
        return observed.json_value() is not None
    return bool(observed.text.strip())


def missing_required(schema: dict[str, Any] | None, value: Any, path: str = "") -> list[str]:
    """JSON paths of the fields `schema` requires that `value` lacks (objects and array items)."""
    if not isinstance(schema, dict):
        return []
    missing: list[str] = []
    if isinstance(value, dict):
        for name in schema.get("required", []) or []:
            if name not in value:
                missing.append(f"{path}/{name}")
        for name, sub in (schema.get("properties") or {}).items():
            if name in value:
                missing += missing_required(sub, value[name], f"{path}/{name}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            missing += missing_required(schema["items"], item, f"{path}/{i}")
    for key in ("allOf",):
        for sub in schema.get(key) or []:
            missing += missing_required(sub, value, path)
    return missing


def missing_fields(tool: ToolDefinition, observed: Outcome, reference: Outcome) -> list[str] | None:
    """What the answer lacks (see the module doc); None when it cannot be complete at all (an error,
    or no JSON where JSON is needed)."""
    if observed.is_error:
        return None
    if tool.output_schema is not None:
        value = observed.json_value()
        if not isinstance(value, dict):
            return None
        return missing_required(tool.output_schema, value)
    expected = reference.json_value()
    if isinstance(expected, dict):
        value = observed.json_value()
        if not isinstance(value, dict):
            return None
        return [f"/{key}" for key in expected if key not in value]
    return [] if observed.text.strip() else None


def complete(tool: ToolDefinition, observed: Outcome, reference: Outcome) -> bool:
    missing = missing_fields(tool, observed, reference)
    return missing is not None and not missing


def detected(observed: Outcome) -> bool:
    return observed.is_error and not observed.simulator_failed
