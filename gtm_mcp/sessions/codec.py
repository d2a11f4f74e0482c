"""A session as one JSON document, for stores that keep sessions outside the process (Redis).

Every field of `Session` travels (so a field added to `Session` later travels too, as long as it
holds JSON data); the call history as `CallRecord.to_json()` entries. Backends keep their memory in
`Session.state`, which must be plain JSON data (dicts with string keys, lists, strings, numbers,
booleans, None): anything else is refused with `SessionStateError` naming where it sits, so a
backend that keeps a Python object there fails loudly instead of losing its world between replicas.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections import deque
from typing import Any

from gtm_mcp.contract.records import CallRecord
from gtm_mcp.sessions.store import DEFAULT_MAX_BYTES, Session

#: Session fields that are per-process bookkeeping, not part of the episode (sizes are recounted).
_LOCAL_FIELDS = {"created", "last_used", "max_history", "max_bytes", "history_bytes", "state_bytes", "_sizes"}


class SessionStateError(TypeError):
    """A session holds something that is not JSON data and cannot be shared between replicas."""


def plain_json(value: Any, where: str) -> Any:
    """`value` as JSON data; raises SessionStateError naming `where` for anything else."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        raise SessionStateError(f"{where} is {value!r}, which JSON cannot hold")
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise SessionStateError(f"{where} has a key {key!r} of type {type(key).__name__}; JSON keys are "
                                        "strings")
            out[key] = plain_json(item, f"{where}[{key!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [plain_json(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise SessionStateError(
        f"{where} holds a {type(value).__module__}.{type(value).__qualname__}, which is not JSON data: a shared "
        "session store (--session-store redis) needs backends that keep plain JSON in Session.state")


def session_to_json(session: Session) -> str:
    """The session's episode (history, hidden context, world, backend state, counters) as JSON."""
    data: dict[str, Any] = {}
    for f in dataclasses.fields(session):
        if f.name in _LOCAL_FIELDS:
            continue
        value = getattr(session, f.name)
        if f.name == "history":
            value = [plain_json(call.to_json(), f"history[{i}]") for i, call in enumerate(value)]
        data[f.name] = plain_json(value, f"session {session.key!r}: {f.name}")
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def session_from_json(text: str | bytes, *, max_history: int, max_bytes: int = DEFAULT_MAX_BYTES) -> Session:
    data = json.loads(text)
    known = {f.name for f in dataclasses.fields(Session)}
    fields = {k: v for k, v in data.items() if k in known and k not in _LOCAL_FIELDS}
    history = deque(CallRecord.from_json(c) for c in fields.pop("history", []))
    while len(history) > max_history:
        history.popleft()
    now = time.monotonic()
    return Session(**fields, history=history, max_history=max_history, max_bytes=max_bytes, created=now,
                   last_used=now)
