"""OpenAI function/tool definitions (Chat Completions `tools`, legacy `functions`, Responses API)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gtm_mcp.tools.formats import Entry, items_of

NAME = "openai"


def _function_of(item: Any) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(item, dict):
        return None
    if item.get("type") == "function" and isinstance(item.get("function"), dict):
        return "/function", item["function"]
    if "parameters" in item and "name" in item:
        return "", item
    return None


def detect(doc: Any) -> bool:
    return any(_function_of(item) for _, item in items_of(doc, ("tools", "functions")))


def entries(doc: Any) -> Iterator[Entry]:
    for pointer, item in items_of(doc, ("tools", "functions")):
        found = _function_of(item)
        if found is None:
            yield Entry(pointer, problem="expected an OpenAI tool ({\"type\": \"function\", \"function\": {...}}) "
                        "or function ({\"name\", \"parameters\"})")
            continue
        sub, fn = found
        if not isinstance(fn.get("name"), str):
            yield Entry(pointer, problem="an OpenAI function needs a string \"name\"",
                        problem_pointer=pointer + sub + "/name")
            continue
        params = fn.get("parameters")
        yield Entry(pointer + sub, {
            "name": fn["name"],
            "description": fn.get("description") or "",
            "input_schema": params if params is not None else {"type": "object", "properties": {}},
        })
