"""The `openai` backend: any OpenAI-compatible chat endpoint (vLLM serving a GTM first of all,
llama.cpp's server, hosted APIs).

Built on `httpx.AsyncClient` directly rather than the `openai` SDK: httpx is already a core
dependency, the pool is sized exactly by `max_connections` with keep-alive, and retries, the
per-call deadline and the structured-output fallback need to see raw status codes and bodies
(the SDK retries on its own schedule and would hide them). Calls are never serialised: every
`simulate` is one request on the shared pool.

Per call: the request is rendered with the prompt format (`gtm_mcp.prompt`), sent to
`/chat/completions` with the output schema as `response_format` (JSON-schema structured output)
when enabled, and the answer text is returned for the server's output guard. Connection errors,
429 and 5xx are retried with exponential backoff inside the call's total `timeout_s`; everything
else that goes wrong becomes a `BackendError`.

Scale-out: `--endpoints URL...` adds endpoints serving the same model. Each session sticks to one
of them, chosen by rendezvous hashing of the session key over the endpoint URLs, so every call of
an episode reaches the same vLLM server (its prefix cache holds the episode's history) and every
gtm-mcp replica makes the same choice. An endpoint that refuses a connection is skipped for
`--endpoint-cooldown` seconds: its sessions move to their next choice at once (no backoff on a dead
server) and come back when it answers again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import time
from typing import Any, Literal

import anyio
import httpx

from gtm_mcp.backends import BackendOptions
from gtm_mcp.backends.base import AnswerTruncated, BackendError, BackendHealth
from gtm_mcp.contract.prompt import TokenCounter, estimate_tokens, prompt_budget, render_prompt, token_counter
from gtm_mcp.contract.records import SimulationRequest

log = logging.getLogger("gtm_mcp.backends.openai")

StructuredMode = Literal["auto", "on", "off"]
_RETRY_STATUS = {429, 500, 502, 503, 504}
_CONTEXT_ERRORS = re.compile(r"context length|maximum context|too long|max_model_len|prompt is too", re.I)
def normalise_base_url(url: str) -> str:
    """`http://host:8000` → `http://host:8000/v1`; a URL with a path is kept (minus a trailing `/`
    and a trailing `/chat/completions`)."""
    url = url.strip().rstrip("/")
    url = url.removesuffix("/chat/completions")
    if not httpx.URL(url).path.strip("/"):
        url += "/v1"
    return url


def response_format_for(tool_name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI `response_format` asking for JSON that satisfies `schema` (vLLM, llama.cpp, OpenAI)."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", tool_name)[:64] or "output"
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


class Endpoint:
    """One OpenAI-compatible server: its client, whether it is cooling down, what it served."""

    def __init__(self, url: str, client: httpx.AsyncClient) -> None:
        self.url = url
        self.client = client
        self.down_until = 0.0
        self.requests = 0
        self.failures = 0

    @property
    def up(self) -> bool:
        return time.monotonic() >= self.down_until

    def rank(self, session_id: str) -> int:
        """Rendezvous (highest random weight) score of this endpoint for a session."""
        digest = hashlib.blake2b(f"{self.url}\x00{session_id}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big")


class _Unreachable(Exception):
    """An endpoint could not be connected to (dead, restarting): try the session's next one."""


