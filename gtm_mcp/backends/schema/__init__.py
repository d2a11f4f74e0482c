"""The `schema` backend: no model. Deterministic for a seed, instant, always schema-valid, and
consistent within a session (ids handed out come back, arguments are echoed, objects remembered).

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

import hashlib
import json
import random
from functools import lru_cache
from typing import Any

import anyio
import anyio.to_thread

from gtm_mcp.backends.base import BackendError, BackendHealth
from gtm_mcp.backends.schema.generate import BudgetExceeded, Context, generate
from gtm_mcp.backends.schema.infer import CREATE, SEND, infer_output_schema
from gtm_mcp.backends.schema.vocabulary import words
from gtm_mcp.backends.schema.world import World
from gtm_mcp.contract.definition import validator_class_for
from gtm_mcp.contract.records import SimulationRequest

__all__ = ["SchemaBackend", "infer_output_schema"]


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


def _topic(arguments: dict[str, Any], tool_name: str) -> str:
    for value in arguments.values():
        if isinstance(value, str) and 0 < len(value) <= 80:
            return value
    return " ".join(words(tool_name))


class SchemaBackend:
    """Writes outputs straight from the output schema (the tool's, else one inferred)."""

    name = "schema"
    repairable = False

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.calls = 0
        self.offloaded = 0
        self._locks: dict[str, anyio.Lock] = {}  # per session: its world is read and written by each call
        self._cost: dict[int, tuple[Any, bool]] = {}

    @classmethod
    def from_options(cls, options: Any) -> SchemaBackend:
        return cls(seed=options.seed)

    def schema_for(self, request: SimulationRequest) -> dict[str, Any]:
        if request.tool.output_schema is not None:
            return request.tool.output_schema
        cached = request.state.get("inferred", {}).get(request.tool.name)
        if cached is None:
            cached = infer_output_schema(request.tool)
            request.state.setdefault("inferred", {})[request.tool.name] = cached
        return cached

    async def simulate(self, request: SimulationRequest) -> dict[str, Any]:
        async with self._lock_for(request.session_id):
            try:
                if self._expensive(self.schema_for(request)) or _large(request.arguments):
                    self.offloaded += 1
                    return await anyio.to_thread.run_sync(self.simulate_now, request)
                return self.simulate_now(request)
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

    def simulate_now(self, request: SimulationRequest) -> dict[str, Any]:
        """The answer, synchronously (it never waits on anything)."""
        self.calls += 1
        schema = self.schema_for(request)
        canonical = json.dumps(request.arguments, sort_keys=True, default=str)
        digest = hashlib.blake2b(f"{request.seed or self.seed}\x00{request.tool.name}\x00{canonical}".encode(),
                                 digest_size=8).digest()
        rng = random.Random(int.from_bytes(digest, "big"))
        world = World.of(request.state)
        name_words = words(request.tool.name)
        ctx = Context(rng=rng, root=schema, world=world, arguments=request.arguments,
                      topic=_topic(request.arguments, request.tool.name),
                      creates=bool(name_words) and name_words[0] in CREATE | SEND,
                      validator_for=lambda s: _validator(json.dumps(s, sort_keys=True)),
                      facts=facts_of(request.hidden_context, request.tool.name))
        for key, value in request.arguments.items():  # get_x(x_id=...) answers about the remembered x
            remembered = world.entity(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else {}
            if remembered and key.endswith(("id", "Id", "ID")):
                ctx.entity = {**remembered, **ctx.entity}
        value = generate(schema, request.tool.name, ctx)
        if not isinstance(value, dict):
            value = {"result": value}
        world.remember(value, request.arguments)
        return value

    async def health(self) -> BackendHealth:
        return BackendHealth("ok", "schema backend (no model)", {"calls": self.calls, "seed": self.seed})

    async def aclose(self) -> None:
        return None
