"""A slow session does not block others on ONE server with ONE backend instance.

Each test runs one real `gtm-mcp serve` process; one session's call is slow inside the backend
while other sessions call the same server, and their latency is measured while the slow call is
still in flight (ratios against the slow call's own duration, measured in the same run).

- `openai`: the endpoint is an in-test OpenAI-compatible HTTP server (`openai_fakes`, real HTTP),
  because no model server runs on this machine; it answers requests that mention one city slowly
  and all others at once.
- `local`: a tiny random Qwen2 generating in-process; its outputs are noise, and the long call is
  made long on purpose (an output schema that no answer within the token budget can complete, so
  generation runs to `--max-new-tokens`). Its outcome does not matter here: what is asserted is
  that calls which need no model, `/healthz`, and a second model call are not held up meanwhile.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
from openai_fakes import FakeEndpoint
from server_proc import call, gtm_server, result_text

WEATHER = '{"city": "Paris", "temp_c": 21.5, "conditions": "sunny"}'


def test_openai_slow_session_does_not_block_others(tmp_path: Path) -> None:
    slow_s = 5.0
    with FakeEndpoint(answer=WEATHER) as endpoint, \
            gtm_server("--backend", "openai", "--base-url", endpoint.url, "--model", f"slowfor:{slow_s}:SLOW-CITY",
                       "--timeout", "30", "--max-retries", "0", tmp=tmp_path) as server:
        async def main() -> tuple[float, list[float], float, Any]:
            await call(server.url, "get_weather", {"city": "Lima"}, session="warm")
            slow: dict[str, Any] = {}

            async def slow_call() -> None:
                start = time.perf_counter()
                slow["result"] = await call(server.url, "get_weather", {"city": "SLOW-CITY"}, session="slow")
                slow["took"] = time.perf_counter() - start

            fast: list[float] = []
            async with anyio.create_task_group() as tg:
                tg.start_soon(slow_call)
                with anyio.fail_after(10):  # the slow request has reached the endpoint
                    while not any("SLOW-CITY" in json.dumps(r["messages"]) for r in endpoint.requests):
                        await anyio.sleep(0.01)
                for i in range(8):
                    start = time.perf_counter()
                    result = await call(server.url, "get_weather", {"city": f"Oslo{i}"}, session="fast")
                    fast.append(time.perf_counter() - start)
                    assert not result.is_error, result_text(result)
                fast_done = time.perf_counter()
                assert "took" not in slow, "the slow call ended before the fast ones: nothing was shown"
            return slow["took"], fast, fast_done, slow["result"]

        slow_took, fast, _, slow_result = anyio.run(main)
        assert not slow_result.is_error and slow_took >= slow_s
        assert max(fast) < slow_took / 4, (fast, slow_took)  # each fast call opens its own connection
        assert server.healthz()["calls"]["ok"] == 10


def test_local_long_generation_does_not_block_other_sessions(tiny_model: str, tmp_path: Path) -> None:
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps({"tools": [
        {"name": "write_essay", "description": "Write a long essay.", "inputSchema": {"type": "object"},
         "outputSchema": {"type": "object", "properties": {"text": {"type": "string", "minLength": 100000}},
                          "required": ["text"]}},
        {"name": "check_flag", "description": "Tell whether a flag is set.",
         "inputSchema": {"type": "object", "properties": {"flag": {"type": "string"}}, "required": ["flag"],
                         "additionalProperties": False},
         "outputSchema": {"type": "object", "properties": {"set": {"type": "boolean"}}, "required": ["set"],
                          "additionalProperties": False}}]}))
    with gtm_server("--backend", "local", "--model", tiny_model, "--dtype", "float32", "--structured-output", "on",
                    "--max-new-tokens", "600", "--timeout", "300", "--call-timeout", "600", tmp=tmp_path,
                    tools=tools, ready_s=120) as server:
        async def main() -> dict[str, Any]:
            seen: dict[str, Any] = {"healthz": []}
            await call(server.url, "check_flag", {"flag": "warm"}, session="warm")  # model loaded, grammar built

            async def timed(key: str, tool: str, args: dict[str, Any], session: str) -> None:
                start = time.perf_counter()
                seen[key] = await call(server.url, tool, args, session=session)
                seen[f"{key}_s"] = time.perf_counter() - start
                seen[f"{key}_end"] = time.perf_counter()

            async with httpx.AsyncClient(base_url=server.base, timeout=60) as http, \
                    anyio.create_task_group() as tg:
                tg.start_soon(timed, "long", "write_essay", {}, "long")
                with anyio.fail_after(60):  # the long call is generating
                    while (await http.get("/healthz")).json()["backend"]["info"]["generating"] < 1:
                        await anyio.sleep(0.02)
                tg.start_soon(timed, "second", "check_flag", {"flag": "x"}, "second")  # joins or follows
                for key, tool, args in (("unknown", "no_such_tool", {}), ("bad", "check_flag", {"flag": 3}),
                                        ("unknown2", "write_esay", {})):
                    await timed(key, tool, args, "other")
                for _ in range(10):
                    start = time.perf_counter()
                    assert (await http.get("/healthz")).status_code == 200
                    seen["healthz"].append(time.perf_counter() - start)
                seen["others_end"] = time.perf_counter()
                assert "long_s" not in seen, "the long generation ended before the other calls: nothing was shown"
            return seen

        seen = anyio.run(main)
        print(f"local: long call {seen['long_s']:.2f} s; others at most {max(seen['unknown_s'], seen['bad_s']):.3f} s, "
              f"/healthz at most {max(seen['healthz']):.3f} s")
        assert seen["unknown"].is_error and "Unknown tool" in result_text(seen["unknown"])
        assert seen["bad"].is_error and "[wrong type]" in result_text(seen["bad"])
        quick = [seen["unknown_s"], seen["bad_s"], seen["unknown2_s"], *seen["healthz"]]
        assert max(quick) < seen["long_s"] / 5, (quick, seen["long_s"])
        # the second model call waited for the generating batch (or joined it), and still finished
        assert seen["second_end"] >= seen["others_end"] and seen["second"] is not None
        info = server.healthz()["backend"]["info"]
        assert info["generated_tokens"] >= 120 and info["batches"] >= 3 and info["in_flight"] == 0
