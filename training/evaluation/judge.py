"""The judge for the paper's non-deterministic metrics (Logic, Sem, Cons, Help): any OpenAI-compatible
chat endpoint (vLLM, llama.cpp, a hosted API), asked with the fixed rubric in `rubric.md`
(`gtm-judge/1`), greedy, one request per sample, JSON-schema-constrained where the endpoint
supports structured output. A verdict that cannot be read counts as 0 for every criterion asked and
is reported (`judge_failures`), never silently dropped."""

from __future__ import annotations

import logging
import os
from importlib import resources
from typing import Any

import anyio
import httpx

from gtm_mcp.contract.prompt import dumps, parse_answer
from training.evaluation.samples import Outcome, Sample

log = logging.getLogger("training.evaluation.judge")

RUBRIC_VERSION = "gtm-judge/1"
#: characters of one output, of a schema, of the history shown to the judge (small judges have small windows)
OUTPUT_CAP = 1200
SCHEMA_CAP = 1500
HISTORY_CALLS = 6


def rubric() -> str:
    return (resources.files("training.evaluation") / "rubric.md").read_text(encoding="utf-8")


def criteria_for(sample: Sample) -> tuple[str, ...]:
    return {"single": ("logic", "sem"), "multi": ("logic", "sem", "cons"), "error": ("help",)}[sample.kind]


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f" ... [{len(text) - limit} more characters]"


def _show(outcome: Outcome) -> str:
    return ("ERROR: " if outcome.is_error else "") + _cap(outcome.text, OUTPUT_CAP)


def judge_messages(sample: Sample, history: list[Sample], criteria: tuple[str, ...]) -> list[dict[str, str]]:
    """The judge's chat: the rubric, then the tool, the session so far, the call and the output."""
    tool = sample.tool
    assert tool is not None and sample.observed is not None
    parts = [f"# Tool: {tool.name}", tool.description or "(no description)", "",
             "# Input schema", _cap(dumps(tool.input_schema), SCHEMA_CAP), ""]
    if tool.output_schema is not None:
        parts += ["# Output schema", _cap(dumps(tool.output_schema), SCHEMA_CAP), ""]
    else:
        parts += ["# Output", "The tool declares no output schema.", ""]
    if sample.episode.hidden_context:
        parts += ["# Hidden context of the session", _cap(sample.episode.hidden_context, OUTPUT_CAP), ""]
    if history:
        parts.append("# Earlier calls of this session and the simulator's answers")
        for earlier in history[-HISTORY_CALLS:]:
            if earlier.observed is None:
                continue
            parts += [f"- {earlier.call.tool}({dumps(earlier.call.arguments)})", f"  -> {_show(earlier.observed)}"]
        parts.append("")
    parts += ["# The call", f"{tool.name}({dumps(sample.call.arguments)})", "",
              "# The output to judge", _show(sample.observed), "",
              f"Decide: {', '.join(criteria)}. Reply with the JSON object only."]
    return [{"role": "system", "content": rubric()}, {"role": "user", "content": "\n".join(parts)}]


def verdict_schema(criteria: tuple[str, ...]) -> dict[str, Any]:
    properties: dict[str, Any] = {c: {"type": "integer", "enum": [0, 1]} for c in criteria}
    properties["reason"] = {"type": "string", "maxLength": 160}
    return {"type": "object", "properties": properties, "required": [*criteria, "reason"],
            "additionalProperties": False}


def read_verdict(text: str, criteria: tuple[str, ...]) -> dict[str, Any]:
    """{criterion: 0|1, "reason": str}; raises ValueError when a criterion is missing or unreadable."""
    value = parse_answer(text)
    if not isinstance(value, dict):
        raise ValueError(f"the verdict is not a JSON object: {text[:120]!r}")
    out: dict[str, Any] = {"reason": str(value.get("reason", ""))[:300]}
    for criterion in criteria:
        raw = value.get(criterion)
        if isinstance(raw, bool):
            out[criterion] = int(raw)
        elif raw in (0, 1):
            out[criterion] = int(raw)
        elif isinstance(raw, str) and raw.strip().lower() in ("0", "1", "yes", "no", "true", "false"):
            out[criterion] = int(raw.strip().lower() in ("1", "yes", "true"))
        else:
            raise ValueError(f"the verdict has no 0/1 for {criterion!r}: {text[:120]!r}")
    return out


