"""Evaluation samples: every call of every episode, with the reference outcome (what the real tool,
or the data's teacher, returned) and what the simulator answered through the server.

A call's kind decides the paper's metrics it is scored on:

- `error`: the reference is an error (a refusal the real tool gave, or a bad call of CARG's error data);
- `single`: the first call of its episode (no history);
- `multi`: a later call (the simulator has the session's history).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from gtm_mcp.contract import EpisodeRecord, ToolDefinition

Kind = Literal["single", "multi", "error"]
#: What an evaluated call's result is when the server gave none (a transport failure, a timeout).
NO_RESULT = "No result from the server"
#: How the server words the results that are not the simulated tool's answer (gtm_mcp/calls/pipeline.py):
#: the model failed to give a valid output, or the server had an internal error; or no result at all.
SIMULATOR_FAILURE_PREFIXES = ("The tool simulator failed for", "Internal error in the simulator", NO_RESULT)


@dataclass(frozen=True)
class Outcome:
    """One output as a client sees it: a JSON object or text, and whether it is an isError result."""

    value: Any
    is_error: bool = False
    text: str = ""

    @classmethod
    def reference(cls, result: Any, is_error: bool) -> Outcome:
        text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
        return cls(result, is_error, text)

    @property
    def simulator_failed(self) -> bool:
        return self.is_error and self.text.startswith(SIMULATOR_FAILURE_PREFIXES)

    def json_value(self) -> Any | None:
        """The output as JSON: the structured value, or text that is a JSON object or array."""
        if isinstance(self.value, dict | list):
            return self.value
        if isinstance(self.value, str):
            stripped = self.value.strip()
            if stripped[:1] in ("{", "["):
                try:
                    return json.loads(stripped)
                except json.JSONDecodeError:
                    return None
        return None

    @property
    def shape(self) -> Literal["error", "json", "text"]:
        if self.is_error:
            return "error"
        return "json" if self.json_value() is not None else "text"

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "is_error": self.is_error}


@dataclass
class Sample:
    """One call to score: its place in an episode, the request and the reference outcome."""

    episode: EpisodeRecord
    index: int
    split: str
    observed: Outcome | None = None  # what the simulator answered through the server
    latency_s: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    judge: dict[str, Any] = field(default_factory=dict)

    @property
    def call(self) -> Any:
        return self.episode.calls[self.index]

    @property
    def tool(self) -> ToolDefinition | None:
        return self.episode.tool(self.call.tool)

    @property
    def reference(self) -> Outcome:
        return Outcome.reference(self.call.result, self.call.is_error)

    @property
    def kind(self) -> Kind:
        if self.call.is_error:
            return "error"
        return "single" if self.index == 0 else "multi"

    @property
    def id(self) -> str:
        return f"{self.episode.id}#{self.index}"


def samples_of(episodes: list[EpisodeRecord], split: str) -> list[Sample]:
    """One sample per call whose tool the episode defines."""
    return [Sample(episode, i, split) for episode in episodes for i, call in enumerate(episode.calls)
            if episode.tool(call.tool) is not None]


def tool_groups(episodes: list[EpisodeRecord]) -> list[list[EpisodeRecord]]:
    """Episodes grouped so that no two definitions of one tool name meet in a group (a server
    serves one definition per name); most exports give one group."""
    groups: list[tuple[dict[str, str], list[EpisodeRecord]]] = []
    for episode in episodes:
        spelled = {t.name: json.dumps(t.to_gtm(), sort_keys=True) for t in episode.tools}
        for known, members in groups:
            if all(known.get(name, text) == text for name, text in spelled.items()):
                known.update(spelled)
                members.append(episode)
                break
        else:
            groups.append((dict(spelled), [episode]))
    return [members for _, members in groups]
