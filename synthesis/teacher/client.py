"""The teacher client: the `openai` package's `AsyncOpenAI` against any OpenAI-compatible endpoint.

- many requests in flight, at most `concurrency` at once (an `anyio` semaphore);
- an optional rate limit (`requests_per_second`);
- retries with exponential backoff and jitter on 429, 5xx, timeouts and refused connections,
  honouring `Retry-After` (the SDK's own retries are off so that every retry is counted);
- JSON-schema structured output when asked: `auto` drops the schema for a request the endpoint
  refuses (HTTP 400) and asks again without it (counted as a fallback);
- a ledger of requests, cache hits, retries, tokens and cost per purpose;
- every answer cached by the SHA-256 of the request (model, messages, sampling settings, schema,
  seed), so a crashed or repeated run resumes without paying twice.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from synthesis.config import TeacherConfig
from synthesis.teacher.cache import ResponseCache, request_key
from synthesis.teacher.ledger import Ledger
from synthesis.teacher.ratelimit import RateLimiter

log = logging.getLogger("synthesis.teacher")


class TeacherUnavailable(RuntimeError):
    """The endpoint failed past every retry (or refused the request outright)."""


@dataclass(frozen=True)
class Reply:
    text: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    cached: bool

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


def normalise_base_url(url: str) -> str:
    """`http://host:8000` → `http://host:8000/v1`; a URL with a path is kept (minus a trailing `/`)."""
    url = url.strip().rstrip("/").removesuffix("/chat/completions")
    if not re.match(r"^https?://[^/]+/.+", url):
        url += "/v1"
    return url


def response_format(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "answer"
    return {"type": "json_schema", "json_schema": {"name": safe, "schema": schema, "strict": True}}


class Teacher:
    def __init__(self, config: TeacherConfig, *, ledger: Ledger | None = None) -> None:
        from openai import AsyncOpenAI

        self.config = config
        api_key = os.environ.get(config.api_key_env or "", "") if config.api_key_env else ""
        self.client = AsyncOpenAI(base_url=normalise_base_url(config.base_url), api_key=api_key or "EMPTY",
                                  max_retries=0, timeout=config.timeout_s)
        self.ledger = ledger or Ledger(config.price_input_per_million, config.price_output_per_million)
        root = None
        if config.cache:
            from gtm_mcp.paths import cache_dir

            root = Path(config.cache_dir).expanduser() if config.cache_dir else cache_dir("teacher")
        self.cache = ResponseCache(root)
        self._slots = anyio.Semaphore(config.concurrency)
        self._limiter = RateLimiter(config.requests_per_second)

    @property
    def name(self) -> str:
        return f"{self.config.model} @ {normalise_base_url(self.config.base_url)}"

    async def complete(self, messages: list[dict[str, str]], *, purpose: str, schema: dict[str, Any] | None = None,
                       schema_name: str = "answer", temperature: float | None = None,
                       max_tokens: int | None = None, seed: int | None = None) -> Reply:
        """One chat completion (cached). `schema` asks for JSON-schema structured output (unless the
        config says `off`). Raises `TeacherUnavailable` when the endpoint fails past the retries."""
        body: dict[str, Any] = {
            "model": self.config.model, "messages": messages,
            "temperature": self.config.temperature if temperature is None else temperature,
            "max_tokens": max_tokens or self.config.max_tokens, **self.config.extra_body,
        }
        if schema is not None and self.config.structured_output != "off":
            body["response_format"] = response_format(schema_name, schema)
        key = request_key({**body, "seed": seed})
        if seed is not None and self.config.send_seed:
            body["seed"] = seed
        hit = self.cache.get(key)
        account = self.ledger.accounts[purpose]
        if hit is not None:
            account.cached += 1
            return Reply(hit["text"], hit.get("finish_reason"), hit.get("prompt_tokens", 0),
                         hit.get("completion_tokens", 0), cached=True)
        async with self._slots:
            reply = await self._send(body, purpose)
        self.cache.put(key, {"text": reply.text, "finish_reason": reply.finish_reason,
                             "prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                             "model": self.config.model})
        return reply

    async def _send(self, body: dict[str, Any], purpose: str) -> Reply:
        import openai

        account = self.ledger.accounts[purpose]
        attempt = 0
        while True:
            await self._limiter.acquire()
            started = time.perf_counter()
            try:
                response = await self.client.chat.completions.create(**body)
            except openai.BadRequestError as e:
                if "response_format" in body and self.config.structured_output == "auto":
                    log.info("the endpoint refused the JSON schema (%s); asking without it", _short(e))
                    account.structured_fallbacks += 1
                    body = {k: v for k, v in body.items() if k != "response_format"}
                    continue
                account.failures += 1
                raise TeacherUnavailable(f"the teacher refused the request: {_short(e)}") from None
            except (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError,
                    openai.APIConnectionError, openai.ConflictError) as e:
                if attempt >= self.config.max_retries:
                    account.failures += 1
                    raise TeacherUnavailable(f"the teacher failed {attempt + 1} times, last: {_short(e)}") from None
                wait = _retry_after(e) or min(self.config.backoff_max_s, self.config.backoff_s * 2 ** attempt)
                wait *= random.uniform(0.8, 1.2)
                attempt += 1
                account.retries += 1
                log.debug("teacher %s; retry %d in %.1f s", _short(e), attempt, wait)
                await anyio.sleep(wait)
                continue
            except openai.APIStatusError as e:
                account.failures += 1
                raise TeacherUnavailable(f"the teacher answered HTTP {e.status_code}: {_short(e)}") from None
            elapsed = time.perf_counter() - started
            choice = response.choices[0] if response.choices else None
            text = (choice.message.content or "") if choice is not None and choice.message else ""
            usage = response.usage
            prompt_tokens = usage.prompt_tokens if usage else 0
            completion_tokens = usage.completion_tokens if usage else 0
            self.ledger.paid(purpose, prompt_tokens, completion_tokens, elapsed)
            return Reply(text, choice.finish_reason if choice else None, prompt_tokens, completion_tokens, False)

    async def aclose(self) -> None:
        await self.client.close()


def _retry_after(error: Exception) -> float | None:
    response = getattr(error, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return min(float(value), 300.0) if value else None
    except ValueError:
        return None


def _short(error: Exception) -> str:
    text = str(error).replace("\n", " ")
    return f"{type(error).__name__}: {text[:300]}"
