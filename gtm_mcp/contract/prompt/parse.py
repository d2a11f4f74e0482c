"""Reading a model's answer back (prompt format `gtm-prompt/2`).

`read_answer` turns an answer into a `ToolOutput`: `Error: <text>` is a refusal (isError); else
JSON when the tool has an output schema, text when it has none. Models wrap JSON in ``` fences,
prefix it with prose or a `<think>` block, or trail text after it: `parse_answer` returns the
first JSON object (or array) found; it never invents one.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gtm_mcp.contract.prompt.render import ERROR_PREFIX
from gtm_mcp.contract.records import ToolOutput

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)```", re.DOTALL)
_DECODER = json.JSONDecoder()


def parse_answer(text: str) -> Any:
    """The JSON value a model answered: the whole text if it is JSON; else the first fenced block
    that is; else the first `{...}` or `[...]` that decodes. Raises `ValueError` saying what was
    seen when there is none."""
    if not isinstance(text, str):
        raise ValueError(f"expected the model's answer as text, got {type(text).__name__}")
    cleaned = _THINK.sub("", text).strip()
    try:
        return json.loads(cleaned)
    except json.JSONDecodeError:
        pass
    for block in _FENCE.findall(cleaned):
        try:
            return json.loads(block.strip())
        except json.JSONDecodeError:
            continue
    found = _first_embedded(cleaned)
    if found is not None:
        return found[0]
    preview = cleaned if len(cleaned) <= 200 else cleaned[:200] + "..."
    if not cleaned:
        raise ValueError("the model's answer is empty: no JSON output found")
    raise ValueError(f"no JSON object found in the model's answer: {preview!r}")


def _first_embedded(text: str) -> tuple[Any] | None:
    for match in re.finditer(r"[{\[]", text):
        try:
            value, _ = _DECODER.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        return (value,)
    return None


def read_answer(text: str, *, expects_json: bool) -> ToolOutput:
    """The tool output a model wrote: an error for `Error: ...`, else the JSON value (when the tool
    has an output schema) or the text. Raises `ValueError` when JSON was expected and none is found."""
    if not isinstance(text, str):
        raise ValueError(f"expected the model's answer as text, got {type(text).__name__}")
    cleaned = _THINK.sub("", text).strip()
    if cleaned.startswith(ERROR_PREFIX.strip()):
        message = cleaned[len(ERROR_PREFIX.strip()):].strip()
        return ToolOutput(message or "the tool reported an error", is_error=True)
    if expects_json:
        return ToolOutput(parse_answer(cleaned))
    if not cleaned:
        raise ValueError("the model's answer is empty")
    return ToolOutput(cleaned)
