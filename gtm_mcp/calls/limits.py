"""What a call's arguments may cost: a size and a depth limit, and whether checking them belongs in a
worker thread.

The pipeline walks the arguments on the event loop only as far as `QUICK_NODES` nodes (and no
string longer than `THREAD_BYTES`): small arguments, the common case, are measured and checked
right there; anything bigger is measured and checked in a worker thread, where a 4 MB string or a
schema with a thousand patterns costs a thread, not every other session's latency. Nesting past
`max_depth` and sizes past `max_bytes` are refused before any schema check runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import re2

#: Nodes (values, keys) walked on the event loop before arguments count as large.
QUICK_NODES = 2_000
#: Arguments (or one string) above this many bytes are checked in a worker thread.
THREAD_BYTES = 64 * 1024
#: Input schemas above this many bytes (as JSON) are checked in a worker thread whatever the arguments.
HEAVY_SCHEMA_BYTES = 64 * 1024

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


@dataclass(frozen=True)
class ArgumentSize:
    """Bytes (as compact JSON, roughly) and nesting depth of arguments. `complete` is False when a
    quick walk stopped early because the arguments are large (then `bytes` is a lower bound)."""

    bytes: int
    depth: int
    complete: bool = True


def measure_arguments(value: Any, *, max_bytes: int, max_depth: int, quick: bool = False) -> ArgumentSize:
    """The size and depth of `value`, stopping as soon as a limit is passed (the verdict is then
    known). With `quick`, also stop after `QUICK_NODES` nodes or at a string over `THREAD_BYTES`
    (incomplete: measure again without `quick`, in a worker thread)."""
    total = 0
    deepest = 0
    nodes = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if quick and nodes > QUICK_NODES:
            return ArgumentSize(total, deepest, complete=False)
        if isinstance(item, str):
            if quick and len(item) > THREAD_BYTES:
                return ArgumentSize(total + len(item), deepest, complete=False)
            total += (len(item) if item.isascii() else len(item.encode("utf-8", "surrogatepass"))) + 3
        elif isinstance(item, dict):
            deepest = max(deepest, depth)
            total += 2
            for key, sub in item.items():
                stack.append((key, depth))
                stack.append((sub, depth + 1))
        elif isinstance(item, (list, tuple)):
            deepest = max(deepest, depth)
            total += 2
            stack.extend((sub, depth + 1) for sub in item)
        else:
            total += 8
        if total > max_bytes or deepest > max_depth:
            return ArgumentSize(total, deepest)
    return ArgumentSize(total, deepest)


def limit_problem(size: ArgumentSize, *, max_bytes: int, max_depth: int) -> str | None:
    """The refusal text when `size` passes a limit (None when the arguments are within both)."""
    if size.depth > max_depth:
        return (f"The arguments are nested more than {max_depth} levels deep, beyond this server's limit "
                "(--max-argument-depth); nothing was executed. Send flatter arguments.")
    if size.bytes > max_bytes:
        return (f"The arguments are over {max_bytes} bytes as JSON, beyond this server's limit "
                "(--max-argument-bytes); nothing was executed. Send smaller arguments.")
    return None


def schema_is_heavy(schema: Any) -> bool:
    """Whether checking arguments against `schema` may take long whatever the arguments' size: a
    large schema, or a pattern only the time-limited engine can run (lookarounds, backreferences)."""
    try:
        if len(json.dumps(schema)) > HEAVY_SCHEMA_BYTES:
            return True
    except (TypeError, ValueError):
        return True
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            pattern = item.get("pattern")
            named = [pattern] if isinstance(pattern, str) else []
            props = item.get("patternProperties")
            if isinstance(props, dict):
                named.extend(k for k in props if isinstance(k, str))
            if any(not _re2_accepts(p) for p in named):
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _re2_accepts(pattern: str) -> bool:
    try:
        re2.compile(pattern, options=_RE2_OPTIONS)
    except Exception:
        return False
    return True
