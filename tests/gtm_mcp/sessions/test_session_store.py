from __future__ import annotations

import anyio

from gtm_mcp.backends.schema import SchemaBackend
from gtm_mcp.calls.pipeline import Simulator
from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.contract.records import CallRecord
from gtm_mcp.sessions.keys import resolve_session_key
from gtm_mcp.sessions.size import measure_bytes
from gtm_mcp.sessions.store import SessionStore
from gtm_mcp.tools.catalog import ToolCatalog


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


def test_history_is_bounded_in_bytes_oldest_dropped_first() -> None:
    store = SessionStore(max_history=1000, max_session_bytes=20_000)
    session = store.get("a")
    for i in range(50):
        session.record(CallRecord("t", {"i": i}, {"blob": "x" * 1000}))
    assert session.history_bytes <= 20_000
    assert session.history_bytes == sum(c.approx_bytes() for c in session.history)
    kept = [c.arguments["i"] for c in session.history]
    assert kept == list(range(50 - len(kept), 50)) and 10 <= len(kept) < 20  # the newest, in order
    assert store.stats()["max_session_bytes"] == 20_000 and session.summary()["history_bytes"] > 0
    session.reset()
    assert session.history_bytes == 0 and not session.history


def test_backend_memory_counts_and_is_dropped_when_it_alone_outgrows_half() -> None:
    """With the real schema backend, whose world remembers every note it handed out: the session's
    history and world stay within the byte budget, and a world over half of it is dropped."""
    text = {"type": "string"}
    tool = ToolDefinition(name="create_note", input_schema={"type": "object", "properties": {"text": text}},
                          output_schema={"type": "object", "properties": {"note_id": {"type": "string"},
                                                                          "text": {"type": "string"}},
                                         "required": ["note_id", "text"]})
    store = SessionStore(max_history=1000, max_session_bytes=40_000)
    simulator = Simulator(ToolCatalog([tool]), SchemaBackend(), store)
    session = store.get("s")
    peak = 0

    async def main() -> None:
        nonlocal peak
        for i in range(60):
            result = await simulator.call("create_note", {"text": f"{i}:" + "n" * 1000}, session_key="s")
            assert not result.is_error
            peak = max(peak, session.history_bytes + measure_bytes(session.state, 10**9))

    anyio.run(main)
    assert session.state_cleared >= 1  # the world of ~60 KB of notes passed 20 KB and was dropped
    assert peak <= 40_000 + 4_000  # never more than the budget plus the one call being recorded
    assert 0 < len(session.history) < 60 and session.history[-1].arguments["text"].startswith("59:")


def test_measuring_stops_at_the_limit() -> None:
    huge = {"k": ["z" * 100] * 100_000}  # ~10 MB as JSON
    assert measure_bytes(huge, 1000) < 200_000  # stopped soon after passing 1000, far from ~10 MB
    cyclic: dict = {"a": "b" * 50}
    cyclic["self"] = cyclic
    assert 50 < measure_bytes(cyclic, 10_000) < 200


def test_a_session_revived_from_a_shared_store_counts_its_bytes() -> None:
    from gtm_mcp.sessions.codec import session_from_json, session_to_json

    session = SessionStore(max_session_bytes=20_000).get("r")
    for i in range(10):
        session.record(CallRecord("t", {"i": i}, {"blob": "x" * 500}))
    session.state["memo"] = {"k": "v" * 300}
    revived = session_from_json(session_to_json(session), max_history=200, max_bytes=20_000)
    assert revived.history_bytes == session.history_bytes and 300 < revived.state_bytes < 400
    for i in range(40):
        revived.record(CallRecord("t", {"i": i}, {"blob": "x" * 500}))
    assert revived.history_bytes + revived.state_bytes <= 20_000
