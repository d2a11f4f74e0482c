"""Values that flow from earlier outputs into later calls: the leaves of JSON values (and the words of
text outputs), used by the multi-turn check ("an id returned earlier is passed later") and by the
recorder's planner (later calls reuse what earlier ones returned)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

_TOKEN = re.compile(r"[#\w][\w.@/:#+-]{2,}")


def leaves(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """(key, scalar) for every scalar inside `value` (list items carry their list's key)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v, key)
    elif value is not None:
        yield key, value


def as_json(value: Any) -> Any:
    """A text output that is JSON, parsed (real tools often print JSON); anything else as it is."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "{[":
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return value
    return value


def distinctive(value: Any) -> bool:
    """A value specific enough that seeing it again means it flowed (not `1`, `true`, `"ok"`)."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float)):
        return abs(value) >= 10 and value not in (100, 1000)
    return isinstance(value, str) and len(value.strip()) >= 3


def flowed_values(calls: list[dict[str, Any]]) -> list[tuple[int, str, Any]]:
    """(call index, argument key, value) for each argument value that an earlier call's output holds."""
    found = []
    seen_scalars: set[str] = set()
    seen_text: list[str] = []
    for i, call in enumerate(calls):
        if i:
            for key, value in leaves(call.get("arguments") or {}):
                if not distinctive(value):
                    continue
                text = str(value)
                if text in seen_scalars or any(text in t for t in seen_text):
                    found.append((i, key, value))
        output = as_json(call.get("output", call.get("result")))
        if isinstance(output, str):
            seen_text.append(output)
        for _, value in leaves(output):
            if distinctive(value):
                seen_scalars.add(str(value))
    return found
