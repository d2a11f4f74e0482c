"""veRL: a tool class that keys each episode on the rollout, and a veRL-compatible tool list.

What veRL does (volcengine/verl, `verl/experimental/agent_loop/tool_agent_loop.py`, `verl/tools/`,
read at b178a3c): the tool config YAML names a tool class and, for `type: mcp`, an MCP-servers JSON;
veRL's `ClientManager` opens one fastmcp `Client` for the servers, lists their tools, turns each into
an OpenAI function schema (`parameters` = the MCP `inputSchema`) and validates it with its pydantic
`OpenAIFunctionToolSchema`, then builds one tool object per tool: `tool_cls(config=, tool_schema=)`.
For EVERY call the agent loop then runs

    instance_id, _ = await tool.create(create_kwargs=tools_kwargs[name].get("create_kwargs", {}))
    response, reward, metrics = await tool.execute(instance_id, arguments, agent_data=agent_data)
    await tool.release(instance_id)

and keeps `response.text`, cut to `max_tool_response_length` (256 characters by default, the middle
removed). veRL's stock `MCPBaseTool` calls the server with the tool name and arguments only: the
rollout's `agent_data.request_id` never reaches it, so every rollout of a training run lands in one
session. `GTMTool` sends it as `_meta["gtm-mcp/session"]`: one session per rollout, kept across the
create/execute/release cycles of its calls. `create_kwargs` may carry `hidden_context` (ground truth
the simulated tools follow; from the dataset's `extra_info.tools_kwargs`).

veRL's schema model keeps, per parameter, only a string `type`, a `description` and a list of
string `enum` values; a parameter without `type`, with a list of types or with a non-string enum
fails veRL's start-up, and everything else (nesting, bounds, formats) never reaches the policy.
`verl_tool()` rewrites a tool so veRL accepts it and the policy still reads what veRL drops (in the
parameter's description); `gtm-mcp export --format verl` writes a whole tool list that way, to serve.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel

from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.sessions.keys import META_SESSION, META_SESSION_CONTEXT

_DROPPED_BY_VERL = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
                    "pattern", "format", "minItems", "maxItems", "default", "examples", "const")
_JSON_TYPES = ("string", "integer", "number", "boolean", "object", "array")


# -- the tool-list export ------------------------------------------------------------------------

def _type_of(schema: dict[str, Any], defs: dict[str, Any]) -> str | None:
    """The JSON type a parameter schema implies, when it names none directly."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target = defs.get(ref.rsplit("/", 1)[-1])
        if isinstance(target, dict):
            return _type_of(target, defs) if not isinstance(target.get("type"), str) else target["type"]
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key) or []:
            if isinstance(branch, dict):
                found = branch.get("type") if isinstance(branch.get("type"), str) else _type_of(branch, defs)
                if found and found != "null":
                    return found
    values = schema.get("enum") or ([schema["const"]] if "const" in schema else [])
    kinds = {type(v) for v in values if v is not None}
    if kinds:
        return {str: "string", bool: "boolean", int: "integer", float: "number"}.get(kinds.pop(), "string") \
            if len(kinds) == 1 else "string"
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return None


def _hint(schema: dict[str, Any], kind: str) -> str:
    """What veRL drops from a parameter, as text the policy still reads."""
    parts = [f"{k}={json.dumps(schema[k], ensure_ascii=False)}" for k in _DROPPED_BY_VERL if k in schema]
    if kind in ("object", "array"):
        inner = {k: v for k, v in schema.items() if k in ("properties", "items", "required", "additionalProperties")}
        if inner:
            parts.append("JSON " + json.dumps({"type": kind, **inner}, ensure_ascii=False, separators=(",", ":")))
    return "; ".join(parts)


def verl_parameter(name: str, schema: Any, defs: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """One parameter schema veRL accepts (string `type`, string `enum`), with what it would drop
    moved into the description; the rest stays for the server's own argument check."""
    changes: list[str] = []
    schema = dict(schema) if isinstance(schema, dict) else {}
    declared = schema.get("type")
    if isinstance(declared, list):
        kinds = [t for t in declared if t != "null"]
        schema["type"] = kinds[0] if kinds else "string"
        changes.append(f"{name}: type {declared} -> {schema['type']!r}")
    elif not isinstance(declared, str) or declared not in _JSON_TYPES:
        schema["type"] = _type_of(schema, defs) or "string"
        changes.append(f"{name}: no usable type -> {schema['type']!r}")
    enum = schema.get("enum")
    if isinstance(enum, list) and not all(isinstance(v, str) for v in enum):
        values = [v for v in enum if v is not None]
        schema["enum"] = [v if isinstance(v, str) else json.dumps(v) for v in values]
        schema["type"] = "string"
        changes.append(f"{name}: enum {enum} -> strings {schema['enum']}")
    hint = _hint(schema, schema["type"])
    description = schema.get("description") if isinstance(schema.get("description"), str) else ""
    if hint:
        schema["description"] = f"{description} ({hint})".strip() if description else f"({hint})"
    return schema, changes


def verl_tool(tool: ToolDefinition) -> tuple[ToolDefinition, list[str]]:
    """The tool rewritten so that veRL's `OpenAIFunctionToolSchema` accepts it (and what changed)."""
    schema = dict(tool.input_schema)
    defs = {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})}
    properties: dict[str, Any] = {}
    changes: list[str] = []
    if not isinstance(schema.get("properties"), dict):
        changes.append("no properties -> {}")
    if not tool.description:
        changes.append("no description -> the tool's name")
    for name, sub in (schema.get("properties") or {}).items():
        properties[name], changed = verl_parameter(name, sub, defs)
        changes += changed
    schema.update(type="object", properties=properties,
                  required=[r for r in schema.get("required") or [] if isinstance(r, str)])
    return tool.model_copy(update={"input_schema": schema, "description": tool.description or tool.name}), changes


