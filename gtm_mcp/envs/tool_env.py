"""A gym-style environment over the simulator, in-process: no HTTP, no MCP framing, for the
highest call rate an RL loop can get from the simulator.

    from gtm_mcp.envs import ToolEnv

    env = ToolEnv.from_settings(tools=["tools.json"], seed=3)
    observation, info = env.reset(options={"hidden_context": "The user's order ord_1 was lost."})
    observation, reward, terminated, truncated, info = env.step(
        {"tool": "get_order", "arguments": {"order_id": "ord_1"}})
    ...
    observation, reward, terminated, truncated, info = env.step({"final": "Your order was lost."})

The API follows gymnasium's (`reset(seed=, options=)` -> `(observation, info)`, `step(action)` ->
`(observation, reward, terminated, truncated, info)`) with text observations, the form LLM policies
consume: the tool's output text (JSON for tools with structured output; the error text, with
`info["is_error"]`, for refusals). Actions are `{"tool": name, "arguments": {...}}` (also
`{"name":..., "arguments": "<json>"}`, an OpenAI tool call), or `{"final": text}` to end the episode.
Each episode is its own session (`info["episode"]`), so the simulated world is consistent within
an episode and isolated from every other one. `VectorToolEnv` runs many episodes concurrently.

`reward_fn(episode, action, result)` scores each step (default 0.0); `episode.record()` gives the
episode as a `gtm-episode/1` record for training data. gymnasium itself is not needed.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gtm_mcp.calls.pipeline import CallResult, Simulator
from gtm_mcp.contract.records import EpisodeRecord
from gtm_mcp.sessions.keys import META_SESSION_CONTEXT

Action = Mapping[str, Any]
RewardFn = Callable[["Episode", Action, "CallResult | None"], float]


class ActionError(ValueError):
    """The action is not a tool call or a final answer this environment understands."""


@dataclass
class Episode:
    """One episode: its session key, hidden context, the steps taken and the rewards given."""

    key: str
    hidden_context: str | None = None
    steps: int = 0
    rewards: list[float] = field(default_factory=list)
    final: str | None = None
    done: bool = False


def parse_action(action: Any) -> tuple[str | None, dict[str, Any], str | None]:
    """(tool, arguments, final answer) from an action in any of the accepted forms."""
    if isinstance(action, str):
        try:
            action = json.loads(action)
        except json.JSONDecodeError:
            raise ActionError("an action given as text must be a JSON object") from None
    if not isinstance(action, Mapping):
        raise ActionError(f"an action is a mapping, got {type(action).__name__}")
    if "final" in action:
        return None, {}, str(action["final"])
    function = action.get("function") if isinstance(action.get("function"), Mapping) else action
    name = function.get("tool", function.get("name"))
    if not isinstance(name, str) or not name:
        raise ActionError('an action needs "tool" (or "name") naming the tool, or "final" with the answer')
    arguments = function.get("arguments", {})
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            arguments = {"__unparsed__": arguments}  # the argument check reports it to the policy
    return name, arguments if isinstance(arguments, dict) else {"__not_an_object__": arguments}, None


def _zero(episode: Episode, action: Action, result: CallResult | None) -> float:
    return 0.0


class _Core:
    """What single and vector environments share: the simulator, its event loop and the calls."""

    def __init__(self, simulator: Simulator, *, max_steps: int | None, reward_fn: RewardFn | None,
                 keep_sessions: bool) -> None:
        self.simulator = simulator
        self.max_steps = max_steps
        self.reward_fn = reward_fn or _zero
        self.keep_sessions = keep_sessions
        self._loop = asyncio.new_event_loop()

    def run(self, coroutine: Any) -> Any:
        return self._loop.run_until_complete(coroutine)

    def tool_schemas(self) -> list[dict[str, Any]]:
        """The tools in OpenAI function-calling form, for the policy's prompt."""
        return [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                  "parameters": t.input_schema}}
                for t in self.simulator.catalog.tools()]

    def new_episode(self, previous: Episode | None, options: Mapping[str, Any] | None) -> Episode:
        options = options or {}
        if previous is not None and not self.keep_sessions:
            self.simulator.sessions.drop(previous.key)
        key = str(options.get("episode") or f"env-{uuid.uuid4().hex}")
        hidden = options.get("hidden_context")
        return Episode(key=key, hidden_context=hidden if isinstance(hidden, str) else None)

    async def step(self, episode: Episode, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if episode.done:
            raise ActionError(f"episode {episode.key} is over: call reset() first")
        tool, arguments, final = parse_action(action)
        episode.steps += 1
        if final is not None:
            episode.final, episode.done = final, True
            reward = float(self.reward_fn(episode, {"final": final}, None))
            episode.rewards.append(reward)
            return "", reward, True, False, {"episode": episode.key, "final": final, "steps": episode.steps}
        meta = {META_SESSION_CONTEXT: episode.hidden_context} if episode.hidden_context and episode.steps == 1 else {}
        assert tool is not None
        result = await self.simulator.call(tool, arguments, session_key=episode.key, meta=meta)
        reward = float(self.reward_fn(episode, {"tool": tool, "arguments": arguments}, result))
        episode.rewards.append(reward)
        truncated = self.max_steps is not None and episode.steps >= self.max_steps
        episode.done = truncated
        info = {"episode": episode.key, "tool": tool, "is_error": result.is_error, "outcome": result.outcome.value,
                "structured": result.structured, "meta": result.meta, "steps": episode.steps}
        return result.text, reward, False, truncated, info

    def record(self, episode: Episode) -> EpisodeRecord:
        """The episode so far as a `gtm-episode/1` record (its tools, calls and hidden context)."""
        session = self.simulator.sessions.peek(episode.key)
        calls = list(session.history) if session is not None else []
        names = {c.tool for c in calls}
        tools = [t for t in self.simulator.catalog.tools() if t.name in names]
        return EpisodeRecord(id=episode.key, tools=tools, calls=calls, hidden_context=episode.hidden_context,
                             seed=self.simulator.seed, source="gtm-mcp:env",
                             meta={"rewards": episode.rewards, "final": episode.final})

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self.simulator.backend.aclose())
            self._loop.run_until_complete(self.simulator.sessions.aclose())
            self._loop.close()


