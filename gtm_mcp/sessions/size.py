"""How many bytes a session's backend memory holds, measured cheaply and never past a limit.

The backend's memory (`SimulationRequest.state`) is any Python data: dicts, lists, strings and
numbers, and objects holding them (the schema backend's `World`). Its size is counted roughly as
JSON would write it (string lengths, a few bytes per number and per container entry); the walk
stops as soon as the count passes `limit`, so measuring never costs more than the limit allows.
"""

from __future__ import annotations

from typing import Any

_SCALAR_BYTES = 8  # a number, bool or None with its separator


def measure_bytes(value: Any, limit: int) -> int:
    """The approximate size of `value` in bytes, or a number above `limit` once it is passed."""
    total = 0
    seen: set[int] = set()
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 3
        elif isinstance(item, (bytes, bytearray)):
            total += len(item) + 3
        elif item is None or isinstance(item, (bool, int, float)):
            total += _SCALAR_BYTES
        else:
            if id(item) in seen:
                continue
            seen.add(id(item))
            total += 2
            if isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, (list, tuple, set, frozenset)):
                stack.extend(item)
                total += len(item)
            elif hasattr(item, "__dict__"):
                stack.append(vars(item))
            elif hasattr(item, "__slots__"):
                stack.extend(getattr(item, slot, None) for slot in item.__slots__)
            else:
                total += _SCALAR_BYTES
        if total > limit:
            return total
    return total
