"""The output guard: turn a backend's answer into a JSON object valid for the output schema."""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema.protocols import Validator

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def parse_answer(answer: dict[str, Any] | str) -> Any:
    """The JSON value in a backend's answer: a dict as is; text with ``` fences or prose around
    the JSON stripped (the first JSON object or array in it). Raises ValueError when there is none."""
    if not isinstance(answer, str):
        return answer
    text = answer.strip()
    for candidate in [m.group(1).strip() for m in _FENCE.finditer(text)] + [text]:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            pass
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
            return value
        except json.JSONDecodeError:
            continue
    preview = text[:120] + ("..." if len(text) > 120 else "")
    raise ValueError(f"the answer contains no JSON value: {preview!r}")


def output_problem(value: Any, validator: Validator | None) -> str | None:
    """Why `value` is not an acceptable tool output, or None when it is."""
    if not isinstance(value, dict):
        return f"the output must be a JSON object, got {type(value).__name__}"
    if validator is None:
        return None
    errors = sorted(validator.iter_errors(value), key=lambda e: len(list(e.absolute_path)))
    if not errors:
        return None
    first = errors[0]
    where = "/".join(str(p) for p in first.absolute_path) or "(root)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"at {where}: {first.message[:300]}{more}"
