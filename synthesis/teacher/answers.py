"""Reading what the teacher wrote. Anything that is not the JSON object asked for is junk: it is
counted (by reason) and the sample is rejected, never written into the dataset."""

from __future__ import annotations

from typing import Any

from gtm_mcp.contract.prompt import parse_answer


class Junk(ValueError):
    """The teacher's answer cannot be used; `reason` is a short label for the counts."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


def json_object(text: str, *, truncated: bool = False, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON object in the teacher's answer (fences and prose around it are tolerated), with the
    `required` keys; raises `Junk` otherwise."""
    try:
        value = parse_answer(text)
    except ValueError as e:
        raise Junk("cut at the token limit" if truncated else "not JSON", str(e)[:200]) from None
    if not isinstance(value, dict):
        raise Junk("not a JSON object", f"got {type(value).__name__}")
    missing = [k for k in required if k not in value]
    if missing:
        raise Junk("missing keys", ", ".join(missing))
    return value
