"""The agent's tests: hybrid (real notes, simulated weather), recorded once, replayed offline,
one session per test, and the same agent against deliberately broken tools."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from trip_agent import ToolFailed, call, plan_trip

from gtm_mcp.config import example_tools_path
from gtm_mcp.testing import simulated_server


def test_plans_a_trip_and_saves_a_real_note(gtm_server, gtm_session, notes_file: Path) -> None:
    plan = anyio.run(plan_trip, gtm_session.url, "Lisbon")
    calls = gtm_session.history()
    assert [c["tool"] for c in calls] == ["get_weather", "add_note"]
    if gtm_server.mode == "record":
        # weather simulated, the note written by the real server: it is on disk
        assert [c["origin"] for c in calls] == ["simulated", "real"]
        saved = json.loads(notes_file.read_text())
        assert any(n["id"] == plan.note_id and n["title"] == "Trip to Lisbon" for n in saved)
    else:
        assert [c["origin"] for c in calls] == ["replayed", "replayed"]
    assert plan.pack in ("a warm coat", "sunglasses") and plan.retries == 0


def test_a_call_never_recorded_fails_loudly_in_replay(gtm_server, gtm_session) -> None:
    if gtm_server.mode != "replay":
        pytest.skip("only replays refuse calls: this run records")

    async def atlantis() -> str:
        async with gtm_session.client() as client:
            result = await client.call_tool("get_weather", {"city": "Atlantis"})
            assert result.is_error
            return result.content[0].text

    message = anyio.run(atlantis)
    assert message.startswith('Replay: the call get_weather {"city":"Atlantis"} was never recorded')
    assert "Closest recorded calls: get_weather" in message
    print(message)


@pytest.mark.gtm(hidden_context='{"temperature": 3.5}')
def test_packs_a_coat_when_it_is_cold(gtm_session) -> None:
    plan = anyio.run(plan_trip, gtm_session.url, "Oslo")
    assert plan.temperature == 3.5 and plan.pack == "a warm coat"


def test_each_test_has_its_own_session(gtm_server, gtm_session) -> None:
    anyio.run(plan_trip, gtm_session.url, "Quito")
    other = gtm_server.session("someone-else")
    assert len(gtm_session.history()) == 2 and other.history() == []


@pytest.fixture(scope="module")
def broken_tools(tmp_path_factory: pytest.TempPathFactory):
    """Tools from files (no live server), faults from `flaky_rules.yaml`; no cassette."""
    here = Path(__file__).resolve().parents[1]
    with simulated_server(tools=[example_tools_path(), str(here / "notes_tools.json")],
                          rules=here / "flaky_rules.yaml", cassette=None,
                          log=tmp_path_factory.mktemp("broken") / "server.log") as server:
        yield server


def test_agent_retries_through_flaky_tools(broken_tools) -> None:
    plans = [anyio.run(plan_trip, broken_tools.session(f"trip-{i}").url, "Lima") for i in range(4)]
    assert sum(p.retries for p in plans) > 0  # faults were injected, and the agent got through them
    injected = broken_tools.healthz()["faults_injected"]
    assert injected.get("error", 0) + injected.get("malformed", 0) == sum(p.retries for p in plans)


def test_agent_gives_up_on_a_dead_tool(broken_tools) -> None:
    async def search() -> str:
        async with broken_tools.session("dead").client() as client:
            try:
                await call(client, "search_notes", {"query": "Lima"})
            except ToolFailed as e:
                return str(e)
        return "no failure"

    assert anyio.run(search).startswith("search_notes failed 4 times; last problem: Error: 5")
