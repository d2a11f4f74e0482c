"""An in-test OpenAI-compatible endpoint (real HTTP on a free port) with scriptable behaviour.

Behaviour is chosen per request by the `model` name: `ok`, `slow:<seconds>`, `slowfor:<seconds>:<marker>`
(slow only for requests whose messages hold the marker: one server, one backend, some calls slow), `garbage`,
`prose`, `fail:<n>` (HTTP 500 n times, then ok), `down500` (always 500), `rate:<n>` (429 n times),
`nostructured` (400 whenever `response_format` is sent), `picky` (400 for a schema holding `x-exotic`),
`always400`, `notcompletion` (200 with a non-OpenAI body).
Every request body is recorded in `FakeEndpoint.requests`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from gtm_mcp.launch import free_port

__all__ = ["FakeEndpoint", "free_port"]


def completion(content: str, model: str = "fake") -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


class FakeEndpoint:
    def __init__(self, answer: str = '{"temp_c": 21.5}') -> None:
        self.answer = answer
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.failures: Counter[str] = Counter()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        app = Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"]),
                                Route("/v1/models", self.models)])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    timeout_keep_alive=30, timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> FakeEndpoint:
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("fake endpoint did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(5)

    async def models(self, request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": "ok", "object": "model", "max_model_len": 2048}]})

    async def chat(self, request: Request) -> JSONResponse | PlainTextResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        model: str = body.get("model", "ok")
        kind, _, arg = model.partition(":")
        if kind == "slow":
            await asyncio.sleep(float(arg))
        elif kind == "slowfor":
            seconds, _, marker = arg.partition(":")
            if marker in json.dumps(body.get("messages", []), ensure_ascii=False):
                await asyncio.sleep(float(seconds))
        elif kind == "garbage":
            return PlainTextResponse("<html>502 Bad Gateway</html>", status_code=200)
        elif kind == "notcompletion":
            return JSONResponse({"hello": "world"})
        elif kind == "prose":
            return JSONResponse(completion("I am sorry, I cannot do that.", model))
        elif kind in ("fail", "rate"):
            if self.failures[model] < int(arg):
                self.failures[model] += 1
                code = 500 if kind == "fail" else 429
                return JSONResponse({"error": {"message": "overloaded"}}, status_code=code)
        elif kind == "down500":
            return JSONResponse({"error": {"message": "engine dead"}}, status_code=500)
        elif kind == "always400":
            return JSONResponse({"error": {"message": "max_tokens is too large"}}, status_code=400)
        elif kind == "picky" and "x-exotic" in json.dumps(body.get("response_format", {})):
            return JSONResponse({"error": {"message": "unsupported JSON schema feature"}}, status_code=400)
        elif kind == "nostructured" and "response_format" in body:
            return JSONResponse({"error": {"message": "Unrecognized request argument: response_format"}},
                                status_code=400)
        return JSONResponse(completion(self.answer, model))


def messages_text(body: dict[str, Any]) -> str:
    return json.dumps(body["messages"], ensure_ascii=False)


class RecordingProxy:
    """A pass-through to a real OpenAI-compatible endpoint that records every request body:
    it shows what the engine was actually sent."""

    def __init__(self, upstream: str) -> None:
        import httpx

        self.upstream = upstream.rstrip("/")
        self.requests: list[dict[str, Any]] = []
        self.client = httpx.AsyncClient(timeout=600, limits=httpx.Limits(max_connections=256))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        app = Starlette(routes=[Route("/v1/{path:path}", self.forward, methods=["GET", "POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def forward(self, request: Request) -> JSONResponse | PlainTextResponse:
        raw = await request.body()
        if request.method == "POST":
            self.requests.append(json.loads(raw))
        upstream = await self.client.request(request.method, f"{self.upstream}/v1/{request.path_params['path']}",
                                             content=raw, headers={"content-type": "application/json"})
        return PlainTextResponse(upstream.content, status_code=upstream.status_code,
                                 media_type=upstream.headers.get("content-type"))

    __enter__ = FakeEndpoint.__enter__
    __exit__ = FakeEndpoint.__exit__
