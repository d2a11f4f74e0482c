"""Session state and the bounded, expiring store that holds it (in this process).

Every store offers the same interface (`SessionStore` here; `RedisSessionStore` shares sessions
between server processes): `lease(key)` gives one call exclusive use of a session and keeps what the
call changed; `get`, `peek`, `drop`, `set_hidden_context`, `summaries`, `stats` serve the admin
routes and tests.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from gtm_mcp.contract.records import CallRecord


@dataclass
class Session:
    """One episode's world: its call history, hidden context and the backend's private memory."""

    key: str
    max_history: int
    hidden_context: str | None = None
    world: dict[str, Any] | None = None  # the declared initial world of the episode, if any
    history: deque[CallRecord] = field(default_factory=deque)
    state: dict[str, Any] = field(default_factory=dict)
    calls: int = 0
    created: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)

    def record(self, call: CallRecord) -> None:
        self.history.append(call)
        while len(self.history) > self.max_history:
            self.history.popleft()
        self.calls += 1

    def reset(self) -> None:
        self.history.clear()
        self.state.clear()
        self.hidden_context = None
        self.calls = 0

    def summary(self) -> dict[str, Any]:
        return {"key": self.key, "calls": self.calls, "history": len(self.history),
                "hidden_context": self.hidden_context is not None,
                "idle_s": round(time.monotonic() - self.last_used, 1)}


class SessionStore:
    """Sessions by key, at most `max_sessions` (least recently used evicted first), each dropped
    after `idle_ttl_s` seconds without a call and keeping at most `max_history` calls."""

    name = "memory"

    def __init__(self, *, max_sessions: int = 10_000, idle_ttl_s: float = 3600.0, max_history: int = 200) -> None:
        self.max_sessions = max_sessions
        self.idle_ttl_s = idle_ttl_s
        self.max_history = max_history
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self.evicted = 0
        self.expired = 0
        self._last_sweep = time.monotonic()

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, key: object) -> bool:
        return key in self._sessions

    @asynccontextmanager
    async def lease(self, key: str) -> AsyncIterator[Session]:
        """The session for one call. In one process the session object is shared and kept as the
        call changes it, so there is nothing to load or save."""
        yield self.get(key)

    def get(self, key: str) -> Session:
        """The session for `key` (created on first use), marked as just used."""
        now = time.monotonic()
        if now - self._last_sweep > min(self.idle_ttl_s, 60.0):
            self.sweep(now)
        session = self._sessions.get(key)
        if session is not None and now - session.last_used > self.idle_ttl_s:
            del self._sessions[key]
            self.expired += 1
            session = None
        if session is None:
            session = Session(key=key, max_history=self.max_history)
            self._sessions[key] = session
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
                self.evicted += 1
        else:
            self._sessions.move_to_end(key)
        session.last_used = now
        return session

    def peek(self, key: str) -> Session | None:
        return self._sessions.get(key)

    def drop(self, key: str) -> bool:
        return self._sessions.pop(key, None) is not None

    def set_hidden_context(self, key: str, text: str | None) -> None:
        """Set (or clear) the session's hidden context for its later calls."""
        self.get(key).hidden_context = text

    def sweep(self, now: float | None = None) -> int:
        """Drop every session idle for longer than the TTL; returns how many were dropped."""
        now = time.monotonic() if now is None else now
        self._last_sweep = now
        stale = [k for k, s in self._sessions.items() if now - s.last_used > self.idle_ttl_s]
        for key in stale:
            del self._sessions[key]
        self.expired += len(stale)
        return len(stale)

    def summaries(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Summaries of the least recently used sessions first, at most `limit`."""
        return [session.summary() for session in list(self._sessions.values())[:limit]]

    def stats(self) -> dict[str, Any]:
        return {"sessions": len(self._sessions), "max_sessions": self.max_sessions, "idle_ttl_s": self.idle_ttl_s,
                "max_history": self.max_history, "evicted": self.evicted, "expired": self.expired}

    async def aclose(self) -> None:
        return None