def export_verl(tools: list[ToolDefinition]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A tool list (MCP `{"tools": [...]}`) veRL accepts, and the changes per tool."""
    entries, report = [], {}
    for tool in tools:
        fixed, changes = verl_tool(tool)
        entries.append(fixed.to_mcp())
        if changes:
            report[tool.name] = changes
    return {"tools": entries}, report


# -- the tool class veRL instantiates ------------------------------------------------------------

class _Response(BaseModel):
    """veRL's ToolResponse (text, image, video), used where veRL itself is not installed."""

    text: str | None = None
    image: list[Any] | None = None
    video: list[Any] | None = None


def _verl_parts() -> tuple[type, type]:
    try:
        from verl.tools.base_tool import BaseTool
        from verl.tools.schemas import ToolResponse
    except ImportError:  # outside a veRL environment (tests, docs): same interface, no base class
        return object, _Response
    return BaseTool, ToolResponse


_Base, ToolResponse = _verl_parts()


class GTMTool(_Base):  # type: ignore[misc,valid-type]
    """A veRL tool (`class_name: gtm_mcp.envs.verl.GTMTool`, `type: mcp`) whose calls carry the
    rollout's request id as the gtm-mcp session.

    Config keys (the `config:` block of the tool config): `timeout` (seconds per call, 30),
    `compact_json` (true: JSON outputs without spaces, so more fits veRL's response length). Metrics
    per call: `is_error`, `episode`.
    """

    #: tool name -> the fastmcp Client to call it with. Default: veRL's ClientManager (the client
    #: that listed the tools, rate limiter included); set it to use another client.
    client_for: ClassVar[Callable[[str], Any] | None] = None

    def __init__(self, config: dict[str, Any], tool_schema: Any) -> None:
        self.config = config
        self.tool_schema = tool_schema
        self.name: str = tool_schema.function.name
        self.timeout = float(config.get("timeout", 30))
        self.compact_json = bool(config.get("compact_json", True))
        self._instances: dict[str, dict[str, Any]] = {}

    def get_openai_tool_schema(self) -> Any:
        return self.tool_schema

    async def create(self, instance_id: str | None = None, **kwargs: Any) -> tuple[str, Any]:
        instance_id = instance_id or str(uuid.uuid4())
        self._instances[instance_id] = dict(kwargs.get("create_kwargs") or {})
        return instance_id, ToolResponse()

    def episode_of(self, instance_id: str, kwargs: dict[str, Any]) -> str:
        """The rollout's request id (veRL passes `agent_data`), else an explicit `episode` in the
        create kwargs, else the instance (one call: no state across calls)."""
        request_id = getattr(kwargs.get("agent_data"), "request_id", None)
        if request_id:
            return str(request_id)
        return str(self._instances.get(instance_id, {}).get("episode") or instance_id)

    async def execute(self, instance_id: str, parameters: dict[str, Any], **kwargs: Any) -> tuple[Any, float, dict]:
        episode = self.episode_of(instance_id, kwargs)
        meta: dict[str, Any] = {META_SESSION: episode}
        hidden = self._instances.get(instance_id, {}).get("hidden_context")
        if isinstance(hidden, str) and hidden:
            meta[META_SESSION_CONTEXT] = hidden
        try:
            client = await self._client()
            async with client:
                result = await client.call_tool_mcp(self.name, parameters, timeout=self.timeout, meta=meta)
        except Exception as e:  # veRL feeds the text back to the policy; the rollout goes on
            return ToolResponse(text=f"Error: the tool call failed ({type(e).__name__}: {e})"), 0.0, \
                {"is_error": True, "episode": episode, "api_request_error": str(e)}
        text = " ".join(part.text for part in result.content if getattr(part, "type", None) == "text")
        if self.compact_json and text[:1] == "{":
            try:
                text = json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
            except json.JSONDecodeError:
                pass
        return ToolResponse(text=text), 0.0, {"is_error": bool(result.is_error), "episode": episode}

    async def calc_reward(self, instance_id: str, **kwargs: Any) -> float:
        return 0.0

    async def release(self, instance_id: str, **kwargs: Any) -> None:
        self._instances.pop(instance_id, None)

    async def _client(self) -> Any:
        if GTMTool.client_for is not None:
            return GTMTool.client_for(self.name)
        import asyncio

        from verl.tools.utils.mcp_clients.McpClientManager import ClientManager

        while ClientManager.rate_limiter is not None and not ClientManager.rate_limiter.acquire():
            await asyncio.sleep(0.05)
        return ClientManager.get_client_with_tool_name(self.name)
