"""Session state and the bounded, expiring store that holds it (in this process).

Every store offers the same interface (`SessionStore` here; `RedisSessionStore` shares sessions
between server processes): `lease(key)` gives one call exclusive use of a session and keeps what the
call changed; `get`, `peek`, `drop`, `edit`, `summaries`, `stats` serve the admin
routes and tests.

A session is bounded in calls (`max_history`) and in bytes (`max_bytes`: its history as JSON plus
the backend's memory in `state`, which may take at most half). History bytes are counted exactly as
calls are recorded. The backend's memory is measured only when the history plus an upper bound of
the memory's growth (a recorded call could add at most its own size) passes the limit, so the common
call costs one size count of its own record.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from gtm_mcp.contract.records import CallRecord
from gtm_mcp.sessions.size import measure_bytes

log = logging.getLogger(__name__)
DEFAULT_MAX_BYTES = 8 * 1024 * 1024


@dataclass
class Session:
    """One episode's world: its call history, hidden context and the backend's private memory."""

    key: str
    max_history: int
    max_bytes: int = DEFAULT_MAX_BYTES
    hidden_context: str | None = None
    world: dict[str, Any] | None = None  # the declared initial world of the episode, if any
    history: deque[CallRecord] = field(default_factory=deque)
    state: dict[str, Any] = field(default_factory=dict)
    calls: int = 0
    created: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    history_bytes: int = 0  # sum of the kept records' sizes
    state_bytes: int = 0  # the backend memory's size when last measured, plus what calls may have added since
    state_cleared: int = 0  # times the backend's memory outgrew `max_bytes` and was dropped
    _sizes: deque[int] = field(default_factory=deque, repr=False)

    def __post_init__(self) -> None:
        """A session revived with history and state (a shared store) counts what it holds."""
        if len(self._sizes) != len(self.history):
            self._sizes = deque(call.approx_bytes() for call in self.history)
            self.history_bytes = sum(self._sizes)
        if self.state and not self.state_bytes:
            self.state_bytes = measure_bytes(self.state, self.max_bytes + 1)

    def record(self, call: CallRecord) -> None:
        size = call.approx_bytes()
        self.history.append(call)
        self._sizes.append(size)
        self.history_bytes += size
        self.state_bytes += size  # the backend may have remembered at most this much more
        self.calls += 1
        while len(self.history) > self.max_history:
            self._drop_oldest()
        if self.history_bytes + self.state_bytes > self.max_bytes:
            self._fit()

    def _drop_oldest(self) -> None:
        self.history.popleft()
        self.history_bytes -= self._sizes.popleft()

    def _fit(self) -> None:
        """Back under `max_bytes`, with room to spare: the backend's memory is measured and dropped
        when it holds more than half the budget; then the oldest calls go until history and memory
        take at most three quarters, so the next measurement waits for a quarter of new calls (the
        cost of measuring stays proportional to what was recorded)."""
        limit = self.max_bytes // 2
        self.state_bytes = measure_bytes(self.state, limit + 1)
        if self.state_bytes > limit:
            log.warning("session %r: the simulator's memory of it passed %d bytes (half of --max-session-bytes) "
                        "and was dropped", self.key, limit)
            self.state.clear()
            self.state_bytes = 0
            self.state_cleared += 1
        target = self.max_bytes * 3 // 4
        while self.history and self.history_bytes + self.state_bytes > target:
            self._drop_oldest()

    def reset(self) -> None:
        """A new episode: history and backend memory go; a declared world stays, to start from again."""
        self.history.clear()
        self._sizes.clear()
        self.state.clear()
        self.hidden_context = None
        self.calls = 0
        self.history_bytes = self.state_bytes = 0

    def declare_world(self, world: dict[str, Any] | None) -> None:
        """Start the episode again from `world` (its declared initial state; None: undeclared)."""
        self.history.clear()
        self._sizes.clear()
        self.state.clear()
        self.calls = 0
        self.history_bytes = self.state_bytes = 0
        self.world = world

    def summary(self) -> dict[str, Any]:
        return {"key": self.key, "calls": self.calls, "history": len(self.history),
                "history_bytes": self.history_bytes, "hidden_context": self.hidden_context is not None,
                "world": self.world is not None,
                "idle_s": round(time.monotonic() - self.last_used, 1)}


class SessionStore:
    """Sessions by key, at most `max_sessions` (least recently used evicted first), each dropped
    after `idle_ttl_s` seconds without a call and keeping at most `max_history` calls and
    `max_session_bytes` bytes (history and backend memory)."""

    name = "memory"

    def __init__(self, *, max_sessions: int = 10_000, idle_ttl_s: float = 3600.0, max_history: int = 200,
                 world: dict[str, Any] | None = None, max_session_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_sessions = max_sessions
        self.world = world  # the declared initial world of every new session (`--world FILE`), if any
        self.idle_ttl_s = idle_ttl_s
        self.max_history = max_history
        self.max_session_bytes = max_session_bytes
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
            session = Session(key=key, max_history=self.max_history, world=self.world,
                              max_bytes=self.max_session_bytes)
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

    def edit(self, key: str, change: Callable[[Session], None]) -> Session:
        """Apply `change` to the session (created on first use) outside any call; returns it."""
        session = self.get(key)
        change(session)
        return session

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
                "max_history": self.max_history, "max_session_bytes": self.max_session_bytes,
                "evicted": self.evicted, "expired": self.expired}

    async def aclose(self) -> None:
        return None
