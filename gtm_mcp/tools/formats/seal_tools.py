"""Seal-Tools `tool.jsonl`: `api_name`, `api_description`, `field`, `parameters`, `required`, `responses`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gtm_mcp.contract.errors import json_pointer
from gtm_mcp.tools.formats import Entry, items_of
from gtm_mcp.tools.types import type_to_schema

NAME = "seal-tools"


def _is_tool(item: Any) -> bool:
    return isinstance(item, dict) and "api_name" in item and "parameters" in item and "required_parameters" not in item


def detect(doc: Any) -> bool:
    return any(_is_tool(item) for _, item in items_of(doc, ()))


def properties(params: Any, pointer: str) -> tuple[dict[str, Any], tuple[str, str] | None]:
    """JSON Schema properties for `{name: {type, description}}`; or the (pointer, problem) of a bad one."""
    if not isinstance(params, dict):
        return {}, (pointer, "expected an object of {name: {type, description}}")
    props: dict[str, Any] = {}
    for pname, spec in params.items():
        spec = spec if isinstance(spec, dict) else {"type": spec}
        schema = type_to_schema(spec.get("type"))
        if schema is None:
            return {}, (pointer + json_pointer((pname, "type")), f"unknown parameter type {spec.get('type')!r}")
        if spec.get("description"):
            schema["description"] = str(spec["description"])
        props[str(pname)] = schema
    return props, None


def entries(doc: Any) -> Iterator[Entry]:
    for pointer, item in items_of(doc, ()):
        if not _is_tool(item):
            yield Entry(pointer, problem="expected a Seal-Tools record with \"api_name\" and \"parameters\"")
            continue
        # A few Seal-Tools names contain spaces, which MCP clients and model APIs reject.
        name = "_".join(str(item["api_name"]).split())
        props, bad = properties(item.get("parameters"), pointer + "/parameters")
        out, bad_out = properties(item.get("responses") or {}, pointer + "/responses")
        if bad or bad_out:
            where, why = bad or bad_out  # type: ignore[misc]
            yield Entry(pointer, {"name": name}, problem=why, problem_pointer=where)
            continue
        required = [r for r in item.get("required") or [] if r in props]
        fields: dict[str, Any] = {
            "name": name,
            "description": str(item.get("api_description") or ""),
            "input_schema": {"type": "object", "properties": props, "required": required},
        }
        if out:
            fields["output_schema"] = {"type": "object", "properties": out, "required": list(out)}
        if item.get("field"):
            fields["domains"] = (str(item["field"]),)
        yield Entry(pointer, fields)
