"""Recording calls as episodes and replaying them, through the real call path (settings → router →
schema backend), plus a real server process killed mid-recording."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import EXAMPLE_TOOLS, run_server
from mcp import Client

from gtm_mcp.calls.cassette import CallMatcher, Recorder, journals_of, load_episodes
from gtm_mcp.calls.pipeline import Outcome, Simulator
from gtm_mcp.calls.redact import REDACTED, Redactor
from gtm_mcp.config import load_settings
from gtm_mcp.contract import EpisodeRecord
from gtm_mcp.server.runtime import build_simulator

SECRET = "sk-live-0123456789abcdefghij"


def simulator(**flags: Any) -> Simulator:
    return build_simulator(load_settings(flags, env={}))


def play(sim: Simulator, calls: list[tuple[str, str, dict]], meta: dict | None = None) -> list[Any]:
    async def main() -> list[Any]:
        async with sim:
            return [await sim.call(tool, args, session_key=session, meta=meta) for session, tool, args in calls]

    return anyio.run(main)


CALLS = [
    ("alice", "list_orders", {}),
    ("alice", "create_order", {"product": "lamp", "quantity": 2}),
    ("alice", "list_orders", {}),  # the same call again, another answer: the world changed
    ("alice", "get_weather", {"city": 7}),  # refused by the argument check: recorded as the refusal
    ("bob", "get_weather", {"city": "Oslo"}),
    ("bob", "send_email", {"to": "x@example.com", "subject": "key", "body": f"use Bearer {SECRET} now"}),
]


def test_record_then_replay_gives_identical_results(tmp_path: Path) -> None:
    cassette = tmp_path / "run.jsonl"
    recorded = play(simulator(record=str(cassette), seed=4), CALLS)
    assert not journals_of(cassette)  # closed cleanly: every episode is a line of the cassette
    episodes = [EpisodeRecord.from_json_line(line) for line in cassette.read_text().splitlines()]
    assert sorted(e.meta["session"] for e in episodes) == ["alice", "bob"]  # one episode per session
    alice = next(e for e in episodes if e.meta["session"] == "alice")
    assert [c.tool for c in alice.calls] == ["list_orders", "create_order", "list_orders", "get_weather"]
    assert {t.name for t in alice.tools} == {"create_order", "list_orders", "get_weather"}
    assert alice.meta["origins"] == {"simulated": 4} and alice.seed == 4
    assert len(list(alice.steps())) == 4  # what training reads: (request, reference call) pairs

    replayed = play(simulator(replay=str(cassette), seed=99), CALLS)  # another seed: answers must not change
    for before, after in zip(recorded, replayed, strict=True):
        assert (after.text, after.is_error) == (before.text.replace(SECRET, REDACTED), before.is_error)
        if after.outcome is not Outcome.BAD_ARGUMENTS:
            assert after.meta["gtm-mcp/origin"] == "replayed"
    assert recorded[0].text != recorded[2].text  # identical calls, answered in recorded order


def test_repeats_beyond_the_recording_and_calls_never_recorded(tmp_path: Path) -> None:
    cassette = tmp_path / "run.jsonl"
    recorded = play(simulator(record=str(cassette)), CALLS[:3])
    sim = simulator(replay=str(cassette), tools=[str(EXAMPLE_TOOLS)])  # all tools served, two recorded
    again = play(sim, [("carol", "list_orders", {})] * 3 + [
        ("carol", "create_order", {"product": "lamp", "quantity": 3}),
        ("carol", "get_order", {"order_id": "ord_1"})])
    # another session key: the pooled recordings, in recorded order, the last one repeating
    assert [r.text for r in again[:3]] == [recorded[0].text, recorded[2].text, recorded[2].text]
    assert again[2].meta["gtm-mcp/replay"]["repeat"] is True
    miss = again[3]
    assert miss.outcome is Outcome.NOT_RECORDED and miss.is_error
    assert miss.text.startswith('Replay: the call create_order {"product":"lamp","quantity":3} was never recorded')
    assert 'Closest recorded calls: create_order {"product":"lamp","quantity":2}' in miss.text
    assert "holds no call of 'get_order'" in again[4].text and "create_order, list_orders" in again[4].text
    live = play(simulator(replay=str(cassette), replay_miss="live", tools=[str(EXAMPLE_TOOLS)]),
                [("d", "get_order", {"order_id": "o"})])[0]
    assert not live.is_error and live.meta["gtm-mcp/origin"] == "simulated"


def test_secrets_are_redacted_in_the_cassette_only(tmp_path: Path) -> None:
    cassette = tmp_path / "run.jsonl"
    sim = simulator(record=str(cassette), redact_keys=["customer_email"], redact_patterns=[r"\bcode-\d{4}\b"])
    results = play(sim, [("s", "send_email", {"to": "a@b.co", "subject": "code-1234",
                                              "body": f"Authorization: Bearer {SECRET}", "api_key": SECRET}),
                         ("s", "create_order", {"product": "x", "quantity": 1, "customer_email": "me@x.io"})],
                   meta={"gtm-mcp/session-context": f"the admin password is hunter2, token {SECRET}"})
    assert SECRET in json.dumps(sim.sessions.get("s").history[0].arguments)  # the live session is untouched
    text = cassette.read_text()
    for secret in (SECRET, "code-1234", "me@x.io"):
        assert secret not in text
    call = EpisodeRecord.from_json_line(text).calls[0]
    assert call.arguments == {"to": "a@b.co", "subject": REDACTED, "body": f"Authorization: Bearer {REDACTED}",
                              "api_key": REDACTED}
    assert EpisodeRecord.from_json_line(text).hidden_context == f"the admin password is hunter2, token {REDACTED}"
    assert results[0].outcome is Outcome.BAD_ARGUMENTS and not results[1].is_error  # refused calls too are redacted
    redactor = Redactor()
    assert redactor.value({"max_tokens": 5, "githubToken": "abc", "X-Api-Key": ["k1"], "tokens": "ok"}) == \
        {"max_tokens": 5, "githubToken": REDACTED, "X-Api-Key": [REDACTED], "tokens": "ok"}
    assert not Redactor(defaults=False).value({"token": "abc"}) == {"token": REDACTED}


def test_volatile_and_ignored_arguments_match_when_asked(tmp_path: Path) -> None:
    matcher = CallMatcher(ignore=["request_id", "meta.*"], volatile=True)
    a = {"when": "2026-01-02T03:04:05Z", "id": "6f1c2a9e-1d2b-4c3d-9e8f-0a1b2c3d4e5f", "ts": 1767225600,
         "request_id": "r1", "meta": {"trace": "x"}, "order": "ord_d7074889", "city": "Oslo"}
    b = {**a, "when": "2027-05-06T07:08:09+02:00", "id": "00000000-1111-2222-3333-444444444444",
         "ts": 1800000000, "request_id": "r2", "meta": {"trace": "y"}, "order": "ord_0000ffff"}
    assert matcher.key("t", a) == matcher.key("t", b)
    assert matcher.key("t", a) != matcher.key("t", {**b, "city": "Rome"})
    assert CallMatcher().key("t", a) != CallMatcher().key("t", b)
    cassette = tmp_path / "run.jsonl"
    first = play(simulator(record=str(cassette)), [("s", "get_stock_quote", {"symbol": "ACME"})])[0]
    replay = simulator(replay=str(cassette), replay_ignore=["symbol"])
    assert play(replay, [("s", "get_stock_quote", {"symbol": "OTHER"})])[0].text == first.text


def test_a_reset_starts_a_new_episode(tmp_path: Path) -> None:
    cassette = tmp_path / "run.jsonl"
    sim = simulator(record=str(cassette))

    async def main() -> None:
        async with sim:
            await sim.call("get_weather", {"city": "A"}, session_key="s")
            await sim.call("get_weather", {"city": "B"}, session_key="s", meta={"gtm-mcp/reset": True})
            await sim.call("get_weather", {"city": "C"}, session_key="s")

    anyio.run(main)
    episodes = load_episodes(cassette)
    assert [[c.arguments["city"] for c in e.calls] for e in episodes] == [["A"], ["B", "C"]]
    assert len({e.id for e in episodes}) == 2


def test_a_killed_recorder_loses_nothing(tmp_path: Path) -> None:
    """SIGKILL mid-run: the journal holds every answered call; readers see it, the next recorder folds it in."""
    cassette = tmp_path / "run.jsonl"
    with run_server("--record", str(cassette), tmp_path=tmp_path) as server:
        async def calls() -> list[str]:
            async with Client(server.url) as client:
                return [(await client.call_tool("get_weather", {"city": c}, meta={"gtm-mcp/session": "ep"})
                         ).content[0].text for c in ("Lima", "Pune", "Baku")]

        answered = anyio.run(calls)
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(10)
    assert cassette.read_text() == "" and len(journals_of(cassette)) == 1
    seen = load_episodes(cassette)  # a replay can use the interrupted recording as it is
    assert [json.dumps(c.result, ensure_ascii=False, separators=(", ", ": ")) for c in seen[0].calls] == answered
    assert seen[0].meta["recovered"] is True
    recorder = Recorder(cassette)
    assert recorder.open() == 1
    assert not [j for j in journals_of(cassette) if j != recorder._journal_path]
    assert [c.arguments["city"] for c in load_episodes(cassette, include_journals=False)[0].calls] == \
        ["Lima", "Pune", "Baku"]
    recorder._close_sync()
    assert not journals_of(cassette)


def test_bad_recording_settings_are_refused(tmp_path: Path) -> None:
    from gtm_mcp.calls.routing import RoutingError

    with pytest.raises(RoutingError, match="replay: no cassette at"):
        simulator(replay=str(tmp_path / "missing.jsonl"))
    with pytest.raises(RoutingError, match=r"redact-patterns: .* not a regular expression RE2 accepts"):
        simulator(record=str(tmp_path / "c.jsonl"), redact_patterns=["(?<=a)b"])
