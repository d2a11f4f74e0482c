from __future__ import annotations

from gtm_mcp.contract.records import CallRecord
from gtm_mcp.sessions.keys import resolve_session_key
from gtm_mcp.sessions.store import SessionStore


def test_bounded_history_lru_eviction_and_idle_expiry(monkeypatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("gtm_mcp.sessions.store.time.monotonic", lambda: clock[0])
    store = SessionStore(max_sessions=3, idle_ttl_s=60, max_history=2)
    session = store.get("a")
    for i in range(5):
        session.record(CallRecord("t", {"i": i}, {}))
    assert [c.arguments["i"] for c in session.history] == [3, 4] and session.calls == 5
    for key in "bcd":
        store.get(key)
    assert "a" not in store and len(store) == 3 and store.evicted == 1  # least recently used went first
    clock[0] += 61
    fresh = store.get("b")
    assert fresh.calls == 0 and store.expired >= 1
    assert len(store) == 1  # the sweep dropped the other idle sessions


def test_session_key_precedence() -> None:
    assert resolve_session_key({"gtm-mcp/session": "m"}, "p", "h") == "m"
    assert resolve_session_key({}, "p", "h") == "p"
    assert resolve_session_key(None, None, "h") == "h"
    assert resolve_session_key(None, None, None, stdio=True) == "stdio"
    assert resolve_session_key({"gtm-mcp/session": "  "}, None, None) == "default"
