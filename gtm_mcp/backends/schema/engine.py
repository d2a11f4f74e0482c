"""One call of the schema backend, start to end: the session world, the plan of the tool, the
operation carried out (or refused), the answer in text or JSON, then what the world keeps of it."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any

from gtm_mcp.backends.schema import text as texts
from gtm_mcp.backends.schema import vocabulary as vocab
from gtm_mcp.backends.schema.generate import Context, generate
from gtm_mcp.backends.schema.infer import CREATE, SEND, infer_output_schema
from gtm_mcp.backends.schema.meaning import ECHOED_KINDS, Scene, hexdigest, moment_of, value_for, zone_name, zones_of
from gtm_mcp.backends.schema.operate import Effect, Operator, Refusal
from gtm_mcp.backends.schema.plan import Plan, make_plan
from gtm_mcp.backends.schema.rules import Rules, fill, snake
from gtm_mcp.backends.schema.world import Thing, World, looks_like_path, normalise_key
from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.contract.records import SimulationRequest, ToolOutput

#: Nouns whose things have content (an unknown one read in an open world gets some, once).
FILE_NOUNS = {"file", "document", "doc", "note", "page", "script", "readme", "config", "sheet", "report"}
CHANGES = ("create", "write", "update", "delete", "move", "copy", "send")


class Plans:
    """Plans (and inferred output schemas) per tool definition object."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self._plans: dict[int, tuple[ToolDefinition, Plan]] = {}
        self._inferred: dict[int, tuple[ToolDefinition, dict[str, Any]]] = {}

    def plan(self, tool: ToolDefinition) -> Plan:
        return self._cached(self._plans, tool, lambda: make_plan(tool, self.rules))

    def inferred(self, tool: ToolDefinition) -> dict[str, Any]:
        return self._cached(self._inferred, tool, lambda: infer_output_schema(tool))

    @staticmethod
    def _cached(cache: dict[int, Any], tool: ToolDefinition, make: Any) -> Any:
        hit = cache.get(id(tool))
        if hit is not None and hit[0] is tool:
            return hit[1]
        value = make()
        if len(cache) > 8192:
            cache.clear()
        cache[id(tool)] = (tool, value)
        return value


@dataclass
class Call:
    """Everything one call's answer is written from."""

    tool: ToolDefinition
    arguments: dict[str, Any]
    plan: Plan
    effect: Effect
    scene: Scene
    world: World
    rules: Rules
    plans: Plans
    rng: random.Random
    seed: int
    validator_for: Any
    facts: dict[str, Any]

    @property
    def op(self) -> str:
        return self.effect.op or self.plan.op


def topic_of(arguments: dict[str, Any], tool_name: str) -> str:
    for value in arguments.values():
        if isinstance(value, str) and 0 < len(value) <= 80:
            return value
    return " ".join(vocab.words(tool_name))


def refusal(rules: Rules, kind: str, value: Any) -> ToolOutput:
    text = rules.error_text(kind, "")
    return ToolOutput(fill(text, value=value, key=value), is_error=True)


