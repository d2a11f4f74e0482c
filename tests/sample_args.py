"""Valid and invalid arguments made from a tool's input schema, independently of the server's code."""

from __future__ import annotations

from typing import Any

import jsonschema

#: Valid values for parameters whose name says what they hold (a real tool refuses "sample timezone").
NAMED = {"timezone": "UTC", "time_zone": "UTC", "tz": "UTC", "time": "09:30"}
FORMATS = {"date": "2026-01-15", "date-time": "2026-01-15T10:00:00Z", "email": "ann@example.com",
           "uri": "https://example.com/a", "uuid": "123e4567-e89b-42d3-a456-426614174000"}


def sample(schema: Any, name: str = "x") -> Any:
    """A value for simple schemas; None when the schema is too clever for this helper."""
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if schema.get("default") is not None:
        return schema["default"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "string":
        named = next((v for k, v in NAMED.items() if name.lower() == k or name.lower().endswith("_" + k)), None)
        return FORMATS.get(schema.get("format"), named or f"sample {name}")
    if kind in ("integer", "number"):
        lo = schema.get("minimum", 1)
        value = max(lo, min(schema.get("maximum", lo + 5), lo + 2))
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    if kind == "array":
        item = sample(schema.get("items", {"type": "string"}), name)
        return None if item is None else [item] * max(1, schema.get("minItems", 1))
    if kind == "object" or "properties" in schema:
        out = {}
        for key in schema.get("required", []):
            value = sample(schema.get("properties", {}).get(key, {"type": "string"}), key)
            if value is None:
                return None
            out[key] = value
        return out
    return None


def valid_arguments(input_schema: dict[str, Any]) -> dict[str, Any] | None:
    args = sample(input_schema)
    if not isinstance(args, dict):
        return None
    try:
        jsonschema.validate(args, input_schema)
    except (jsonschema.ValidationError, jsonschema.SchemaError):
        return None
    return args


def bad_calls(name: str, schema: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """(kind, arguments, parameter the error must name) for each bad-argument kind this tool allows."""
    args = valid_arguments(schema)
    props = schema.get("properties") or {}
    if args is None or not props:
        return []
    out = []
    required = schema.get("required") or []
    if required:
        out.append(("missing required", {k: v for k, v in args.items() if k != required[0]}, required[0]))
    for key, prop in props.items():
        if key in args and prop.get("type") in ("integer", "number", "boolean", "array", "object"):
            out.append(("wrong type", {**args, key: "not-a-" + prop["type"]}, key))
            break
        if key in args and prop.get("type") == "string" and "enum" not in prop:
            out.append(("wrong type", {**args, key: 12345}, key))
            break
    for key, prop in props.items():
        if key in args and prop.get("enum"):
            out.append(("invalid value", {**args, key: "zz-not-in-enum"}, key))
            break
    out.append(("unexpected parameter", {**args, "zz_unexpected": 1}, "zz_unexpected"))
    return out
