"""The output guard: turn a backend's answer into a tool output (JSON valid for the output schema,
text, or a refusal) or say why it cannot be used."""

from __future__ import annotations

from typing import Any

from jsonschema.protocols import Validator

from gtm_mcp.contract import ToolOutput
from gtm_mcp.contract.prompt import read_answer


def read_output(answer: ToolOutput | dict[str, Any] | str, *, expects_json: bool) -> ToolOutput:
    """A backend's answer as a `ToolOutput`: a `ToolOutput` as is, a dict as a JSON output, text as
    the prompt format reads it (`Error: ...` is a refusal; JSON out of fences and prose when the
    tool has an output schema). Raises ValueError when there is no usable output."""
    if isinstance(answer, ToolOutput):
        return answer
    if isinstance(answer, dict):
        return ToolOutput(answer)
    if isinstance(answer, str):
        return read_answer(answer, expects_json=expects_json)
    raise ValueError(f"the backend answered {type(answer).__name__}, not an output")


def output_problem(value: Any, validator: Validator | None) -> str | None:
    """Why `value` is not an acceptable JSON tool output, or None when it is."""
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