class OpenAIBackend:
    """Simulates tools with a model behind an OpenAI-compatible `/v1/chat/completions`."""

    name = "openai"
    repairable = True

    def __init__(self, base_url: str, model: str | None = None, *, api_key: str | None = None,
                 timeout_s: float = 30.0, max_retries: int = 2, max_connections: int = 256,
                 structured_output: StructuredMode = "auto", max_new_tokens: int = 512,
                 temperature: float = 0.0, context_window: int | None = None, tokenizer: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, endpoints: list[str] | tuple[str, ...] = (),
                 endpoint_cooldown_s: float = 5.0) -> None:
        self.base_url = normalise_base_url(base_url)
        self.endpoint_cooldown_s = endpoint_cooldown_s
        self.model = model
        self.timeout_s = timeout_s
        self.max_retries = max(0, max_retries)
        self.structured_output: StructuredMode = structured_output
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.context_window = context_window
        #: Exact counts with a local tokenizer folder (the served model's), else the contract's estimate.
        self.count_tokens: TokenCounter = _load_counter(tokenizer) if tokenizer else estimate_tokens
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        urls = list(dict.fromkeys([self.base_url, *(normalise_base_url(u) for u in endpoints)]))
        self.endpoints = [Endpoint(url, httpx.AsyncClient(
            base_url=url, headers=headers, transport=transport, timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections,
                                keepalive_expiry=30.0))) for url in urls]
        self._client = self.endpoints[0].client
        # auto mode: None = not known yet; False once the endpoint refused response_format outright
        self._endpoint_structured: bool | None = None
        self._schema_refused: set[str] = set()  # schemas the endpoint's grammar compiler refused
        self._model_lock = anyio.Lock()
        self.stats: dict[str, Any] = {"requests": 0, "ok": 0, "errors": 0, "retries": 0, "in_flight": 0,
                                      "prompt_tokens": 0, "completion_tokens": 0, "dropped_turns": 0,
                                      "truncated": 0, "last_error": None, "last_error_at": None}

    @classmethod
    def from_options(cls, options: BackendOptions) -> OpenAIBackend:
        if not options.base_url:
            raise ValueError("the openai backend needs --base-url (e.g. http://127.0.0.1:8000/v1 for `vllm serve`)")
        return cls(options.base_url, options.model, api_key=os.environ.get(options.api_key_env) or None,
                   timeout_s=options.timeout_s, max_retries=options.max_retries,
                   max_connections=options.max_connections, structured_output=options.structured_output,
                   max_new_tokens=options.max_new_tokens, temperature=options.temperature,
                   context_window=options.context_window, tokenizer=options.tokenizer,
                   endpoints=options.endpoints, endpoint_cooldown_s=options.endpoint_cooldown_s)

    # -- the call ------------------------------------------------------------------------------

    async def simulate(self, request: SimulationRequest) -> str:
        self.stats["requests"] += 1
        self.stats["in_flight"] += 1
        try:
            with anyio.fail_after(self.timeout_s):
                text = await self._simulate(request)
        except TimeoutError:
            self._failed(f"no answer within {self.timeout_s:g} s")
            raise BackendError(f"the model endpoint {self.base_url} did not answer within {self.timeout_s:g} s",
                               public=f"the model endpoint did not answer within {self.timeout_s:g} s") from None
        except AnswerTruncated:
            self.stats["truncated"] += 1
            raise
        except BackendError as e:
            self._failed(str(e))
            raise
        finally:
            self.stats["in_flight"] -= 1
        self.stats["ok"] += 1
        return text

    async def _simulate(self, request: SimulationRequest) -> str:
        model = await self._model_name()
        budget = prompt_budget(self.context_window, self.max_new_tokens)
        prompt = render_prompt(request, token_budget=budget, count_tokens=self.count_tokens)
        self.stats["dropped_turns"] += prompt.dropped_turns
        body: dict[str, Any] = {"model": model, "messages": prompt.messages, "max_tokens": self.max_new_tokens,
                                "temperature": self.temperature, "seed": request.seed}
        schema = request.output_schema
        schema_key = _schema_key(schema) if schema is not None else ""
        structured = schema is not None and self._use_structured(schema_key)
        if structured and schema is not None:
            body["response_format"] = response_format_for(request.tool.name, schema)
        response = await self._post(body, request.session_id)
        if response.status_code in (400, 422) and structured and self.structured_output == "auto":
            detail = _error_text(response)
            if _CONTEXT_ERRORS.search(detail):
                raise BackendError(f"the prompt does not fit the model's context window: {detail}",
                                   public="the prompt does not fit the model's context window")
            body.pop("response_format")
            structured = False
            response = await self._post(body, request.session_id)
            if response.status_code == 200:
                # refused before any success: the endpoint has no structured output at all; after
                # successes: this schema is beyond its grammar compiler. Remembered either way (only
                # when the plain request worked, so an unrelated 400 never switches it off).
                if self._endpoint_structured is None:
                    self._endpoint_structured = False
                    log.warning("%s refused response_format json_schema (%s); plain prompting from now on",
                                self.base_url, detail[:200])
                else:
                    self._schema_refused.add(schema_key)
                    log.warning("%s refused the output schema of %s (%s); plain prompting for it",
                                self.base_url, request.tool.name, detail[:200])
        if response.status_code != 200:
            raise BackendError(f"the model endpoint answered HTTP {response.status_code}: "
                               f"{_error_text(response)[:300]}",
                               public=f"the model endpoint answered HTTP {response.status_code}")
        if structured and self._endpoint_structured is None:
            self._endpoint_structured = True
        return self._content(response, expects_json=request.expects_json)

    def _use_structured(self, schema_key: str) -> bool:
        if self.structured_output == "off":
            return False
        if self.structured_output == "on":
            return True
        return self._endpoint_structured is not False and schema_key not in self._schema_refused

    def route(self, session_id: str) -> list[Endpoint]:
        """The endpoints in the order a session tries them: its own first (rendezvous hashing), the
        ones cooling down after a refused connection last."""
        ranked = sorted(self.endpoints, key=lambda e: e.rank(session_id), reverse=True)
        return [e for e in ranked if e.up] + [e for e in ranked if not e.up]

    async def _post(self, body: dict[str, Any], session_id: str = "") -> httpx.Response:
        """POST to the session's endpoint, failing over to its next one when it cannot be reached."""
        order = self.route(session_id)
        last: _Unreachable | None = None
        for i, endpoint in enumerate(order):
            try:
                return await self._post_to(endpoint, body, failover=i + 1 < len(order))
            except _Unreachable as e:
                endpoint.failures += 1
                endpoint.down_until = time.monotonic() + self.endpoint_cooldown_s
                if len(order) > 1:
                    log.warning("model endpoint %s unreachable (%s); its sessions move to their next endpoint "
                                "for %g s", endpoint.url, e, self.endpoint_cooldown_s)
                last = e
        where = order[0].url if len(order) == 1 else f"any of the {len(order)} endpoints"
        refused = str(last).startswith("connection refused")
        raise BackendError(f"cannot reach the model endpoint {where}: {last}",
                           public="cannot reach the model endpoint" + (" (connection refused)" if refused else ""),
                           ) from None

    async def _post_to(self, endpoint: Endpoint, body: dict[str, Any], *, failover: bool) -> httpx.Response:
        """POST with bounded retries (connect errors, 429, 5xx) and exponential backoff; a connect
        error raises `_Unreachable` at once when another endpoint can take the call."""
        attempt = 0
        while True:
            try:
                endpoint.requests += 1
                response = await endpoint.client.post("/chat/completions", json=body)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError,
                    httpx.ReadError, httpx.WriteError) as e:
                if failover or attempt >= self.max_retries:
                    raise _Unreachable(_describe(e)) from None
                await self._backoff(attempt, None)
            except httpx.TimeoutException:
                raise TimeoutError from None
            except httpx.HTTPError as e:
                raise BackendError(f"request to the model endpoint {endpoint.url} failed: {_describe(e)}",
                                   public="the request to the model endpoint failed") from None
            else:
                if response.status_code not in _RETRY_STATUS or attempt >= self.max_retries:
                    return response
                await self._backoff(attempt, response.headers.get("retry-after"))
            attempt += 1
            self.stats["retries"] += 1

    async def _backoff(self, attempt: int, retry_after: str | None) -> None:
        delay = 0.25 * 2**attempt * (0.5 + random.random())
        if retry_after:
            try:
                delay = max(delay, min(float(retry_after), 10.0))
            except ValueError:
                pass
        await anyio.sleep(delay)

    def _content(self, response: httpx.Response, *, expects_json: bool = True) -> str:
        try:
            data = response.json()
            choice = data["choices"][0]
            content = choice["message"].get("content")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise BackendError("the model endpoint's answer is not an OpenAI chat completion: "
                               f"{response.text[:200]!r}",
                               public="the model endpoint's answer is not an OpenAI chat completion") from None
        usage = data.get("usage") or {}
        self.stats["prompt_tokens"] += int(usage.get("prompt_tokens") or 0)
        self.stats["completion_tokens"] += int(usage.get("completion_tokens") or 0)
        if not isinstance(content, str) or not content.strip():
            raise BackendError(f"the model returned no text (finish_reason={choice.get('finish_reason')!r})")
        if expects_json and choice.get("finish_reason") == "length":
            raise AnswerTruncated(self.max_new_tokens, content)
        return content

    async def _model_name(self) -> str:
        if self.model:
            return self.model
        async with self._model_lock:
            if not self.model:
                models = await self._list_models(self.timeout_s)
                if not models:
                    raise BackendError(f"no --model given and {self.base_url}/models lists none",
                                       public="the model endpoint serves no model")
                self.model = models[0]["id"]
                if self.context_window is None and isinstance(models[0].get("max_model_len"), int):
                    self.context_window = models[0]["max_model_len"]  # vLLM reports it
                log.info("using model %s from %s", self.model, self.base_url)
        return self.model

    async def _list_models(self, timeout: float) -> list[dict[str, Any]]:
        """`/models` of the first endpoint that answers."""
        error: BackendError | None = None
        for endpoint in self.route(""):
            try:
                return await self._models_of(endpoint, timeout)
            except BackendError as e:
                error = e
        assert error is not None
        raise error

    async def _models_of(self, endpoint: Endpoint, timeout: float) -> list[dict[str, Any]]:
        try:
            response = await endpoint.client.get("/models", timeout=timeout)
        except httpx.HTTPError as e:
            described = _describe(e)
            raise BackendError(f"cannot reach the model endpoint {endpoint.url}: {described}",
                               public="cannot reach the model endpoint" + (
                                   " (connection refused)" if described.startswith("connection refused") else ""),
                               ) from None
        if response.status_code != 200:
            raise BackendError(f"{endpoint.url}/models answered HTTP {response.status_code}",
                               public=f"the model endpoint's model list answered HTTP {response.status_code}")
        try:
            return [m for m in response.json().get("data", []) if isinstance(m, dict) and "id" in m]
        except (ValueError, AttributeError):
            raise BackendError(f"{endpoint.url}/models did not answer JSON",
                               public="the model endpoint's model list is not JSON") from None

    def _failed(self, message: str) -> None:
        self.stats["errors"] += 1
        self.stats["last_error"] = message
        self.stats["last_error_at"] = time.time()

    # -- lifecycle -----------------------------------------------------------------------------

    async def health(self) -> BackendHealth:
        info = {"base_url": self.base_url, "model": self.model, "structured_output": self.structured_output,
                "endpoint_structured_output": self._endpoint_structured,
                **{k: v for k, v in self.stats.items() if k != "last_error_at"}}
        if len(self.endpoints) > 1:
            return await self._health_of_many(info)
        try:
            models = await self._list_models(min(5.0, self.timeout_s))
        except BackendError as e:
            return BackendHealth("down", str(e), info)
        ids = [m["id"] for m in models]
        info["served_models"] = ids
        if self.model and ids and self.model not in ids:
            return BackendHealth("degraded", f"model {self.model!r} is not served there (serves {', '.join(ids)})",
                                 info)
        recent = self.stats["last_error_at"]
        if recent is not None and time.time() - recent < 60:
            return BackendHealth("degraded", f"endpoint reachable; last call failed: {self.stats['last_error']}",
                                 info)
        return BackendHealth("ok", f"{self.base_url} serves {self.model or ', '.join(ids)}", info)

    async def _health_of_many(self, info: dict[str, Any]) -> BackendHealth:
        states: dict[str, dict[str, Any]] = {}

        async def probe(endpoint: Endpoint) -> None:
            entry: dict[str, Any] = {"url": endpoint.url, "requests": endpoint.requests, "failures": endpoint.failures}
            try:
                await self._models_of(endpoint, min(5.0, self.timeout_s))
                entry["state"] = "ok"
                endpoint.down_until = 0.0  # it answers again: its sessions come back to it
            except BackendError as e:
                entry.update(state="down", detail=str(e))
            states[endpoint.url] = entry

        async with anyio.create_task_group() as tg:
            for endpoint in self.endpoints:
                tg.start_soon(probe, endpoint)
        info["endpoints"] = [states[e.url] for e in self.endpoints]
        down = [url for url, entry in states.items() if entry["state"] == "down"]
        if len(down) == len(states):
            return BackendHealth("down", f"none of the {len(states)} model endpoints answers", info)
        if down:
            return BackendHealth("degraded", f"{len(down)} of {len(states)} model endpoints down: {', '.join(down)}",
                                 info)
        return BackendHealth("ok", f"{len(states)} endpoints serve {self.model or 'the model'}", info)

    async def aclose(self) -> None:
        for endpoint in self.endpoints:
            await endpoint.client.aclose()


def _load_counter(path: str) -> TokenCounter:
    """A token counter from a local tokenizer folder (transformers is needed only then)."""
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise ValueError("--tokenizer needs transformers: pip install 'gtm-mcp[local]'") from None
    try:
        return token_counter(AutoTokenizer.from_pretrained(path))
    except OSError as e:
        raise ValueError(f"--tokenizer {path}: cannot load a tokenizer there ({e})") from None


def _schema_key(schema: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(schema, sort_keys=True).encode()).hexdigest()


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            return str(error.get("message") or error)
        return str(error)
    return str(data)


def _describe(error: Exception) -> str:
    text = str(error).strip()
    kind = type(error).__name__
    if "refused" in text.lower() or "Errno 111" in text or "All connection attempts failed" in text:
        return "connection refused (is the model server running?)"
    return f"{kind}: {text}" if text else kind
