"""The output guard: turn a backend's answer into a JSON object valid for the output schema."""

from __future__ import annotations

from typing import Any

from jsonschema.protocols import Validator

from gtm_mcp.prompt.parse import parse_answer as parse_text


def parse_answer(answer: dict[str, Any] | str) -> Any:
    """The JSON value in a backend's answer: a dict as is; text as the prompt format reads it
    (fences, prose and think blocks stripped). Raises ValueError when there is none."""
    return answer if not isinstance(answer, str) else parse_text(answer)


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
