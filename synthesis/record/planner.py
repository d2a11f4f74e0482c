"""Planning episodes over a real server's tools, one call at a time (each call sees what the earlier
ones returned), without a model:

- `flow`: a walk in which later calls reuse values earlier calls returned or used (paths, ids, names,
  revisions), creating things early and deleting them late;
- `crud`: create -> read -> update -> read -> delete -> read over tools that share what they refer to;
- `refusal`: valid calls, then calls about things that do not exist (or the config's
  `refusal_values`): what the real tool refuses;
- `bad_arguments`: valid calls, then calls broken in one of the four ways (`synthesis.errorgen`),
  made from valid arguments; what the real server does with them (refuse, coerce, ignore) is
  what gets recorded.

Values come, in order of preference, from the config (`tool_values`, then `values`), from what the
episode has seen so far (keys matched by `key_of`: `entityNames`, `names` and `name` share values),
then from the tool's schema (`synthesis.values`)."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gtm_mcp.contract import ToolDefinition
from synthesis.argcheck import argument_problems
from synthesis.errorgen import KINDS as BAD_KINDS
from synthesis.errorgen import bad_call
from synthesis.flow import as_json, leaves
from synthesis.record.config import ServerSpec, expand
from synthesis.values import sample_arguments

VERBS = {
    "create": {"create", "add", "insert", "write", "new", "make", "post", "register", "book", "upload", "append",
               "init", "save", "put", "send", "store"},
    "read": {"get", "read", "list", "search", "find", "show", "describe", "open", "fetch", "query", "view",
             "status", "log", "diff", "info", "directory", "tree", "lookup", "check", "calculate", "convert"},
    "update": {"update", "edit", "modify", "move", "rename", "patch", "change", "checkout", "commit", "reset",
               "set", "toggle", "exchange", "return", "replace"},
    "delete": {"delete", "remove", "drop", "cancel", "destroy", "clear", "purge"},
}
SYNONYMS = {"entityname": "name", "from": "name", "to": "name", "source": "path", "destination": "path",
            "file": "path", "filepath": "path", "directory": "path", "dir": "path", "filename": "path",
            "revision": "rev", "target": "rev", "commit": "rev", "hash": "rev", "sha": "rev",
            "branchname": "branch", "basebranch": "branch", "tablename": "table"}
_PATH = re.compile(r"(?<![\w/])/(?:[\w.@+-]+/)*[\w.@+-]+")
_HEX = re.compile(r"\b[0-9a-f]{7,40}\b")


def words(name: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def verb_of(tool: ToolDefinition) -> str:
    for word in words(tool.name):
        for verb, known in VERBS.items():
            if word in known:
                return verb
    return "read"


def key_of(key: str, aliases: dict[str, str] | None = None) -> str:
    """The key values are shared under: `entityNames`, `names`, `name` -> `name`; `order_id` -> `order`."""
    if aliases and key in aliases:
        return aliases[key]
    k = re.sub(r"[^a-z0-9]", "", key.lower())
    for suffix in ("ids", "id"):
        if k.endswith(suffix) and len(k) > len(suffix):
            k = k[: -len(suffix)]
            break
    if k.endswith("s") and len(k) > 3 and not k.endswith("ss"):
        k = k[:-1]
    return SYNONYMS.get(k, k)


@dataclass(frozen=True)
class PlannedCall:
    tool: str
    arguments: dict[str, Any]
    intent: str  # valid | refusal | bad:<kind> | gold | probe:<what>


@dataclass
class Pool:
    """Values an episode has seen, by shared key, newest last."""

    aliases: dict[str, str] = field(default_factory=dict)
    values: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, key: str, value: Any) -> None:
        if isinstance(value, bool) or value is None or (isinstance(value, str) and not 0 < len(value) <= 300):
            return
        bucket = self.values.setdefault(key_of(key, self.aliases), [])
        if value in bucket:
            bucket.remove(value)
        bucket.append(value)
        del bucket[:-30]

    def observe(self, arguments: dict[str, Any], output: Any) -> None:
        for key, value in leaves(arguments):
            self.add(key, value)
        parsed = as_json(output)
        if isinstance(parsed, str):
            for path in _PATH.findall(parsed):
                self.add("path", path)
            for rev in _HEX.findall(parsed):
                self.add("rev", rev)
        else:
            self._walk(parsed, "", ())

    def _walk(self, value: Any, key: str, parents: tuple[str, ...]) -> None:
        """Leaves under their key; an `id` also under its two enclosing keys (`payment_methods.<id>.id`)."""
        if isinstance(value, dict):
            for k, v in value.items():
                self._walk(v, str(k), (*parents[-1:], key))
        elif isinstance(value, list):
            for v in value:
                self._walk(v, key, parents)
        elif value is not None:
            self.add(key, value)
            if key.lower() == "id":
                for parent in parents:
                    if parent:
                        self.add(parent, value)
            if isinstance(value, str) and _PATH.fullmatch(value):
                self.add("path", value)

    def get(self, key: str) -> list[Any]:
        return self.values.get(key_of(key, self.aliases), [])


class GenericPlanner:
    """Plans one episode of `kind` over `tools`; call `next_call(last_output)` until it returns None."""

    def __init__(self, spec: ServerSpec, tools: Sequence[ToolDefinition], kind: str, rng: random.Random, *,
                 world: str, root: Path, theme: dict[str, Any] | None = None, pool: Pool | None = None) -> None:
        self.spec, self.tools, self.kind, self.rng = spec, list(tools), kind, rng
        self.world, self.root, self.theme = world, root, theme or {}
        self.by_name = {t.name: t for t in self.tools}
        self.pool = pool or Pool(dict(spec.aliases))
        self.length = rng.randint(*spec.calls)
        self.steps: list[PlannedCall] = []
        self.script = self._script()

    # -- values ------------------------------------------------------------------------------

    def _expand(self, value: Any) -> Any:
        return expand(value, world=self.world, root=self.root, theme=self.theme, rng=self.rng)

    def _hinted(self, tool: str, param: str) -> list[Any]:
        return self.spec.tool_values.get(tool, {}).get(param) or self.spec.values.get(param) or []

    def _pick(self, tool: str) -> Any:
        def pick(param: str, schema: dict[str, Any]) -> tuple[bool, Any]:
            specific = self.spec.tool_values.get(tool, {}).get(param)
            if specific:
                return True, self._expand(self.rng.choice(specific))
            seen = self.pool.get(param)
            hinted = self.spec.values.get(param)
            # ids and paths flow; values the config lists (time zones, messages) mostly vary
            if seen and self.rng.random() < (0.25 if hinted else 0.6):
                value = self.rng.choice(seen[-5:])
                if schema.get("type") == "array" and not isinstance(value, list):
                    value = [value]
                return True, value
            if hinted:
                return True, self._expand(self.rng.choice(hinted))
            return False, None
        return pick

    def _flow_nested(self, value: Any, depth: int = 0) -> Any:
        """Inside objects and lists of objects, string fields whose key the pool knows take a seen value."""
        if depth > 6:
            return value
        if isinstance(value, list):
            return [self._flow_nested(v, depth + 1) for v in value]
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                seen = self.pool.get(key)
                if isinstance(item, str) and seen and self.rng.random() < 0.7:
                    choice = self.rng.choice(seen[-5:])
                    out[key] = choice if isinstance(choice, str) else item
                elif isinstance(item, list) and item and all(isinstance(x, str) for x in item) and seen \
                        and self.rng.random() < 0.7:
                    strings = [x for x in seen[-5:] if isinstance(x, str)]
                    out[key] = [self.rng.choice(strings)] if strings else item
                else:
                    out[key] = self._flow_nested(item, depth + 1)
            return out
        return value

    def arguments(self, tool: ToolDefinition) -> dict[str, Any] | None:
        args = sample_arguments(tool, self.rng, pick=self._pick(tool.name), optional_share=0.4)
        if args is None:
            return None
        hinted = set(self.spec.tool_values.get(tool.name, {})) | set(self.spec.values)
        flowed = {k: self._flow_nested(v) if isinstance(v, (dict, list)) and k not in hinted else v
                  for k, v in args.items()}
        if flowed != args and not argument_problems(tool, flowed):
            return flowed
        return args

    def refusal_arguments(self, tool: ToolDefinition) -> dict[str, Any] | None:
        """Valid arguments naming something that is not there (or a configured refused value)."""
        args = self.arguments(tool)
        if args is None:
            return None
        keys = [k for k in args if k in self.spec.refusal_values]
        if keys:
            key = self.rng.choice(keys)
            return {**args, key: self._expand(self.rng.choice(self.spec.refusal_values[key]))}
        strings = [k for k, v in args.items() if isinstance(v, str)]
        if not strings:
            return None
        key = self.rng.choice(strings)
        value = args[key]
        missing = f"missing-{self.rng.randint(1000, 9999)}"
        if "/" in value:
            head, _, tail = value.rpartition("/")
            altered = f"{head}/{missing}-{tail}"
        else:
            altered = f"{value}-{missing}" if value else missing
        return {**args, key: altered}

    # -- choosing tools -----------------------------------------------------------------------

    def _weighted(self, candidates: Sequence[ToolDefinition], position: int) -> ToolDefinition:
        weights = []
        for tool in candidates:
            props = tool.input_schema.get("properties") or {}
            w = 1.0 + 2.0 * sum(bool(self.pool.get(p)) for p in props)
            required = [r for r in tool.input_schema.get("required") or [] if r in props]
            if required:  # a tool whose required values can be known is called more than one that needs guesses
                known = sum(bool(self.pool.get(r) or self._hinted(tool.name, r)
                                 or (isinstance(props[r], dict) and props[r].get("enum"))) for r in required)
                w *= 0.2 + 1.6 * known / len(required)
            verb = verb_of(tool)
            phase = position / max(1, self.length - 1)
            if verb == "create":
                w *= 2.5 if phase < 0.5 else 0.7
            elif verb == "delete":
                w *= 2.0 if phase > 0.6 else 0.3
            if self.steps and self.steps[-1].tool == tool.name:
                w *= 0.3
            weights.append(w)
        return self.rng.choices(list(candidates), weights=weights)[0]

    def _script(self) -> list[str]:
        """For `crud`: the verbs in order, on tools sharing what they refer to."""
        if self.kind != "crud":
            return []
        creators = [t for t in self.tools if verb_of(t) == "create"]
        if not creators:
            self.kind = "flow"
            return []
        return ["create", "read", "update", "read", "delete", "read"][: max(3, self.length)]

    def _related(self, verb: str) -> list[ToolDefinition]:
        anchor = self.by_name[self.steps[0].tool] if self.steps else None
        params = (anchor.input_schema.get("properties") or {}) if anchor else {}
        keys = {key_of(k, self.spec.aliases) for k in params}
        same_verb = [t for t in self.tools if verb_of(t) == verb]
        related = [t for t in same_verb if keys & {key_of(k, self.spec.aliases)
                                                   for k in (t.input_schema.get("properties") or {})}]
        return related or same_verb or self.tools

    # -- the plan ----------------------------------------------------------------------------

    def observe(self, call: PlannedCall, output: Any, is_error: bool = False) -> None:
        """What a call used and returned joins the pool, unless it failed (an error names paths and
        values that do not exist) or was not a valid call."""
        if is_error:
            return
        self.pool.observe(call.arguments if call.intent in ("valid", "gold", "context") else {}, output)

    def next_call(self) -> PlannedCall | None:
        position = len(self.steps)
        if position >= self.length:
            return None
        planned = None
        for _ in range(6):  # a tool whose arguments cannot be made is skipped
            planned = self._plan(position)
            if planned is not None:
                break
        if planned is not None:
            self.steps.append(planned)
        return planned

    def _plan(self, position: int) -> PlannedCall | None:
        kind = self.kind
        last_stretch = position >= self.length - max(1, self.length // 3)
        if position == 0 and self.spec.start_tools:
            starters = [t for t in self.tools if t.name in self.spec.start_tools]
            tool = self.rng.choice(starters) if starters else self._weighted(self.tools, position)
        elif kind == "crud" and position < len(self.script):
            candidates = [t for t in self.tools if verb_of(t) == "create"] if position == 0 else \
                self._related(self.script[position])
            tool = self._weighted(candidates, position)
        else:
            tool = self._weighted(self.tools, position)
        if kind == "refusal" and last_stretch:
            args = self.refusal_arguments(tool)
            return PlannedCall(tool.name, args, "refusal") if args is not None else None
        if kind == "bad_arguments" and last_stretch:
            valid = self.arguments(tool)
            if valid is None:
                return None
            order = list(BAD_KINDS)
            self.rng.shuffle(order)
            careless = tool.model_copy(update={"check_profile": None})  # what a strict API would refuse:
            for bad_kind in order:  # the real server decides what it does with it
                bad = bad_call(bad_kind, careless, valid, self.rng)
                if bad is not None:
                    return PlannedCall(tool.name, bad.arguments, f"bad:{bad_kind}")
            return None
        args = self.arguments(tool)
        return PlannedCall(tool.name, args, "valid") if args is not None else None
