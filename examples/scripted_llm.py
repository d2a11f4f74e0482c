"""An OpenAI-compatible chat endpoint with no model in it, so the examples run offline.

It stands in for the LLMs the examples need and nothing more:
- a policy (`tools` in the request): calls up to two tools with arguments valid for their input
  schemas (the second one reuses an id the first returned, as an agent would), then finishes with
  `complete_task` when offered, else a final text answer;
- a structured-output model (`response_format: json_schema`, e.g. ART's scenario generator): JSON
  that satisfies the schema, written by gtm-mcp's schema backend;
- a judge (a RULER prompt: `<trajectory id="N">` blocks): one score per trajectory, higher for
  trajectories that finished and whose tool calls were not refused.

Replace it with a real model (vLLM, an API) by passing that base URL to the examples.

    with ScriptedLLM() as llm:
        client = openai.AsyncOpenAI(base_url=llm.url, api_key="none")
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gtm_mcp.backends.schema import SchemaBackend
from gtm_mcp.contract import SimulationRequest, ToolDefinition
from gtm_mcp.launch import free_port

_writer = SchemaBackend(seed=11)


def instance_of(schema: dict[str, Any], name: str = "value", seed: int = 0) -> dict[str, Any]:
    """A JSON object that satisfies `schema` (the schema backend, no model)."""
    tool = ToolDefinition(name=re.sub(r"[^A-Za-z0-9_]", "_", name)[:64] or "value", output_schema=schema)
    request = SimulationRequest(tool=tool, arguments={}, session_id="scripted", output_schema=schema, seed=seed)
    return _writer.simulate_now(request)


def _completion(message: dict[str, Any], model: str) -> dict[str, Any]:
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    return {"id": f"chatcmpl-{time.time_ns()}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "message": {"role": "assistant", **message},
                                         "finish_reason": finish}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def _ids_in(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return {}
    return {k: v for k, v in value.items() if k.endswith("id") and isinstance(v, (str, int))} \
        if isinstance(value, dict) else {}


def policy_turn(messages: list[dict[str, Any]], tools: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    """The next assistant message of the scripted agent."""
    functions = [t["function"] for t in tools if t.get("type") == "function"]
    by_name = {f["name"]: f for f in functions}
    results = [_text(m.get("content")) for m in messages if m.get("role") == "tool"]
    calls = sum(len(m.get("tool_calls") or []) for m in messages if m.get("role") == "assistant")
    usable = [f for f in functions if f["name"] != "complete_task"]
    if calls < 2 and usable:
        chosen, arguments = None, {}
        if results:  # reuse an id the last result handed out, in a tool that takes it
            for key, value in _ids_in(results[-1]).items():
                chosen = next((f for f in usable if key in (f.get("parameters") or {}).get("properties", {})
                               and not f["name"].startswith(("create", "delete", "cancel"))), None)
                if chosen:
                    arguments = {key: value}
                    break
        if chosen is None:
            first = ([f for f in usable if f["name"].startswith(("create", "add"))]
                     or [f for f in usable if f["name"].startswith(("search", "get", "list"))] or usable)
            chosen = first[seed % len(first)]
            arguments = instance_of(chosen.get("parameters") or {"type": "object"}, chosen["name"], seed)
        call = {"id": f"call_{calls}_{seed}", "type": "function",
                "function": {"name": chosen["name"], "arguments": json.dumps(arguments)}}
        return {"content": None, "tool_calls": [call]}
    summary = f"Made {calls} tool call(s); last result: {results[-1][:120] if results else 'none'}"
    if "complete_task" in by_name:
        call = {"id": f"call_done_{seed}", "type": "function",
                "function": {"name": "complete_task", "arguments": json.dumps({"summary": summary})}}
        return {"content": None, "tool_calls": [call]}
    return {"content": summary}


def judge(prompt: str) -> dict[str, Any]:
    """RULER-style scores: finished trajectories score higher, refused calls lower."""
    scores = []
    for match in re.finditer(r'<trajectory id="(\d+)">\n(.*?)\n</trajectory>', prompt, re.S):
        text = match.group(2)
        finished = "complete_task" in text
        refusals = text.count("Invalid arguments") + text.count("Unknown tool")
        score = max(0.0, min(1.0, (0.8 if finished else 0.3) - 0.1 * refusals))
        scores.append({"trajectory_id": match.group(1), "explanation": f"finished={finished}, refused={refusals}",
                       "score": score})
    return {"scores": scores}


class ScriptedLLM:
    """The endpoint on a free port, in a background thread: `with ScriptedLLM() as llm: llm.url`."""

    def __init__(self) -> None:
        self.requests = 0
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        app = Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"]),
                                Route("/v1/models", self.models)])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def models(self, request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": "scripted", "object": "model"}]})

    async def chat(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests += 1
        model = str(body.get("model", "scripted"))
        messages = body.get("messages") or []
        last = _text(messages[-1].get("content")) if messages else ""
        seed = random.randrange(1 << 30)  # arguments vary between calls, like sampling a policy
        response_format = body.get("response_format") or {}
        if response_format.get("type") == "json_schema":
            schema = response_format.get("json_schema", {}).get("schema") or {"type": "object"}
            content = judge(last) if "<trajectory id=" in last else instance_of(schema, "structured", seed)
            return JSONResponse(_completion({"content": json.dumps(content)}, model))
        if body.get("tools"):
            return JSONResponse(_completion(policy_turn(messages, body["tools"], seed), model))
        return JSONResponse(_completion({"content": "OK"}, model))

    def __enter__(self) -> ScriptedLLM:
        self.thread.start()
        deadline = time.time() + 15
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("the scripted LLM endpoint did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(5)
