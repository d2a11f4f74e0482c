"""The `schema` backend: no model. Deterministic for a seed, instant, always schema-valid, and
answering from a session world that follows what the calls did.

The world (`world.py`) holds the things calls created, wrote, moved or deleted, keyed by the
arguments that identified them (paths, names, ids, titles, emails, URLs) and by the ids and hashes
handed out for them. Reads, lists, searches and counts answer from it; a thing nobody created is
made up once and then kept (an open world), or refused as not found in the tool's own terms when
the session declared its initial world (a closed world: `_meta["gtm-mcp/world"]`, `--world FILE`,
or the admin API). Field values mean what their names say (`meaning.py`), from one session clock
that moves forward. Which verb does what and which names mean what is data: `rules.yaml`, merged
with `--world-rules FILE` (`rules.py`). A tool without an output schema answers in text (`text.py`)
unless the server asks for JSON (`--invent-json`).

Work is bounded whatever the schema: one output takes at most `generate.MAX_NODES` values and
`MAX_CHARS` characters (a recursive or huge schema gets a clear error, never a frozen server), and
schemas that could take more than a moment (large, recursive, big minimums) are generated in a
worker thread so the event loop keeps serving other sessions. Calls of one session are serialised
(its world is read and written by each), calls of different sessions never wait for each other.

A hidden context that is a JSON object (one per line: the session's, then the call's) pins output
fields of the same name wherever they fit the schema, e.g. an RL episode's ground truth
`{"temperature": -3}`; `{"get_weather": {...}}` pins fields for that tool only.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import anyio
import anyio.to_thread

from gtm_mcp.backends.base import BackendError, BackendHealth
from gtm_mcp.backends.schema.engine import Plans, answer
from gtm_mcp.backends.schema.generate import BudgetExceeded
from gtm_mcp.backends.schema.infer import infer_output_schema
from gtm_mcp.backends.schema.resources import resource_answer
from gtm_mcp.backends.schema.rules import Rules, RulesError, load_rules
from gtm_mcp.backends.schema.world import World
from gtm_mcp.contract.definition import validator_class_for
from gtm_mcp.contract.records import SimulationRequest, ToolOutput

__all__ = ["Rules", "RulesError", "SchemaBackend", "World", "infer_output_schema", "load_rules"]


@lru_cache(maxsize=4096)
def _validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    cls = validator_class_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def facts_of(hidden_context: str | None, tool_name: str) -> dict[str, Any]:
    """Fields a hidden context pins: each line (session context, then the call's) that is a JSON
    object contributes its fields, or only the object under the tool's name when it has that key."""
    facts: dict[str, Any] = {}
    text = hidden_context or ""
    for part in [text] if _is_json_object(text) else text.split("\n"):
        try:
            value = json.loads(part)
        except ValueError:
            continue
        if isinstance(value, dict):
            scoped = value.get(tool_name)
            facts.update(scoped if isinstance(scoped, dict) else value)
    return facts


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _big_minimum(node: Any) -> bool:
    if isinstance(node, dict):
        for key in ("minItems", "minLength", "minProperties"):
            value = node.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 64:
                return True
        return any(_big_minimum(v) for v in node.values())
    if isinstance(node, list):
        return any(_big_minimum(v) for v in node)
    return False


def _large(arguments: dict[str, Any]) -> bool:
    """Arguments whose size makes echoing and remembering them take more than a moment."""
    return len(arguments) > 64 or any(isinstance(v, (str, list, dict)) and len(v) > 4096 for v in arguments.values())


class SchemaBackend:
    """Writes outputs straight from the output schema (the tool's, else one inferred)."""

    name = "schema"
    repairable = False

    def __init__(self, seed: int = 0, rules: Rules | None = None) -> None:
        self.seed = seed
        self.rules = rules or load_rules()
        self.plans = Plans(self.rules)
        self.calls = 0
        self.offloaded = 0
        self._locks: dict[str, anyio.Lock] = {}  # per session: its world is read and written by each call
        self._cost: dict[int, tuple[Any, bool]] = {}
        self._validators: dict[int, tuple[Any, Any]] = {}

    @classmethod
    def from_options(cls, options: Any) -> SchemaBackend:
        return cls(seed=options.seed, rules=load_rules(getattr(options, "world_rules", None)))

    def schema_for(self, request: SimulationRequest) -> dict[str, Any] | None:
        """The schema of a JSON answer: the tool's, else one inferred from its name (when the
        server asks for JSON); None for a text answer."""
        if request.tool.output_schema is not None:
            return request.tool.output_schema
        if request.output_schema is None:
            return None
        return self.plans.inferred(request.tool)

    async def simulate(self, request: SimulationRequest) -> ToolOutput | dict[str, Any]:
        async with self._lock_for(request.session_id):
            try:
                # A resources/read (request.resource set) gets content of its MIME type.
                write = resource_answer if request.resource is not None else SchemaBackend.simulate_now
                schema = self.schema_for(request)
                if (schema is not None and self._expensive(schema)) or _large(request.arguments):
                    self.offloaded += 1
                    return await anyio.to_thread.run_sync(write, self, request)
                return write(self, request)
            except (BudgetExceeded, RecursionError) as e:
                message = str(e) if isinstance(e, BudgetExceeded) else "the output schema nests too deeply to write"
                raise BackendError(message) from None

    def _lock_for(self, session_id: str) -> anyio.Lock:
        lock = self._locks.get(session_id)
        if lock is None:
            if len(self._locks) >= 4096:  # forget idle sessions' locks (never one that is held)
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            lock = self._locks[session_id] = anyio.Lock()
        return lock

    def _expensive(self, schema: dict[str, Any]) -> bool:
        """Whether generating for `schema` may take more than a moment (cached per schema object)."""
        cached = self._cost.get(id(schema))
        if cached is not None and cached[0] is schema:
            return cached[1]
        text = json.dumps(schema, default=str)
        costly = len(text) > 8192 or '"$ref"' in text or '"allOf"' in text or _big_minimum(schema)
        if len(self._cost) > 4096:
            self._cost.clear()
        self._cost[id(schema)] = (schema, costly)
        return costly

    def simulate_now(self, request: SimulationRequest) -> ToolOutput | dict[str, Any]:
        """The answer, synchronously (it never waits on anything): a JSON object, a text, or a
        refusal (`ToolOutput(..., is_error=True)`) in the tool's own words."""
        self.calls += 1
        return answer(request, seed=self.seed, rules=self.rules, plans=self.plans, validator_for=self._validator_for,
                      facts=facts_of(request.hidden_context, request.tool.name))

    def _validator_for(self, schema: dict[str, Any]) -> Any:
        """A validator for a (sub)schema, cached per schema object (tool schemas live as long as
        their tool), else by its JSON."""
        hit = self._validators.get(id(schema))
        if hit is not None and hit[0] is schema:
            return hit[1]
        validator = _validator(json.dumps(schema, sort_keys=True))
        if len(self._validators) > 8192:
            self._validators.clear()
        self._validators[id(schema)] = (schema, validator)
        return validator

    async def health(self) -> BackendHealth:
        return BackendHealth("ok", "schema backend (no model)", {"calls": self.calls, "seed": self.seed})

    async def aclose(self) -> None:
        return None
