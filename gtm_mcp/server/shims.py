"""HTTP shims for RL code written against other tool servers, answered by the simulator.

- `POST /virtual` (and `/virtual/<session>`): StableToolBench's virtual API server. Request (its
  `server/main.py` `Info` model, sent by `toolbench/inference/Downstream_tasks/rapidapi.py`):
  `{"category", "tool_name", "api_name", "tool_input": "<JSON text>" | {...}, "strip",
  "toolbench_key"}`. Answer: `{"error": "", "response": "<the output as text>"}`, or
  `{"error": "<message>", "response": ""}` (bad input JSON, unknown API, refused arguments). The tool
  is `<api_name>_for_<tool_name>` as the StableToolBench importer names it (`--tools` a
  StableToolBench query file or API list).
- `POST /retrieve` (and `/retrieve/<session>`): Search-R1's retriever (`search_r1/search/
  retrieval_server.py`, called by `search_r1/llm_agent/generation.py`). Request `{"queries": [...],
  "topk": int | null, "return_scores": bool}`; answer `{"result": [[{"document": {"id", "contents":
  "<title>\\n<text>"}, "score": float}, ...] per query]}` (bare documents without scores). Each query
  is one call of the search tool named by `--retrieve-tool` (default `web_search`); its results
  (a list of objects in the output) become documents.

Neither client names an episode: the path does (`/virtual/<session>`, `/retrieve/<session>`), else
the session `virtual` / `retrieve`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import anyio
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gtm_mcp.calls.pipeline import Outcome, Simulator
from gtm_mcp.contract.definition import ToolDefinition

MAX_QUERIES = 256
_RESERVED = {"from", "class", "return", "false", "true", "id", "and"}  # ToolBench's change_name list
_TITLE_KEYS = ("title", "name", "headline", "label")
_TEXT_KEYS = ("text", "snippet", "content", "contents", "description", "summary", "body", "abstract")


class VirtualRequest(BaseModel):
    category: str = ""
    tool_name: str
    api_name: str
    tool_input: str | dict[str, Any] = ""
    strip: str = ""
    toolbench_key: str = ""


class RetrieveRequest(BaseModel):
    queries: list[str]
    topk: int | None = None
    return_scores: bool = False


def _standardize(name: str) -> str:
    name = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()
    name = re.sub(r"_+", "_", name)
    return "get_" + name if name and name[0].isdigit() else name


def virtual_tool_names(tool_name: str, api_name: str, category: str) -> list[str]:
    """Names the StableToolBench importer may have given this API, most likely first."""
    api = _standardize(api_name)
    apis = [api, api.removeprefix("is_")] if api.removeprefix("is_") in _RESERVED else [api]
    tool = _standardize(tool_name)
    suffix = f"_for_{_standardize(category)}" if category else ""
    tools = [tool, tool.removesuffix(suffix)] if suffix and tool.endswith(suffix) else [tool]
    return [f"{a}_for_{t}"[:64] for a in apis for t in tools]


def _documents(output: Any, query: str, topk: int) -> list[dict[str, Any]]:
    """Search results out of a search tool's output: the first list of objects found."""
    items: list[Any] = []
    stack = [output]
    while stack and not items:
        node = stack.pop(0)
        if isinstance(node, list) and any(isinstance(x, dict) for x in node):
            items = [x for x in node if isinstance(x, dict)]
        elif isinstance(node, dict):
            stack.extend(node.values())
    documents = []
    for i, item in enumerate(items[:topk]):
        title = next((str(item[k]) for k in _TITLE_KEYS if isinstance(item.get(k), (str, int, float))), query)
        text = next((str(item[k]) for k in _TEXT_KEYS if isinstance(item.get(k), (str, int, float))),
                    json.dumps(item, ensure_ascii=False))
        documents.append({"id": str(item.get("id", item.get("url", i))), "contents": f"{title}\n{text}"})
    return documents