def answer(request: SimulationRequest, *, seed: int, rules: Rules, plans: Plans, validator_for: Any,
           facts: dict[str, Any]) -> ToolOutput | dict[str, Any]:
    """The tool's answer to one call (text, JSON, or a refusal); the session world follows it."""
    tool, arguments = request.tool, request.arguments
    seed = request.seed or seed
    world = World.of(request.state, request.world, seed=seed, rules=rules)
    canonical = json.dumps(arguments, sort_keys=True, default=str)
    digest = hashlib.blake2b(f"{seed}\x00{tool.name}\x00{canonical}\x00{world.data['n']}".encode(),
                             digest_size=8).digest()
    rng = random.Random(int.from_bytes(digest, "big"))
    world.tick(rng)
    plan = plans.plan(tool)
    # Values no world accepts: an unknown time zone, a time of day that is not one.
    zones, unknown_zone = zones_of(arguments, rules)
    if unknown_zone is not None:
        return refusal(rules, "invalid_timezone", unknown_zone)
    tz = zones.get("") or next(iter(zones.values()), None) or zone_name(world.tz)
    at, problem = moment_of(arguments, rules, world.now, zones.get("source") or zones.get("from") or tz)
    if problem is not None:
        return refusal(rules, problem, "")
    try:
        effect = Operator(plan, arguments, world, rules, rng).run()
    except Refusal as refused:
        return ToolOutput(str(refused), is_error=True)
    op = effect.op or plan.op
    wrapped = plan.wrapper is not None and op not in ("other", "clock")  # echo(text) stays an echo
    as_text = request.output_schema is None or wrapped
    if effect.pending is not None and as_text:
        effect.key = new_key(plan, world, rules, rng, seed)  # a text answer names the created thing
    batch = effect.listing or bool(plan.items or plan.keys)
    scene = Scene(rules=rules, op=op, verb=plan.verb, noun=plan.noun, now=world.now, at=at, tz=tz, zones=zones,
                  key=effect.key, thing=effect.thing, seed=seed,
                  count=len(effect.entries) if effect.entries is not None else (len(effect.things) if batch else None))
    scene.message = texts.confirmation(plan, effect, rules, effect.key) if effect.key and op in CHANGES \
        else texts.message(plan, effect, rules)
    for name, value in arguments.items():
        kinds = rules.kinds_of(name)
        if isinstance(value, str) and kinds and kinds[0] in ECHOED_KINDS:
            scene.echo.setdefault(kinds[0], value)
    call = Call(tool, arguments, plan, effect, scene, world, rules, plans, rng, seed, validator_for, facts)
    if as_text:
        body = texts.cap(text_answer(call))
        if effect.pending is not None:
            world.put(effect.key or new_key(plan, world, rules, rng, seed), effect.pending, plan.noun)
        if request.output_schema is None:
            return ToolOutput(body)
        return {plan.wrapper or "content": body}
    schema = tool.output_schema if tool.output_schema is not None else plans.inferred(tool)
    value = json_answer(call, schema)
    settle(call, value)
    return value


def new_key(plan: Plan, world: World, rules: Rules, rng: random.Random, seed: int) -> str:
    """The key of a thing created without one: a hash for hash-named things (commits), else an id
    such as `ord_1a2b3c4d`."""
    if "sha1" in rules.kinds_of(plan.noun):
        return hexdigest("sha1", seed, plan.noun, world.data["n"], world.data["clock"], rng.random())
    return str(world.fresh_id(f"{plan.noun}_id", rng))


# -- JSON answers ------------------------------------------------------------------------------------


def json_answer(call: Call, schema: dict[str, Any]) -> dict[str, Any]:
    effect, world = call.effect, call.world
    name_words = vocab.words(call.tool.name)
    batch_args = {call.plan.items, call.plan.keys} - {None}
    arguments = {k: v for k, v in call.arguments.items() if k not in batch_args} if batch_args else call.arguments
    ctx = Context(rng=call.rng, root=schema, world=world, arguments=arguments,
                  topic=topic_of(call.arguments, call.tool.name),
                  creates=bool(name_words) and name_words[0] in CREATE | SEND, validator_for=call.validator_for,
                  facts=call.facts, scene=call.scene, rules=call.rules, tz=call.scene.tz, closed=world.closed,
                  listing=effect.listing, by_snake={snake(k): k for k in call.arguments})
    ctx.pool = [{**t["fields"], "__key__": k} for k, t in effect.things]
    if effect.thing is not None and not effect.things:
        ctx.pool = [{**effect.thing["fields"], "__key__": effect.key}]
    if call.op in ("list", "search", "read") and world.things:
        keys = {k for k, _ in effect.things} | ({effect.key} if effect.key else set())
        everything = call.op == "list" and effect.entries is None

        def related() -> list[dict[str, Any]]:  # asked for only when an array needs other things
            return [t["fields"] for k, t in world.things.items() if k not in keys and
                    (everything or any(v in keys for v in t["fields"].values() if isinstance(v, str)))][:200]

        ctx.related = related
    if call.plan.item_ref or not call.plan.items:  # a batch of new things shows only the ones made
        ctx.mirrors = [[item for item in value[:200] if isinstance(item, dict)] for value in call.arguments.values()
                       if isinstance(value, list) and value and isinstance(value[0], dict)]
    ctx.batch = bool(call.plan.items or call.plan.keys) and not effect.listing
    if effect.thing is not None:
        ctx.entity = dict(effect.thing["fields"])
    for key, value in call.arguments.items():  # get_x(x_id=...) answers about the remembered x
        if key.endswith(("id", "Id", "ID")) and isinstance(value, str | int) and not isinstance(value, bool):
            remembered = world.read(value)
            if remembered:
                ctx.entity = {**remembered, **ctx.entity}
    value = generate(schema, call.tool.name, ctx)
    return value if isinstance(value, dict) else {"result": value}


