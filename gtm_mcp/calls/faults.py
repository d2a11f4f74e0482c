"""Fault and latency injection: what a flaky, slow or broken tool does to an agent, on purpose.

A `FaultRule` says which tools it covers (names or globs), how often a call gets a fault (`rate`),
which kinds (`error`, `timeout`, `empty`, `malformed`, `oversized`, weighted), and an added
latency (fixed or drawn from a distribution). Presets name common mixes (`flaky`, `slow`,
`chaos`, ...). The first rule whose globs match a tool applies to it.

Every draw comes from a generator seeded by (seed, session, tool, index of the call of that tool
in the session): the same seed and the same calls give the same faults, whatever other sessions
do meanwhile. `error` and `timeout` stand in for the tool (nothing is executed); `empty`,
`malformed` and `oversized` corrupt what the tool answered (the session keeps the real answer).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import random
from dataclasses import dataclass
from typing import Any, Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gtm_mcp.contract import ToolOutput

FaultKind = Literal["error", "timeout", "empty", "malformed", "oversized"]
FAULT_KINDS: tuple[str, ...] = ("error", "timeout", "empty", "malformed", "oversized")
#: Kinds that stand in for the tool: the call is never executed.
NOT_EXECUTED = frozenset({"error", "timeout"})
#: `_meta` key of a result that a fault or added latency touched.
META_FAULT = "gtm-mcp/fault"
#: The longest latency a distribution may draw (a tail sample is cut here).
MAX_LATENCY_S = 600.0

#: Error texts of the kind real APIs and MCP servers give for transient failures.
DEFAULT_ERRORS = (
    "Error: 503 Service Unavailable: the service is temporarily overloaded, please retry later.",
    "Error: 429 Too Many Requests: rate limit exceeded, retry after 2 seconds.",
    "Error: 500 Internal Server Error: an unexpected error occurred while processing the request.",
    "Error: 502 Bad Gateway: the upstream service did not respond correctly.",
    "Error: connection reset by peer while contacting the service.",
)

PRESETS: dict[str, dict[str, Any]] = {
    "flaky": {"rate": 0.1, "kinds": {"error": 3, "timeout": 1}, "latency": "lognormal:50ms,0.5", "timeout_s": 2.0},
    "slow": {"rate": 0.0, "latency": "lognormal:800ms,0.6"},
    "errors": {"rate": 0.2, "kinds": ["error"]},
    "timeouts": {"rate": 0.2, "kinds": ["timeout"], "timeout_s": 5.0},
    "garbage": {"rate": 0.2, "kinds": ["empty", "malformed", "oversized"]},
    "chaos": {"rate": 0.3, "kinds": list(FAULT_KINDS), "latency": "uniform:0ms,1500ms", "timeout_s": 3.0},
}


def _seconds(text: str) -> float:
    """'200ms', '1.5s', '2m' or a bare number of milliseconds, as seconds."""
    t = text.strip().lower()
    number, scale = t, 1e-3
    for suffix, unit in (("ms", 1e-3), ("s", 1.0), ("m", 60.0)):
        if t.endswith(suffix):
            number, scale = t[: -len(suffix)], unit
            break
    try:
        value = float(number) * scale
    except ValueError:
        raise ValueError(f"{text!r} is not a duration (e.g. 200ms, 1.5s)") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{text!r} is not a duration >= 0")
    return value


@dataclass(frozen=True)
class Latency:
    """An added delay: `fixed:D` (or just `D`), `uniform:LOW,HIGH`, `normal:MEAN,SD`,
    `lognormal:MEDIAN,SIGMA` (sigma unitless), `exponential:MEAN`. Durations take ms/s units."""

    distribution: Literal["fixed", "uniform", "normal", "lognormal", "exponential"]
    a: float
    b: float = 0.0

    @classmethod
    def parse(cls, spec: str) -> Latency:
        name, _, params = spec.partition(":") if ":" in spec else ("fixed", "", spec)
        name = name.strip().lower()
        values = [p for p in params.split(",") if p.strip()]
        need = {"fixed": 1, "uniform": 2, "normal": 2, "lognormal": 2, "exponential": 1}.get(name)
        if need is None:
            raise ValueError(f"unknown latency distribution {name!r}; use fixed, uniform, normal, lognormal or "
                             "exponential, e.g. 'lognormal:200ms,0.5'")
        if len(values) != need:
            raise ValueError(f"latency {spec!r}: {name} takes {need} value(s)")
        if name == "lognormal":
            sigma = float(values[1])
            if not math.isfinite(sigma) or sigma < 0:
                raise ValueError(f"latency {spec!r}: sigma must be >= 0")
            return cls("lognormal", _seconds(values[0]), sigma)
        parsed = [_seconds(v) for v in values]
        if name == "uniform" and parsed[1] < parsed[0]:
            raise ValueError(f"latency {spec!r}: the upper bound is below the lower one")
        return cls(name, parsed[0], parsed[1] if len(parsed) > 1 else 0.0)  # type: ignore[arg-type]

    def sample(self, rng: random.Random) -> float:
        """One delay in seconds (never negative, never above MAX_LATENCY_S)."""
        d = self.distribution
        if d == "fixed":
            value = self.a
        elif d == "uniform":
            value = rng.uniform(self.a, self.b)
        elif d == "normal":
            value = rng.gauss(self.a, self.b)
        elif d == "lognormal":
            value = self.a * math.exp(rng.gauss(0.0, self.b)) if self.a > 0 else 0.0
        else:
            value = rng.expovariate(1.0 / self.a) if self.a > 0 else 0.0
        return min(max(value, 0.0), MAX_LATENCY_S)

    @property
    def mean_s(self) -> float:
        """The distribution's mean (before clipping), for reports."""
        d = self.distribution
        if d in ("fixed", "normal", "exponential"):
            return self.a
        if d == "uniform":
            return (self.a + self.b) / 2
        return self.a * math.exp(self.b**2 / 2)


