"""The recording config: which real servers, how to give each episode a fresh world, and the values
that make planned calls realistic. Strings may hold placeholders, expanded per episode:

| placeholder | value |
|---|---|
| `{world}` | the episode's fresh world folder (created empty, then the `setup` commands run in it) |
| `{root}` | the folder `gtm-synth record` runs in (the repository root for the shipped configs) |
| `{python}` | the Python running `gtm-synth` |
| `{shared}` | `$SHARED_DATA` (or `$GTM_SHARED_DATA`), else `<root>/../shared/data` |
| `{n}` | a random number 1-9999 (a fresh one at each use) |
| `{theme.KEY}` | KEY of the episode's theme (one of `themes`, picked by the seed) |
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from synthesis.config import Strict, read_document, shared_data, validated

EpisodeKind = Literal["flow", "crud", "refusal", "bad_arguments"]
_PLACEHOLDER = re.compile(r"\{(world|root|python|shared|n|theme\.[A-Za-z0-9_]+)\}")


class TauSpec(Strict):
    """Replaying tau-bench: gold action sequences of its tasks, plus exploring episodes."""

    root: str = "{shared}/tau-bench"
    domain: Literal["retail", "airline"] = "retail"
    #: task split -> episode split ("train" or "heldout"); a split absent here is not replayed
    task_splits: dict[str, Literal["train", "heldout"]] = Field(
        default_factory=lambda: {"train": "train", "dev": "heldout", "test": "heldout"})
    explore_episodes: int = Field(100, ge=0, description="episodes of reads, flows and refusals over the data")
    probe_share: float = Field(0.3, ge=0, le=1, description="task episodes that also probe a refusal or a bad call")


class ServerSpec(Strict):
    name: str
    command: str | None = None  # a command line run over stdio
    url: str | None = None  # or a streamable-HTTP URL (the world is then whatever that server holds)
    env: dict[str, str] = Field(default_factory=dict)
    setup: list[str] = Field(default_factory=list, description="shell commands run in {world} before the server starts")
    #: `process`: a fresh server process per episode; `session`: one process per worker, one session
    #: per episode through the call's _meta["gtm-synth/session"] (servers that keep a world per session)
    world: Literal["process", "session"] = "process"
    episodes: int = Field(100, ge=0)
    heldout_share: float = Field(0.15, ge=0, le=1, description="episodes held out for evaluation")
    calls: tuple[int, int] = (3, 8)
    kinds: dict[EpisodeKind, float] = Field(
        default_factory=lambda: {"flow": 0.4, "crud": 0.3, "refusal": 0.15, "bad_arguments": 0.15})
    values: dict[str, list[Any]] = Field(default_factory=dict, description="parameter name -> realistic values")
    tool_values: dict[str, dict[str, list[Any]]] = Field(default_factory=dict,
                                                         description="tool -> parameter -> values")
    refusal_values: dict[str, list[Any]] = Field(default_factory=dict,
                                                 description="parameter -> values the real tool refuses")
    themes: list[dict[str, Any]] = Field(default_factory=list)
    aliases: dict[str, str] = Field(default_factory=dict, description="parameter/output key -> the key values share")
    start_tools: list[str] = Field(default_factory=list, description="the first call picks one of these")
    include_tools: list[str] = Field(default_factory=list)
    exclude_tools: list[str] = Field(default_factory=list)
    call_timeout_s: float = 30.0
    #: how the server checks arguments, carried by its tools into the data (`ToolDefinition.check_profile`):
    #: `auto` detects it as `gtm-mcp --mirror` does; null leaves it unset (a server that checks nothing)
    check_profile: Literal["auto", "strict", "pydantic", "zod"] | None = "auto"
    planner: Literal["generic", "tau-bench"] = "generic"
    tau: TauSpec | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ServerSpec:
        if bool(self.command) == bool(self.url):
            raise ValueError(f"server {self.name!r}: give exactly one of command (stdio) or url")
        if self.planner == "tau-bench" and self.tau is None:
            self.tau = TauSpec()
        if not re.match(r"^[A-Za-z0-9_.-]+$", self.name):
            raise ValueError(f"server name {self.name!r}: letters, digits, '_', '.', '-' only")
        return self


class RecordConfig(Strict):
    seed: int = 0
    concurrency: int = Field(2, ge=1, description="episodes recorded at once")
    world_root: str | None = None  # default: a new temporary folder per run
    keep_worlds: bool = False
    servers: list[ServerSpec]

    @model_validator(mode="after")
    def _unique(self) -> RecordConfig:
        names = [s.name for s in self.servers]
        if len(set(names)) != len(names):
            raise ValueError("server names must be unique")
        return self


def load_record_config(path: str | Path) -> RecordConfig:
    return validated(RecordConfig, read_document(path), str(path))


def expand(value: Any, *, world: str = "", root: Path | None = None, theme: dict[str, Any] | None = None,
           rng: random.Random | None = None) -> Any:
    """`value` with its placeholders filled (recursively through lists and objects)."""
    root = root or Path.cwd()

    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "world":
            return world
        if key == "root":
            return str(root)
        if key == "python":
            return sys.executable
        if key == "shared":
            return shared_data(root)
        if key == "n":
            return str((rng or random).randint(1, 9999))
        name = key.split(".", 1)[1]
        return str((theme or {}).get(name, match.group(0)))

    if isinstance(value, str):
        return _PLACEHOLDER.sub(one, value)
    if isinstance(value, list):
        return [expand(v, world=world, root=root, theme=theme, rng=rng) for v in value]
    if isinstance(value, dict):
        return {k: expand(v, world=world, root=root, theme=theme, rng=rng) for k, v in value.items()}
    return value
