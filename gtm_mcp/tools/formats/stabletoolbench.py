"""StableToolBench (ToolBench/RapidAPI) APIs: query files with `api_list`, or bare API records.

Names follow ToolBench's convention, `<api>_for_<tool>` in snake case, at most 64 characters,
so a GTM serves the names agents trained on ToolBench already call.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from gtm_mcp.tools.formats import Entry, items_of
from gtm_mcp.tools.types import template_to_schema, type_to_schema

NAME = "stabletoolbench"


def _is_api(item: Any) -> bool:
    return isinstance(item, dict) and "api_name" in item and "required_parameters" in item


def _apis(doc: Any) -> Iterator[tuple[str, Any]]:
    for pointer, item in items_of(doc, ()):
        if isinstance(item, dict) and isinstance(item.get("api_list"), list):
            for j, api in enumerate(item["api_list"]):
                yield f"{pointer}/api_list/{j}", api
        else:
            yield pointer, item


def detect(doc: Any) -> bool:
    for _, item in _apis(doc):
        return _is_api(item)
    return False


def standardize(name: str) -> str:
    name = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()
    name = re.sub(r"_+", "_", name)
    if not name or name[0].isdigit():
        name = "get_" + name
    return name


def tool_name(api: str, tool: str) -> str:
    full = f"{standardize(api)}_for_{standardize(tool)}"
    return full[:64]


def _param_schema(param: dict[str, Any]) -> dict[str, Any] | None:
    schema = type_to_schema(param.get("type"))
    if schema is None:
        return None
    if param.get("description"):
        schema["description"] = str(param["description"])
    default = param.get("default")
    if default not in (None, ""):
        schema["examples"] = [default]
    return schema


def entries(doc: Any) -> Iterator[Entry]:
    for pointer, api in _apis(doc):
        if not _is_api(api):
            yield Entry(pointer, problem="expected a StableToolBench API with \"api_name\" and \"required_parameters\"")
            continue
        name = tool_name(str(api["api_name"]), str(api.get("tool_name", "")))
        props: dict[str, Any] = {}
        required: list[str] = []
        problem = None
        for group in ("required_parameters", "optional_parameters"):
            for k, param in enumerate(api.get(group) or []):
                where = f"{pointer}/{group}/{k}"
                if not isinstance(param, dict) or not isinstance(param.get("name"), str):
                    problem = (where, "a parameter needs a string \"name\"")
                    break
                schema = _param_schema(param)
                if schema is None:
                    problem = (where + "/type", f"unknown parameter type {param.get('type')!r}")
                    break
                props[param["name"]] = schema
                if group == "required_parameters":
                    required.append(param["name"])
        if problem:
            yield Entry(pointer, {"name": name}, problem=problem[1], problem_pointer=problem[0])
            continue
        method = str(api.get("method") or "").upper()
        description = str(api.get("api_description") or "").strip()
        fields: dict[str, Any] = {
            "name": name,
            "description": f"{description} ({method} endpoint of the {api.get('tool_name')} API)".strip()
            if method else description,
            "input_schema": {"type": "object", "properties": props, "required": required},
            "server": str(api.get("tool_name") or "") or None,
        }
        template = api.get("template_response")
        if isinstance(template, dict) and template:
            fields["output_schema"] = template_to_schema(template)
        if api.get("category_name"):
            fields["domains"] = (str(api["category_name"]),)
        yield Entry(pointer, fields)