def _hands_out(name: str, value: Any, rules: Rules) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and \
        (vocab.is_id_field(name) or "sha1" in rules.kinds_of(name)[:1])


def _names_noun(name: str, noun: str) -> bool:
    return vocab.id_prefix(name) in (vocab.id_prefix(noun), "id") or snake(name) in ("id", "uuid", "sha", "hash")


def settle(call: Call, value: dict[str, Any]) -> None:
    """What the world keeps of a JSON answer: a created thing under the id the answer handed out,
    the fields of a thing made up now, ids and hashes as aliases, and things listed in passing."""
    effect, world, plan = call.effect, call.world, call.plan
    scalars = {k: v for k, v in value.items() if isinstance(v, str | int | float | bool) or v is None}
    ids = [(k, v) for k, v in scalars.items() if _hands_out(k, v, call.rules)]
    if effect.pending is not None:
        given = list(effect.pending.values())
        fresh = [(k, v) for k, v in ids if v not in given]
        key = normalise_key(fresh[0][1]) if fresh else new_key(plan, world, call.rules, call.rng, call.seed)
        world.put(key, {**scalars, **effect.pending}, plan.noun)
        for _, v in fresh[1:]:
            world.alias(v, key)
        effect.key = key
    elif effect.key is not None and (thing := world.get(effect.key)) is not None:
        if effect.invented or call.op in ("create", "write", "send"):
            world.change(effect.key, {k: v for k, v in scalars.items() if k not in thing["fields"]})
        if call.op in ("create", "write", "send", "update", "read"):
            for k, v in ids:
                if normalise_key(v) != effect.key and _names_noun(k, plan.noun):
                    world.alias(v, effect.key)
    _remember(value, call, top=True)


def _remember(value: Any, call: Call, top: bool = False, depth: int = 0) -> None:
    """Ids in an answer are remembered (later answers reuse them); in an open world, objects that
    carry an id become things, so that a later read of that id returns what this answer said."""
    if depth > 6:
        return
    world = call.world
    if isinstance(value, dict):
        for key, item in value.items():
            if vocab.is_id_field(key) and isinstance(item, str | int) and not isinstance(item, bool):
                world.remember_id(key, item)
                if not top and not world.closed and world.resolve(item) is None:
                    fields = {k: v for k, v in value.items() if isinstance(v, str | int | float | bool)}
                    kind = call.plan.noun if call.effect.listing else vocab.id_prefix(key)
                    world.put(normalise_key(item), fields, kind)
        for item in value.values():
            if isinstance(item, dict | list):
                _remember(item, call, depth=depth + 1)
    elif isinstance(value, list):
        for item in value[:50]:
            _remember(item, call, depth=depth + 1)


# -- text answers ------------------------------------------------------------------------------------


