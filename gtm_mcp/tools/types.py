"""Normalising the type names found in tool data sets (`str`, `STRING`, `DATE (YYYY-MM-DD)`, ...) to JSON Schema."""

from __future__ import annotations

import re
from typing import Any

_SIMPLE: dict[str, dict[str, Any]] = {
    **{key: {"type": "string"} for key in ["str", "string", "text", "enum", "char", "binary", "bytes"]},
    **{key: {"type": "integer"} for key in ["int", "integer", "long"]},
    **{key: {"type": "number"} for key in ["float", "number", "double", "decimal"]},
    **{key: {"type": "boolean"} for key in ["bool", "boolean"]},
    **{key: {"type": "array"} for key in ["list", "array", "empty list"]},
    **{key: {"type": "object"} for key in ["dict", "object", "map", "json"]},
    **{key: {"type": "string", "format": "date"} for key in ["date", "date (yyyy-mm-dd)"]},
    **{key: {"type": "string", "format": "date-time"} for key in ["datetime", "date-time"]},
    "time (24-hour hh:mm)": {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"},
    **{key: {"type": "null"} for key in ["null", "none"]},
}
_GENERIC = re.compile(r"^(list|array)\s*[\[<(]\s*(.+?)\s*[\])>]$")


def type_to_schema(name: object) -> dict[str, Any] | None:
    """JSON Schema for a data set's type name; None when the name is not understood."""
    if not isinstance(name, str):
        return None
    key = " ".join(name.strip().lower().split())
    if key in _SIMPLE:
        return dict(_SIMPLE[key])
    match = _GENERIC.match(key)
    if match:
        inner = type_to_schema(match.group(2))
        return {"type": "array", "items": inner} if inner is not None else None
    return None


def template_to_schema(template: object) -> dict[str, Any]:
    """A JSON Schema describing an example response whose leaves are type names (StableToolBench).

    Leaves that are not type names become unconstrained; every key of an object is required.
    """
    if isinstance(template, dict):
        props = {str(k): template_to_schema(v) for k, v in template.items()}
        return {"type": "object", "properties": props, "required": list(props)}
    if isinstance(template, list):
        return {"type": "array", "items": template_to_schema(template[0])} if template else {"type": "array"}
    if isinstance(template, str):
        return type_to_schema(template) or {}
    if isinstance(template, bool):
        return {"type": "boolean"}
    if isinstance(template, int):
        return {"type": "integer"}
    if isinstance(template, float):
        return {"type": "number"}
    return {}
