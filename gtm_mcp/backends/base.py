"""The one interface every backend implements: a simulation request in, the tool's output out.

Backends are interchangeable (think of httpx's transports). The server builds a
`SimulationRequest` (`gtm_mcp.contract`) after the arguments were checked, awaits
`Backend.simulate`, then checks the answer itself (`gtm_mcp.calls.output`): a backend returns its
best attempt and never has to validate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from gtm_mcp.contract.records import SimulationRequest, ToolOutput


class BackendError(Exception):
    """The backend could not produce an answer (endpoint down, timed out, overloaded...).

    `public` is what the agent sees in the isError result: what failed, never text from an
    exception or an endpoint (addresses, stack details). The full message goes to the server log
    with an id the agent's text names. `public` defaults to the message, for messages that hold
    nothing else.
    """

    def __init__(self, message: str, *, public: str | None = None) -> None:
        super().__init__(message)
        self.public = message if public is None else public


class AnswerTruncated(BackendError):
    """The model answered, but did not finish a JSON answer within its token budget: a fault of the
    answer, not of the endpoint (health stays ok)."""

    def __init__(self, max_new_tokens: int, content: str) -> None:
        super().__init__(f"the model's answer was cut at the token limit ({max_new_tokens} tokens, "
                         f"--max-new-tokens) before its JSON was complete (it ends with {content[-80:]!r})")


@dataclass(frozen=True)
class BackendHealth:
    state: Literal["ok", "degraded", "down"]
    detail: str = ""
    info: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """A simulator of tool outputs.

    `simulate` returns a `ToolOutput` (an answer already decided: JSON, text, or a refusal), a
    JSON object, or the text a model wrote, which the server reads with the prompt format's
    `read_answer` (JSON when `request.output_schema` is set, text otherwise). It raises
    `BackendError` when it cannot answer. Many calls may be in flight at once: implementations
    must not serialise them unless the hardware forces it. `repairable` tells the server whether
    a second attempt with `request.repair` set may help.
    """

    name: str
    repairable: bool

    async def simulate(self, request: SimulationRequest) -> ToolOutput | dict[str, Any] | str: ...

    async def health(self) -> BackendHealth: ...

    async def aclose(self) -> None: ...