def text_answer(call: Call) -> str:
    plan, effect, world = call.plan, call.effect, call.world
    op = call.op
    if op == "read" and effect.things and (plan.keys or len(effect.things) > 1):
        blocks = []
        for key, thing in effect.things:
            _invent_content(call, key, thing)
            body = texts.read_text(key, world.get(key) or thing, plan, call.scene, call.arguments)
            blocks.append(f"{key}:\n{body}\n")
        for key in effect.skipped:
            refused = call.rules.error_text("not_found", f"{plan.noun} {'path' if looks_like_path(key) else ''}")
            blocks.append(f"{key}: Error - " + fill(refused, key=key, noun=plan.noun, Noun=plan.noun.title(),
                                                    syscall="open"))
        return "\n---\n".join(blocks)
    if op == "read" and effect.key is not None and effect.thing is not None:
        key = effect.key
        if effect.invented:
            if looks_like_path(key) or plan.noun in FILE_NOUNS:
                _invent_content(call, key, effect.thing)
            else:
                made = json_answer(call, call.plans.inferred(call.tool))
                world.change(key, {k: v for k, v in made.items() if k not in effect.thing["fields"]
                                   and not isinstance(v, dict | list)})
        thing = world.get(key) or effect.thing
        directory = None
        if thing.get("dir"):
            directory = Operator(plan, {}, world, call.rules, call.rng)._directory(key).entries
        return texts.read_text(key, thing, plan, call.scene, call.arguments, directory)
    if op in ("list", "search", "count"):
        return _listing_text(call)
    if op == "update" and effect.diff is not None:
        return effect.diff
    if op in CHANGES:
        return texts.confirmation(plan, effect, call.rules, effect.key)
    if op == "clock":
        return _clock_text(call.scene)
    made = json_answer(call, call.plans.inferred(call.tool))
    shown = {k: v for k, v in made.items() if not vocab.is_id_field(k) and k not in ("name", "description")}
    return "\n".join([texts.heading(call.tool), *texts.lines(shown)])


def _invent_content(call: Call, key: str, thing: Thing) -> None:
    if "content" not in thing["fields"] and not thing.get("dir") and not call.world.closed:
        call.world.change(key, {"content": texts.invent_content(key, call.plan.noun, call.rng)})


def _listing_text(call: Call) -> str:
    plan, effect, world, rules = call.plan, call.effect, call.world, call.rules
    if effect.entries is not None and call.op == "list":
        sizes = None
        if "size" in vocab.words(call.tool.name) or "sizes" in vocab.words(call.tool.name):
            sizes = {}
            for name, _is_dir in effect.entries:
                thing = world.get(f"{effect.key.rstrip('/')}/{name}" if effect.key else name)
                content = thing["fields"].get("content") if thing else None
                sizes[name] = len(content.encode("utf-8")) if isinstance(content, str) else 0
        return texts.listing_text(effect.entries, sizes)
    things = effect.things
    if effect.invent_list and not things:
        things = _invent_things(call)
    if call.op == "count":
        return str(len(things))
    if not things:
        template = rules.texts.get("empty_search" if call.op == "search" else "empty_list") or "No results"
        return fill(template, nouns=plan.displays, noun=plan.display, Nouns=plan.displays.title(),
                    Noun=plan.display.title())
    return "\n".join(texts.entry(k, t) for k, t in things)


def _invent_things(call: Call) -> list[tuple[str, Thing]]:
    """A few plausible things for a listing in an open world that knows none of that kind (kept)."""
    plan, world, rng = call.plan, call.world, call.rng
    query = call.arguments.get(plan.query) if plan.query else None
    out = []
    for _ in range(rng.randint(2, 3)):
        name = f"{rng.choice(vocab.WORDS).title()} {rng.choice(vocab.WORDS).title()}"
        if isinstance(query, str) and query and not set("*?[") & set(query):
            name = f"{query} {rng.choice(vocab.WORDS)}"
        key = str(world.fresh_id(f"{plan.noun}_id", rng))
        out.append((key, world.put(key, {f"{plan.noun}_id": key, "name": name}, plan.noun)))
    return out


def _clock_text(scene: Scene) -> str:
    blocks = []
    for tz in dict.fromkeys(scene.zones.values() or [scene.tz]):
        fields = {}
        for kind, name, kind_type in (("timezone", "timezone", "string"), ("datetime", "datetime", "string"),
                                      ("weekday", "day_of_week", "string"), ("is_dst", "is_dst", "boolean")):
            _, fields[name] = value_for(scene, kind, name, kind_type, tz, random.Random(0))
        blocks.append("\n".join(texts.lines(fields)))
    return "\n\n".join(blocks)