class FaultRule(BaseModel):
    """Faults for the tools matching `tools`. A `preset` fills the fields this rule leaves out."""

    model_config = ConfigDict(extra="forbid")

    tools: list[str] = Field(default_factory=lambda: ["*"])
    preset: str | None = None
    rate: float = Field(0.0, ge=0.0, le=1.0, description="probability that a call gets a fault")
    kinds: dict[FaultKind, float] = Field(default_factory=lambda: {"error": 1.0})
    latency: str | None = None
    latency_rate: float = Field(1.0, ge=0.0, le=1.0, description="probability that a call gets the latency")
    timeout_s: float = Field(5.0, ge=0.0, description="how long a `timeout` fault hangs before its error")
    oversized_bytes: int = Field(256 * 1024, ge=1, description="size of an `oversized` output")
    errors: list[str] = Field(default_factory=lambda: list(DEFAULT_ERRORS), min_length=1)

    @field_validator("kinds", mode="before")
    @classmethod
    def _kinds_as_weights(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [k for k in value.split(",") if k.strip()]
        if isinstance(value, list | tuple):
            return {str(k).strip(): 1.0 for k in value}
        return value

    @field_validator("kinds")
    @classmethod
    def _some_weight(cls, value: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in value.values()) or not sum(value.values()) > 0:
            raise ValueError("kinds need weights >= 0 with a positive sum")
        return value

    @field_validator("latency")
    @classmethod
    def _latency_parses(cls, value: str | None) -> str | None:
        if value is not None:
            Latency.parse(value)
        return value

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset") is not None:
            name = str(data["preset"])
            if name not in PRESETS:
                raise ValueError(f"unknown fault preset {name!r}; presets: {', '.join(PRESETS)}")
            data = {**PRESETS[name], **data}
        return data

    @property
    def latency_model(self) -> Latency | None:
        return Latency.parse(self.latency) if self.latency else None

    def matches(self, tool: str) -> bool:
        return any(fnmatch.fnmatchcase(tool, pattern) for pattern in self.tools)


class FaultPlan(BaseModel):
    """The fault section of a rules file: a seed (default: the server's) and ordered rules."""

    model_config = ConfigDict(extra="forbid")

    seed: int | None = None
    rules: list[FaultRule] = Field(default_factory=list)


@dataclass(frozen=True)
class Fault:
    """What happens to one call: a fault kind (None: latency only) and a delay in seconds."""

    kind: str | None
    delay_s: float
    rule: FaultRule
    draw: float  # a uniform number for the kind's own choices (which error text, where to cut)

    @property
    def executes(self) -> bool:
        """Whether the tool is still asked (only the output is corrupted)."""
        return self.kind not in NOT_EXECUTED

    @property
    def meta(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.delay_s:
            out["latency_ms"] = round(self.delay_s * 1000, 3)
        return out


def call_rng(seed: int, session: str, tool: str, index: int) -> random.Random:
    """The generator for one call: a function of (seed, session, tool, index) only."""
    digest = hashlib.blake2b(f"{seed}\x1f{session}\x1f{tool}\x1f{index}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


class FaultInjector:
    """Draws and applies faults for the rules, seeded; rules are tried in order per tool."""

    def __init__(self, rules: list[FaultRule], *, seed: int = 0, max_wait_s: float = 120.0) -> None:
        self.rules = rules
        self.seed = seed
        self.max_wait_s = max_wait_s
        self._latency = {id(r): r.latency_model for r in rules}
        self._rule_of: dict[str, FaultRule | None] = {}
        self.injected: dict[str, int] = {}

    def rule_for(self, tool: str) -> FaultRule | None:
        if tool not in self._rule_of:
            if len(self._rule_of) > 100_000:
                self._rule_of.clear()
            self._rule_of[tool] = next((r for r in self.rules if r.matches(tool)), None)
        return self._rule_of[tool]

    def draw(self, session: str, tool: str, index: int) -> Fault | None:
        """The fault for the `index`-th call (0-based) of `tool` in `session`, or None."""
        rule = self.rule_for(tool)
        if rule is None:
            return None
        rng = call_rng(self.seed, session, tool, index)
        hit, pick, lat, draw = rng.random(), rng.random(), rng.random(), rng.random()
        kind = _weighted(rule.kinds, pick) if hit < rule.rate else None
        latency = self._latency.get(id(rule))
        delay = latency.sample(rng) if latency is not None and lat < rule.latency_rate else 0.0
        if kind is None and delay == 0.0:
            return None
        if kind is not None:
            self.injected[kind] = self.injected.get(kind, 0) + 1
        return Fault(kind, min(delay, self.max_wait_s), rule, draw)

    async def stand_in(self, fault: Fault, tool: str) -> ToolOutput:
        """The answer of a fault that replaces the tool (error, timeout), after its delay."""
        if fault.kind == "timeout":
            hang = min(fault.rule.timeout_s, self.max_wait_s)
            await anyio.sleep(fault.delay_s + hang)
            return ToolOutput(f"Error: the tool '{tool}' timed out after {hang:g} s without an answer.",
                              is_error=True)
        await anyio.sleep(fault.delay_s)
        errors = fault.rule.errors
        return ToolOutput(errors[min(int(fault.draw * len(errors)), len(errors) - 1)], is_error=True)

    async def corrupt(self, fault: Fault, output: ToolOutput) -> ToolOutput:
        """The tool's answer as the fault delivers it (empty, malformed, oversized), after its delay."""
        await anyio.sleep(fault.delay_s)
        if fault.kind == "empty":
            return ToolOutput("", is_error=output.is_error)
        if fault.kind == "malformed":
            return ToolOutput(malformed(output, fault.draw), is_error=output.is_error)
        if fault.kind == "oversized":
            return oversized(output, fault.rule.oversized_bytes)
        return output


def _weighted(weights: dict[str, float], u: float) -> str:
    total = sum(weights.values())
    running = 0.0
    for kind, weight in weights.items():
        running += weight / total
        if u < running:
            return kind
    return next(k for k, w in reversed(weights.items()) if w > 0)


def malformed(output: ToolOutput, u: float) -> str:
    """The output cut short: JSON that no parser accepts, or text cut mid-way with mangled bytes."""
    text = output.text
    if isinstance(output.value, dict):
        cut = max(1, min(len(text) - 1, int(len(text) * (0.3 + 0.4 * u))))
        broken = text[:cut]
        try:
            json.loads(broken)
        except ValueError:
            return broken
        return text[:-1] + ',"'  # a cut that still parsed (tiny outputs): break it for sure
    cut = int(len(text) * (0.3 + 0.4 * u))
    return text[:cut] + "\ufffd\ufffd<!-- truncated"


def oversized(output: ToolOutput, size: int) -> ToolOutput:
    """The output padded to about `size` bytes: a JSON object gains a large field, text a long tail."""
    seed_text = output.text or "lorem ipsum dolor sit amet"
    filler = (seed_text + " ") * (size // max(1, len(seed_text) + 1) + 1)
    filler = filler[:size]
    if isinstance(output.value, dict) and not output.is_error:
        return ToolOutput({**output.value, "debug_dump": filler})
    return ToolOutput(output.text + "\n" + filler, is_error=output.is_error)