class Judge:
    """Verdicts from an OpenAI-compatible endpoint, `concurrency` requests in flight."""

    def __init__(self, base_url: str, model: str, *, api_key_env: str = "OPENAI_API_KEY", timeout_s: float = 120.0,
                 max_tokens: int = 96, concurrency: int = 8, structured: bool = True, retries: int = 2) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = os.environ.get(api_key_env) or "none"
        self.timeout_s = timeout_s
        self.max_tokens = max_tokens
        self.concurrency = max(1, concurrency)
        self._limit: anyio.Semaphore | None = None
        self.structured = structured
        self.retries = retries
        self.failures = 0
        self.requests = 0

    def describe(self) -> dict[str, Any]:
        return {"rubric": RUBRIC_VERSION, "base_url": self.base_url, "model": self.model,
                "structured_output": self.structured, "max_tokens": self.max_tokens}

    async def verdict(self, client: httpx.AsyncClient, messages: list[dict[str, str]],
                      criteria: tuple[str, ...]) -> dict[str, Any]:
        """The verdict, or {criterion: 0, "error": why} when the judge's answer cannot be read."""
        if self._limit is None:
            self._limit = anyio.Semaphore(self.concurrency)
        async with self._limit:
            self.requests += 1
            try:
                text = await self._ask_with_retries(client, messages, criteria)
                return read_verdict(text, criteria)
            except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as e:
                self.failures += 1
                why = f"{type(e).__name__}: {e}".rstrip(": ")[:300]
                log.warning("judge verdict unreadable (counted as 0): %s", why)
                return {**dict.fromkeys(criteria, 0), "error": why}

    async def _ask_with_retries(self, client: httpx.AsyncClient, messages: list[dict[str, str]],
                                criteria: tuple[str, ...]) -> str:
        """A transport failure or a 5xx is asked again (twice, after 2 and 4 s); anything else is final."""
        for attempt in range(self.retries + 1):
            try:
                return await self._ask(client, messages, criteria)
            except httpx.HTTPStatusError as e:
                if e.response.status_code < 500 or attempt == self.retries:
                    raise
            except httpx.TransportError:
                if attempt == self.retries:
                    raise
            await anyio.sleep(2.0 * 2**attempt)
        raise AssertionError("unreachable")

    async def _ask(self, client: httpx.AsyncClient, messages: list[dict[str, str]],
                   criteria: tuple[str, ...]) -> str:
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": 0, "seed": 0,
                                "max_tokens": self.max_tokens}
        if self.structured:
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "verdict", "schema": verdict_schema(criteria), "strict": True}}
        response = await client.post(f"{self.base_url}/chat/completions", json=body, timeout=self.timeout_s,
                                     headers={"Authorization": f"Bearer {self.api_key}"})
        if response.status_code == 400 and self.structured:
            log.warning("the judge endpoint refused structured output (%s); asking without it",
                        response.text[:200])
            self.structured = False
            return await self._ask(client, messages, criteria)
        response.raise_for_status()
        return str(response.json()["choices"][0]["message"]["content"] or "")


async def judge_samples(judge: Judge, samples: list[Sample]) -> None:
    """Set `sample.judge` for every sample that was answered (the session history is the episode's
    earlier samples, as the simulator answered them)."""
    by_episode: dict[str, list[Sample]] = {}
    for sample in samples:
        by_episode.setdefault(sample.episode.id, []).append(sample)

    judge._limit = None  # one semaphore per event loop (each simulator's judging runs in its own)
    async with httpx.AsyncClient() as client:
        async def one(sample: Sample) -> None:
            criteria = criteria_for(sample)
            assert sample.observed is not None
            if sample.kind == "error" and not sample.observed.is_error:
                sample.judge = {"help": 0, "reason": "no error message: the simulator answered the call"}
                return
            if sample.kind != "error" and sample.observed.is_error:
                sample.judge = {**dict.fromkeys(criteria, 0), "reason": "an error instead of an output"}
                return
            history = sorted((s for s in by_episode[sample.episode.id] if s.index < sample.index),
                             key=lambda s: s.index)
            sample.judge = await judge.verdict(client, judge_messages(sample, history, criteria), criteria)

        async with anyio.create_task_group() as group:
            for sample in samples:
                if sample.observed is not None:
                    group.start_soon(one, sample)


def judge_summary(judge: Judge) -> dict[str, Any]:
    return {**judge.describe(), "requests": judge.requests, "judge_failures": judge.failures}


__all__ = ["RUBRIC_VERSION", "Judge", "criteria_for", "judge_messages", "judge_samples", "judge_summary",
           "read_verdict", "rubric", "verdict_schema"]
