"""Scale-out of the model tier: the `openai` backend over several endpoints keeps each session on
one endpoint (vLLM's prefix cache) and fails over when one dies.

The endpoints are two in-test OpenAI-compatible servers (real HTTP, `openai_fakes.FakeEndpoint`,
which records every request): no GPU or second vLLM can run here, and routing and failover only
depend on the HTTP protocol."""

from __future__ import annotations

import json

import anyio
from openai_fakes import FakeEndpoint

from gtm_mcp.backends import BackendOptions, create_backend
from gtm_mcp.backends.openai import OpenAIBackend
from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.contract.records import SimulationRequest

WEATHER = ToolDefinition(
    name="get_weather", description="Current weather for a city.",
    input_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    output_schema={"type": "object", "properties": {"temp_c": {"type": "number"}}, "required": ["temp_c"]},
)


def request(session: str, turn: int) -> SimulationRequest:
    return SimulationRequest(tool=WEATHER, arguments={"city": f"{session}-turn{turn}"}, session_id=session,
                             output_schema=WEATHER.output_schema)


def sessions_seen(endpoint: FakeEndpoint) -> set[str]:
    """The sessions whose calls reached this endpoint (the city argument names the session)."""
    seen = set()
    for body in endpoint.requests:
        text = json.dumps(body["messages"])
        seen |= {word.split("-turn")[0] for word in text.replace('"', " ").replace("\\", " ").split()
                 if "-turn" in word}
    return seen


def test_sessions_stick_to_one_endpoint_and_fail_over_when_it_dies() -> None:
    first, second = FakeEndpoint().__enter__(), FakeEndpoint().__enter__()
    backend = create_backend(BackendOptions(backend="openai", base_url=first.url, endpoints=[second.url],
                                            model="ok", timeout_s=5, endpoint_cooldown_s=30))
    assert isinstance(backend, OpenAIBackend) and len(backend.endpoints) == 2
    sessions = [f"ep{i}" for i in range(24)]

    async def calls(turns: range) -> None:
        async with anyio.create_task_group() as tg:
            for session in sessions:
                for turn in turns:
                    tg.start_soon(backend.simulate, request(session, turn))

    async def main() -> None:
        try:
            await scenario()
        finally:
            await backend.aclose()

    async def scenario() -> None:
        await calls(range(3))
        on_first, on_second = sessions_seen(first), sessions_seen(second)
        assert on_first | on_second == set(sessions)
        assert not on_first & on_second, "a session's calls went to two endpoints"
        assert on_first and on_second, "rendezvous hashing put every session on one endpoint"
        # every replica routes the same way: the choice depends only on the URLs and the session key
        twin = OpenAIBackend(first.url, "ok", endpoints=[second.url])
        assert all(twin.route(s)[0].url == backend.route(s)[0].url for s in sessions)
        await twin.aclose()

        first.__exit__(None, None, None)  # the first endpoint dies
        before = len(second.requests)
        await calls(range(3, 5))  # every call is still answered (a BackendError would propagate)
        assert sessions_seen(second) == set(sessions)
        assert len(second.requests) - before == 2 * len(sessions)
        health = await backend.health()
        assert health.state == "degraded" and first.url in health.detail
        assert [e["state"] for e in health.info["endpoints"]] == ["down", "ok"]
        assert all(backend.route(s)[0].url == second.url for s in on_second), "live sessions must stay put"

    try:
        anyio.run(main)
    finally:
        first.__exit__(None, None, None)
        second.__exit__(None, None, None)
