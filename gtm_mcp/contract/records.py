"""Calls and episodes: what the server keeps per session, what backends are asked, what synthesis
writes, what training reads and what an RL environment replays.

- `ToolOutput`: what one call returned: a JSON object (structured), text, or an error text.
- `CallRecord`: one call of an episode with its outcome, simulated or real.
- `SimulationRequest`: everything a backend may use to write one output.
- `EpisodeRecord`: a whole episode (tools, hidden context, seed, initial world, calls) as one JSON
  line (`gtm-episode/1`), readable without a server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.contract.surface import ResourceRead
from gtm_mcp.contract.versions import EPISODE_FORMAT_VERSION, PROMPT_FORMAT_VERSION

#: Who produced an outcome: a simulator, the real tool, or a recording played back.
OutcomeOrigin = Literal["simulated", "real", "replayed"]


@dataclass(frozen=True)
class ToolOutput:
    """What a tool returned for one call.

    `value` is a JSON object (a tool with structured output) or a string (a tool that answers in
    text, and every error). `is_error` marks an MCP isError result (a refusal the agent sees).
    """

    value: dict[str, Any] | str
    is_error: bool = False

    @property
    def text(self) -> str:
        """The text content an MCP client sees (JSON objects as compact JSON)."""
        return self.value if isinstance(self.value, str) else json.dumps(self.value, ensure_ascii=False)

    @property
    def structured(self) -> dict[str, Any] | None:
        return self.value if isinstance(self.value, dict) and not self.is_error else None


@dataclass(frozen=True)
class CallRecord:
    """One call of an episode: tool, the arguments as the tool saw them, and what came back.

    `result` is the JSON object returned, or the text (the error text when `is_error`).
    `origin` says whether a simulator, the real tool or a replayed recording answered.
    """

    tool: str
    arguments: dict[str, Any]
    result: Any
    is_error: bool = False
    origin: OutcomeOrigin = "simulated"

    @property
    def output(self) -> ToolOutput:
        return ToolOutput(self.result, self.is_error)

    def to_json(self) -> dict[str, Any]:
        out = {"tool": self.tool, "arguments": self.arguments, "result": self.result, "is_error": self.is_error,
               "origin": self.origin}
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallRecord:
        return cls(tool=data["tool"], arguments=dict(data.get("arguments") or {}), result=data.get("result"),
                   is_error=bool(data.get("is_error", False)), origin=data.get("origin", "simulated"))

    def approx_bytes(self) -> int:
        """Size of this record as JSON (for per-session memory limits)."""
        return len(json.dumps(self.to_json(), ensure_ascii=False, default=str))


@dataclass(frozen=True)
class Repair:
    """Feedback for one repair round: what the backend answered before and why it was refused."""

    previous_answer: str
    problem: str


@dataclass(frozen=True)
class SimulationRequest:
    """Everything a backend may use to write one tool output.

    `output_schema` is the schema a JSON answer must satisfy: the tool's own, or one inferred from
    its name and description; None when the tool answers in text (no output schema, and the
    server was not told to invent one). `history` holds the session's earlier calls, oldest first.
    `hidden_context` is text the agent never sees (an RL episode's ground truth). `state` is a
    mutable dict owned by the session, private to the backend, for memory that outlives one call
    (it is dropped with the session). `world` is the session's declared initial world, if any.
    `repair` is set on a re-ask. `resource` is set when the request is a `resources/read` rather
    than a tool call: `tool` then stands in for the resource (`ResourceRead.as_tool`) and the prompt
    format renders a resource read.
    """

    tool: ToolDefinition
    arguments: dict[str, Any]
    session_id: str
    output_schema: dict[str, Any] | None
    history: tuple[CallRecord, ...] = ()
    hidden_context: str | None = None
    seed: int = 0
    state: dict[str, Any] = field(default_factory=dict, compare=False)
    world: dict[str, Any] | None = None
    repair: Repair | None = None
    resource: ResourceRead | None = None

    @property
    def expects_json(self) -> bool:
        return self.output_schema is not None

    def with_repair(self, previous_answer: str, problem: str) -> SimulationRequest:
        return replace(self, repair=Repair(previous_answer, problem))


class EpisodeRecord(BaseModel):
    """One episode as a JSON line: the tools in play, the hidden context and seed, the declared
    initial world, and every call with its outcome. Written by the server (recording), synthesis
    and the recorder of real traffic; read by training, evaluation and replay."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["gtm-episode/1"] = EPISODE_FORMAT_VERSION
    id: str
    tools: list[ToolDefinition]
    calls: list[CallRecord] = Field(default_factory=list)
    hidden_context: str | None = None
    seed: int | None = None
    world: dict[str, Any] | None = None
    prompt_format: str = PROMPT_FORMAT_VERSION
    source: str = ""  # e.g. "recorded:mcp-server-time", "carg:multi-turn", "server"
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("calls", mode="before")
    @classmethod
    def _calls_from_json(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [CallRecord.from_json(c) if isinstance(c, dict) else c for c in value]
        return value

    def tool(self, name: str) -> ToolDefinition | None:
        return next((t for t in self.tools if t.name == name), None)

    def steps(self, *, output_schema_for: Any = None) -> Iterator[tuple[SimulationRequest, CallRecord]]:
        """(request, what came back) for each call whose tool the episode defines, with the history
        before it: what a simulator would have been asked at that point, and the reference answer.
        `output_schema_for(tool)` picks the request's output schema (default: the tool's own)."""
        for i, call in enumerate(self.calls):
            tool = self.tool(call.tool)
            if tool is None:
                continue
            schema = output_schema_for(tool) if output_schema_for else tool.output_schema
            yield SimulationRequest(tool=tool, arguments=call.arguments, session_id=self.id, output_schema=schema,
                                    history=tuple(self.calls[:i]), hidden_context=self.hidden_context,
                                    seed=self.seed or 0, world=self.world), call

    def to_json_line(self) -> str:
        data = self.model_dump(mode="json", exclude={"calls", "tools"})
        data["tools"] = [t.to_gtm() for t in self.tools]
        data["calls"] = [c.to_json() for c in self.calls]
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json_line(cls, line: str) -> EpisodeRecord:
        return cls.model_validate(json.loads(line))
