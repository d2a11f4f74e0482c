"""The one interface every backend implements: a simulation request in, the tool's output out.

Backends are interchangeable (think of httpx's transports). The server builds a
`SimulationRequest` after the arguments were checked, awaits `Backend.simulate`, then checks the
answer against the output schema itself (`gtm_mcp.calls.output`): a backend returns its best
attempt and never has to validate.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, runtime_checkable

from gtm_mcp.tools.definition import ToolDefinition


@dataclass(frozen=True)
class CallRecord:
    """One earlier call of the session, as the session keeps it."""

    tool: str
    arguments: dict[str, Any]
    result: Any  # the JSON object returned, or the error text when is_error
    is_error: bool = False


@dataclass(frozen=True)
class Repair:
    """Feedback for one repair round: what the backend answered before and why it was refused."""

    previous_answer: str
    problem: str


@dataclass(frozen=True)
class SimulationRequest:
    """Everything a backend may use to write one tool output.

    `output_schema` is the schema the answer must satisfy: the tool's own, or one inferred from
    its name and description when it has none. `history` holds the session's earlier calls,
    oldest first. `hidden_context` is text the agent never sees (an RL episode's ground truth).
    `state` is a mutable dict owned by the session, private to the backend, for memory that
    outlives one call (it is dropped with the session). `repair` is set on a re-ask.
    """

    tool: ToolDefinition
    arguments: dict[str, Any]
    session_id: str
    output_schema: dict[str, Any]
    history: tuple[CallRecord, ...] = ()
    hidden_context: str | None = None
    seed: int = 0
    state: dict[str, Any] = field(default_factory=dict, compare=False)
    repair: Repair | None = None

    def with_repair(self, previous_answer: str, problem: str) -> SimulationRequest:
        return replace(self, repair=Repair(previous_answer, problem))


class BackendError(Exception):
    """The backend could not produce an answer (endpoint down, timed out, overloaded...).

    The message is shown to the agent in an isError result, so it says what failed, not how to
    fix the call.
    """


@dataclass(frozen=True)
class BackendHealth:
    state: Literal["ok", "degraded", "down"]
    detail: str = ""
    info: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """A simulator of tool outputs.

    `simulate` returns the output as a JSON object (dict) or as text the server parses (models
    write text). It raises `BackendError` when it cannot answer. Many calls may be in flight at
    once: implementations must not serialise them unless the hardware forces it. `repairable`
    tells the server whether a second attempt with `request.repair` set may help.
    """

    name: str
    repairable: bool

    async def simulate(self, request: SimulationRequest) -> dict[str, Any] | str: ...

    async def health(self) -> BackendHealth: ...

    async def aclose(self) -> None: ...
