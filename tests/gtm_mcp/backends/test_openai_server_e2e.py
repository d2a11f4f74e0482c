"""The `openai` backend through the real MCP server (subprocess, streamable HTTP, SDK client):
structured output requests, history in the prompt, and the failure paths (endpoint down, slow,
non-JSON answers) — each an isError result while the server keeps answering other sessions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from openai_fakes import FakeEndpoint, free_port
from server_proc import call, gtm_server, result_text


@pytest.fixture(scope="module")
def endpoint() -> Iterator[FakeEndpoint]:
    with FakeEndpoint(answer='{"city": "Paris", "temp_c": 21.5, "conditions": "sunny"}') as ep:
        yield ep


def test_calls_history_and_structured_output_through_the_server(endpoint: FakeEndpoint, tmp_path: Path) -> None:
    with gtm_server("--backend", "openai", "--base-url", endpoint.url, "--model", "ok", "--timeout", "5",
                    tmp=tmp_path) as server:
        async def main() -> None:
            first = await call(server.url, "get_weather", {"city": "Rome"}, session="s1", hidden="heatwave")
            assert not first.is_error, result_text(first)
            assert first.structured_content == {"city": "Paris", "temp_c": 21.5, "conditions": "sunny"}
            n = len(endpoint.requests)
            second = await call(server.url, "get_weather", {"city": "Oslo"}, session="s1")
            assert not second.is_error
            sent = endpoint.requests[n]
            contents = [m["content"] for m in sent["messages"]]
            assert any('{"city": "Rome"}' in c for c in contents)  # the earlier call...
            assert '{"city": "Paris", "temp_c": 21.5, "conditions": "sunny"}' in contents  # ...and its result
            assert sent["response_format"]["json_schema"]["schema"]["required"] == ["city", "temp_c", "conditions"]
            other = await call(server.url, "get_weather", {"city": "Lima"}, session="s2")
            assert not other.is_error
            assert not any("Rome" in m["content"] for m in endpoint.requests[-1]["messages"])  # sessions apart

        anyio.run(main)
        health = server.healthz()
        assert health["backend"]["name"] == "openai" and health["backend"]["state"] == "ok"


def test_endpoint_down_gives_is_error_and_healthz_down(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with gtm_server("--backend", "openai", "--base-url", url, "--model", "m", "--timeout", "5", tmp=tmp_path) as server:
        async def main() -> None:
            start = time.perf_counter()
            result = await call(server.url, "get_weather", {"city": "Rome"}, session="a")
            assert result.is_error
            assert "cannot reach the model endpoint" in result_text(result)
            assert time.perf_counter() - start < 5
            bad = await call(server.url, "get_weather", {"town": "Rome"}, session="b")  # still checks arguments
            assert bad.is_error and "city" in result_text(bad)

        anyio.run(main)
        health = server.healthz()
        assert health["backend"]["state"] == "down", health


def test_slow_endpoint_and_garbage_do_not_block_other_sessions(endpoint: FakeEndpoint, tmp_path: Path) -> None:
    # one server per behaviour: the model name selects how the fake endpoint answers
    with gtm_server("--backend", "openai", "--base-url", endpoint.url, "--model", "slow:30", "--timeout", "1",
                    "--max-retries", "0", tmp=tmp_path) as slow, \
         gtm_server("--backend", "openai", "--base-url", endpoint.url, "--model", "prose", "--timeout", "5",
                    tmp=tmp_path) as prose, \
         gtm_server("--backend", "openai", "--base-url", endpoint.url, "--model", "ok", "--timeout", "5",
                    tmp=tmp_path) as fine:
        async def main() -> None:
            results: dict[str, object] = {}
            times: dict[str, float] = {}

            async def one(key: str, url: str, session: str) -> None:
                start = time.perf_counter()
                results[key] = await call(url, "get_weather", {"city": "Rome"}, session=session)
                times[key] = time.perf_counter() - start

            async with anyio.create_task_group() as tg:
                tg.start_soon(one, "slow", slow.url, "x")
                tg.start_soon(one, "prose", prose.url, "y")
                for i in range(5):
                    tg.start_soon(one, f"fine{i}", fine.url, f"z{i}")
            slow_r, prose_r = results["slow"], results["prose"]
            assert slow_r.is_error and "did not answer within 1 s" in result_text(slow_r)
            assert times["slow"] < 4
            assert prose_r.is_error and "simulator failed" in result_text(prose_r).lower()
            for i in range(5):
                assert not results[f"fine{i}"].is_error
            # the slow server still answers a second session while the first hangs
            async with anyio.create_task_group() as tg:
                tg.start_soon(one, "slow2", slow.url, "x2")
                tg.start_soon(one, "list", fine.url, "z9")
            assert results["slow2"].is_error and not results["list"].is_error

        anyio.run(main)
        assert slow.healthz()["backend"]["state"] in ("degraded", "ok")
        assert slow.proc.poll() is None and prose.proc.poll() is None