class ToolEnv:
    """One episode at a time over an in-process simulator (see the module docstring)."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, simulator: Simulator, *, max_steps: int | None = 32, reward_fn: RewardFn | None = None,
                 keep_sessions: bool = False) -> None:
        self._core = _Core(simulator, max_steps=max_steps, reward_fn=reward_fn, keep_sessions=keep_sessions)
        self.episode: Episode | None = None

    @classmethod
    def from_settings(cls, *, max_steps: int | None = 32, reward_fn: RewardFn | None = None,
                      keep_sessions: bool = False, **settings: Any) -> ToolEnv:
        """Build the simulator from `gtm-mcp` settings by field name (tools=[...], seed=3, backend=...)."""
        return cls(build(settings), max_steps=max_steps, reward_fn=reward_fn, keep_sessions=keep_sessions)

    @property
    def simulator(self) -> Simulator:
        return self._core.simulator

    def tool_schemas(self) -> list[dict[str, Any]]:
        return self._core.tool_schemas()

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None) -> tuple[str, dict]:
        """A new episode (a new session). options: `episode` (its key), `hidden_context` (ground
        truth the simulated tools follow and the policy never sees). `seed` reseeds the simulator."""
        if seed is not None:
            self._core.simulator.seed = seed
        self.episode = self._core.new_episode(self.episode, options)
        return "", {"episode": self.episode.key, "tools": self._core.tool_schemas()}

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.episode is None:
            raise ActionError("call reset() before step()")
        return self._core.run(self._core.step(self.episode, action))

    def record(self) -> EpisodeRecord:
        if self.episode is None:
            raise ActionError("no episode yet")
        return self._core.record(self.episode)

    def close(self) -> None:
        self._core.close()


class VectorToolEnv:
    """`n` episodes stepped together; each step runs the episodes' calls concurrently."""

    def __init__(self, simulator: Simulator, n: int, *, max_steps: int | None = 32, reward_fn: RewardFn | None = None,
                 keep_sessions: bool = False) -> None:
        if n < 1:
            raise ValueError("a vector environment needs at least one episode")
        self._core = _Core(simulator, max_steps=max_steps, reward_fn=reward_fn, keep_sessions=keep_sessions)
        self.num_envs = n
        self.episodes: list[Episode | None] = [None] * n

    @classmethod
    def from_settings(cls, n: int, *, max_steps: int | None = 32, reward_fn: RewardFn | None = None,
                      keep_sessions: bool = False, **settings: Any) -> VectorToolEnv:
        return cls(build(settings), n, max_steps=max_steps, reward_fn=reward_fn, keep_sessions=keep_sessions)

    @property
    def simulator(self) -> Simulator:
        return self._core.simulator

    def reset(self, *, seed: int | None = None,
              options: Sequence[Mapping[str, Any] | None] | None = None) -> tuple[list[str], list[dict]]:
        if seed is not None:
            self._core.simulator.seed = seed
        options = list(options) if options is not None else [None] * self.num_envs
        if len(options) != self.num_envs:
            raise ValueError(f"options for {len(options)} episodes, the environment runs {self.num_envs}")
        self.episodes = [self._core.new_episode(old, opt) for old, opt in zip(self.episodes, options, strict=True)]
        return [""] * self.num_envs, [{"episode": e.key} for e in self.episodes if e is not None]

    def reset_one(self, index: int, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Start a new episode in one slot (the others go on)."""
        self.episodes[index] = self._core.new_episode(self.episodes[index], options)
        return {"episode": self.episodes[index].key}  # type: ignore[union-attr]

    def step(self, actions: Sequence[Any]) -> tuple[list[str], list[float], list[bool], list[bool], list[dict]]:
        if len(actions) != self.num_envs:
            raise ValueError(f"{len(actions)} actions for {self.num_envs} episodes")
        if any(e is None for e in self.episodes):
            raise ActionError("call reset() before step()")

        async def all_steps() -> list[Any]:
            return await asyncio.gather(*(self._core.step(e, a) for e, a in zip(self.episodes, actions, strict=True)))

        results = self._core.run(all_steps())
        observations, rewards, terminated, truncated, infos = (list(x) for x in zip(*results, strict=True))
        return observations, rewards, terminated, truncated, infos

    def record(self, index: int) -> EpisodeRecord:
        episode = self.episodes[index]
        if episode is None:
            raise ActionError("no episode yet")
        return self._core.record(episode)

    def close(self) -> None:
        self._core.close()


def build(settings: Mapping[str, Any]) -> Simulator:
    """A simulator from settings given by field name, exactly as `gtm-mcp serve` builds one."""
    from gtm_mcp.config import load_settings
    from gtm_mcp.server.runtime import build_simulator

    return build_simulator(load_settings(dict(settings), env={}))