def _search_arguments(tool: ToolDefinition, query: str, topk: int) -> dict[str, Any]:
    """The search tool's arguments: the query in its first string parameter, topk in a count."""
    properties = tool.input_schema.get("properties") or {}
    required = tool.input_schema.get("required") or []
    strings = [k for k, v in properties.items() if isinstance(v, dict) and v.get("type") == "string"]
    query_key = next((k for k in ("query", "q", "search", "keywords", "text") if k in properties), None)
    query_key = query_key or next((k for k in required if k in strings), strings[0] if strings else "query")
    arguments: dict[str, Any] = {query_key: query}
    for key, schema in properties.items():
        if isinstance(schema, dict) and schema.get("type") == "integer" and re.search(
                r"num|count|limit|top|k$|max_results|size", key):
            low, high = schema.get("minimum", 1), schema.get("maximum", topk)
            arguments[key] = max(low, min(high, topk))
            break
    return arguments


def shim_routes(simulator: Simulator, retrieve_tool: str = "web_search") -> list[Route]:
    """The `/virtual` and `/retrieve` routes over `simulator`."""

    async def virtual(request: Request) -> Response:
        try:
            info = VirtualRequest.model_validate_json(await request.body())
        except ValidationError as e:
            return JSONResponse({"error": f"Request invalid: {e.errors()[0]['msg']} at "
                                 f"{'.'.join(map(str, e.errors()[0]['loc']))}", "response": ""}, 422)
        arguments: Any = info.tool_input
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError:
                return JSONResponse({"error": "Tool input parse error...\n", "response": ""})
        names = virtual_tool_names(info.tool_name, info.api_name, info.category)
        name = next((n for n in names if simulator.catalog.get(n) is not None), names[0])
        session = request.path_params.get("session") or "virtual"
        result = await simulator.call(name, arguments, session_key=session)
        if result.outcome is Outcome.UNKNOWN_TOOL:
            return JSONResponse({"error": f"API doesn't exist: {info.api_name} of {info.tool_name}. {result.text}",
                                 "response": ""})
        if result.is_error:
            return JSONResponse({"error": f"Message error...\n{result.text}", "response": ""})
        return JSONResponse({"error": "", "response": result.text})

    async def retrieve(request: Request) -> Response:
        try:
            query = RetrieveRequest.model_validate_json(await request.body())
        except ValidationError as e:
            return JSONResponse({"detail": e.errors(include_url=False, include_context=False)}, 422)
        if len(query.queries) > MAX_QUERIES:
            return JSONResponse({"detail": f"at most {MAX_QUERIES} queries per request"}, 422)
        tool = simulator.catalog.get(retrieve_tool)
        if tool is None:
            return JSONResponse({"detail": f"no search tool {retrieve_tool!r} on this server: start it with "
                                 "--retrieve-tool NAME naming one of its tools"}, 404)
        topk = max(1, min(query.topk or 3, 50))
        session = request.path_params.get("session") or "retrieve"
        results: list[list[dict[str, Any]]] = [[] for _ in query.queries]
        limiter = anyio.CapacityLimiter(16)

        async def one(i: int, text: str) -> None:
            async with limiter:
                result = await simulator.call(tool.name, _search_arguments(tool, text, topk), session_key=session)
            if result.is_error:
                return
            output = result.structured if result.structured is not None else result.text
            documents = _documents(output, text, topk)
            results[i] = ([{"document": d, "score": round(1.0 / (rank + 1), 4)} for rank, d in enumerate(documents)]
                          if query.return_scores else documents)

        async with anyio.create_task_group() as tg:
            for i, text in enumerate(query.queries):
                tg.start_soon(one, i, text)
        return JSONResponse({"result": results})

    return [Route("/virtual", virtual, methods=["POST"]), Route("/virtual/{session}", virtual, methods=["POST"]),
            Route("/retrieve", retrieve, methods=["POST"]), Route("/retrieve/{session}", retrieve, methods=["POST"])]
