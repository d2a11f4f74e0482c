"""The `openai` backend against a real HTTP endpoint started in the test (scriptable fake)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anyio
import pytest
from openai_fakes import FakeEndpoint, free_port

from gtm_mcp.backends import BackendOptions, create_backend
from gtm_mcp.backends.base import BackendError
from gtm_mcp.backends.openai import OpenAIBackend, normalise_base_url
from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.contract.prompt import render_messages
from gtm_mcp.contract.records import CallRecord, SimulationRequest

WEATHER = ToolDefinition(
    name="get_weather", description="Current weather for a city.",
    input_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    output_schema={"type": "object", "properties": {"temp_c": {"type": "number"}}, "required": ["temp_c"]},
)


def req(**kw) -> SimulationRequest:
    base = dict(tool=WEATHER, arguments={"city": "Paris"}, session_id="s", output_schema=WEATHER.output_schema)
    base.update(kw)
    return SimulationRequest(**base)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[FakeEndpoint]:
    with FakeEndpoint() as ep:
        yield ep


def run(coro_fn, *args):
    return anyio.run(coro_fn, *args)


def backend(endpoint: FakeEndpoint, model: str = "ok", **kw) -> OpenAIBackend:
    kw.setdefault("timeout_s", 5.0)
    return OpenAIBackend(endpoint.url, model, **kw)


def test_base_url_normalisation() -> None:
    assert normalise_base_url("http://h:8000") == "http://h:8000/v1"
    assert normalise_base_url("http://h:8000/") == "http://h:8000/v1"
    assert normalise_base_url("http://h:8000/v1/") == "http://h:8000/v1"
    assert normalise_base_url("https://x.ai/openai/v1/chat/completions") == "https://x.ai/openai/v1"


def test_from_options_via_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sekret")
    b = create_backend(BackendOptions(backend="openai", base_url="http://h:1", model="m", api_key_env="MY_KEY"))
    assert isinstance(b, OpenAIBackend) and b.base_url == "http://h:1/v1" and b.model == "m"
    assert b._client.headers["authorization"] == "Bearer sekret"
    with pytest.raises(ValueError, match="base-url"):
        create_backend(BackendOptions(backend="openai"))


def test_sends_the_rendered_prompt_with_structured_output(endpoint: FakeEndpoint) -> None:
    async def main() -> str:
        b = backend(endpoint, max_new_tokens=64)
        try:
            r = req(history=(CallRecord("get_weather", {"city": "Rome"}, {"temp_c": 30}),), hidden_context="hot")
            return await b.simulate(r), r
        finally:
            await b.aclose()

    answer, r = run(main)
    assert answer == '{"temp_c": 21.5}'
    body = endpoint.requests[-1]
    assert body["messages"] == render_messages(r)
    assert body["model"] == "ok" and body["max_tokens"] == 64 and body["temperature"] == 0.0
    assert body["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "get_weather", "schema": WEATHER.output_schema, "strict": True}}
    assert "authorization" not in endpoint.headers[-1]


def test_structured_output_off_sends_no_response_format(endpoint: FakeEndpoint) -> None:
    async def main() -> None:
        b = backend(endpoint, structured_output="off")
        await b.simulate(req())
        await b.aclose()

    run(main)
    assert "response_format" not in endpoint.requests[-1]


def test_auto_mode_falls_back_and_remembers_per_endpoint(endpoint: FakeEndpoint) -> None:
    async def main() -> OpenAIBackend:
        b = backend(endpoint, "nostructured")
        assert await b.simulate(req()) == '{"temp_c": 21.5}'
        n = len(endpoint.requests)
        assert await b.simulate(req()) == '{"temp_c": 21.5}'
        assert len(endpoint.requests) == n + 1  # no second refused attempt
        await b.aclose()
        return b

    before = len(endpoint.requests)
    b = run(main)
    sent = endpoint.requests[before:]
    assert ["response_format" in s for s in sent] == [True, False, False]
    assert b._endpoint_structured is False


def test_auto_mode_remembers_a_refused_schema_only_for_that_schema(endpoint: FakeEndpoint) -> None:
    exotic = {"type": "object", "properties": {"a": {"type": "string", "x-exotic": True}}}

    async def main() -> OpenAIBackend:
        b = backend(endpoint, "picky")
        await b.simulate(req())  # accepted: the endpoint has structured output
        await b.simulate(req(output_schema=exotic))  # refused, re-sent plainly
        await b.simulate(req(output_schema=exotic))  # plain straight away
        await b.simulate(req())  # other schemas stay structured
        await b.aclose()
        return b

    before = len(endpoint.requests)
    b = run(main)
    assert ["response_format" in s for s in endpoint.requests[before:]] == [True, True, False, False, True]
    assert b._endpoint_structured is True


def test_an_unrelated_400_does_not_switch_structured_output_off(endpoint: FakeEndpoint) -> None:
    async def main() -> OpenAIBackend:
        b = backend(endpoint, "always400")
        with pytest.raises(BackendError, match="HTTP 400: max_tokens is too large"):
            await b.simulate(req())
        await b.aclose()
        return b

    assert run(main)._endpoint_structured is None


def test_on_mode_reports_an_endpoint_without_structured_output(endpoint: FakeEndpoint) -> None:
    async def main() -> None:
        b = backend(endpoint, "nostructured", structured_output="on")
        with pytest.raises(BackendError, match=r"HTTP 400.*response_format"):
            await b.simulate(req())
        await b.aclose()

    run(main)


def test_endpoint_down_is_a_quick_backend_error() -> None:
    async def main() -> float:
        b = OpenAIBackend(f"http://127.0.0.1:{free_port()}", "m", timeout_s=10, max_retries=2)
        start = time.perf_counter()
        with pytest.raises(BackendError, match=r"cannot reach the model endpoint.*connection refused"):
            await b.simulate(req())
        health = await b.health()
        assert health.state == "down" and "cannot reach" in health.detail
        await b.aclose()
        return time.perf_counter() - start

    assert run(main) < 5


def test_slow_endpoint_times_out_within_the_budget(endpoint: FakeEndpoint) -> None:
    async def main() -> float:
        b = backend(endpoint, "slow:5", timeout_s=0.5)
        start = time.perf_counter()
        with pytest.raises(BackendError, match=r"did not answer within 0.5 s"):
            await b.simulate(req())
        elapsed = time.perf_counter() - start
        assert (await b.health()).state == "degraded"
        await b.aclose()
        return elapsed

    assert run(main) < 1.5


def test_5xx_and_429_are_retried_with_backoff(endpoint: FakeEndpoint) -> None:
    async def main() -> OpenAIBackend:
        b = backend(endpoint, "fail:2", max_retries=2)
        assert await b.simulate(req()) == '{"temp_c": 21.5}'
        c = backend(endpoint, "rate:1", max_retries=1)
        assert await c.simulate(req()) == '{"temp_c": 21.5}'
        await c.aclose()
        await b.aclose()
        return b

    assert run(main).stats["retries"] == 2


def test_persistent_5xx_becomes_a_backend_error(endpoint: FakeEndpoint) -> None:
    async def main() -> None:
        b = backend(endpoint, "down500", max_retries=1)
        with pytest.raises(BackendError, match="HTTP 500: engine dead"):
            await b.simulate(req())
        await b.aclose()

    run(main)


def test_non_completion_bodies_are_backend_errors_and_prose_is_returned(endpoint: FakeEndpoint) -> None:
    async def main() -> None:
        for model in ("garbage", "notcompletion"):
            b = backend(endpoint, model)
            with pytest.raises(BackendError, match="not an OpenAI chat completion"):
                await b.simulate(req())
            await b.aclose()
        b = backend(endpoint, "prose")  # text goes back: the server's output guard judges it
        assert await b.simulate(req()) == "I am sorry, I cannot do that."
        await b.aclose()

    run(main)


def test_other_calls_are_unaffected_by_a_slow_one(endpoint: FakeEndpoint) -> None:
    async def main() -> list[object]:
        b = backend(endpoint, timeout_s=0.8)
        results: list[object] = [None] * 3

        async def one(i: int, model: str) -> None:
            b.model = None  # not used: model set per call below
            try:
                results[i] = await OpenAIBackend.simulate(b_for[model], req())
            except BackendError as e:
                results[i] = e

        b_for = {"slow:3": backend(endpoint, "slow:3", timeout_s=0.8), "ok": backend(endpoint, "ok")}
        async with anyio.create_task_group() as tg:
            tg.start_soon(one, 0, "slow:3")
            tg.start_soon(one, 1, "ok")
            tg.start_soon(one, 2, "ok")
        for x in (b, *b_for.values()):
            await x.aclose()
        return results

    results = run(main)
    assert isinstance(results[0], BackendError)
    assert results[1] == results[2] == '{"temp_c": 21.5}'


def test_many_calls_in_flight_at_once(endpoint: FakeEndpoint) -> None:
    async def main() -> float:
        b = backend(endpoint, "slow:0.5", max_connections=256)
        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(64):
                tg.start_soon(b.simulate, req())
        elapsed = time.perf_counter() - start
        await b.aclose()
        return elapsed

    assert run(main) < 3.0  # serialised would be 32 s, a pool of 8 ~4 s; all 64 at once ~0.5 s (idle machine)


def test_model_is_discovered_and_context_window_drops_old_turns(endpoint: FakeEndpoint) -> None:
    async def main() -> OpenAIBackend:
        b = OpenAIBackend(endpoint.url, None, timeout_s=5, max_new_tokens=256)  # /models: id ok, max_model_len 2048
        history = tuple(CallRecord("get_weather", {"city": f"c{i}"}, {"temp_c": i, "pad": "y" * 600})
                        for i in range(20))
        await b.simulate(req(history=history, hidden_context="KEEP-ME"))
        assert (await b.health()).state == "ok"
        await b.aclose()
        return b

    b = run(main)
    assert b.model == "ok" and b.context_window == 2048
    sent = "\n".join(m["content"] for m in endpoint.requests[-1]["messages"])
    assert "KEEP-ME" in sent and '"c19"' in sent and '"c0"' not in sent
    assert b.stats["dropped_turns"] > 0
