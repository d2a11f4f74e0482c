"""Generating a JSON value that satisfies a JSON Schema, guided by field names and a session world."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from gtm_mcp.backends.schema import vocabulary as vocab
from gtm_mcp.backends.schema.meaning import Scene, parse_moment, status_for, value_for, zone
from gtm_mcp.backends.schema.regex import string_matching
from gtm_mcp.backends.schema.rules import Rules, snake
from gtm_mcp.backends.schema.world import World

MAX_DEPTH = 24  # recursive $refs stop here
MAX_LISTED = 100  # things one array of an answer shows at most
DEEP = 10  # below this depth, lists hold only their minimum number of items
#: Work one output may take, whatever the schema asks: values generated, and characters written.
MAX_NODES = 20_000
MAX_CHARS = 512 * 1024
#: From this depth on, or once half the node budget is spent, objects get only their required
#: properties: a schema whose optional properties recurse cannot fan out exponentially.
OPTIONAL_DEPTH = 6
#: Kinds whose value follows from the call and the world even when a remembered entity has a field
#: of that name (a size after an edit, a weekday of the date asked for, a boolean of this outcome).
DERIVED = {"weekday", "utc_offset", "is_dst", "time_difference", "timezone", "modified_time", "accessed_time",
           "size", "length", "line_count", "word_count", "count", "success", "failure", "deleted", "created",
           "updated", "exists", "is_dir", "is_file"}


class BudgetExceeded(ValueError):
    """The schema asks for more than one output may hold (huge minItems/minLength, deep recursion)."""


@dataclass
class Context:
    rng: random.Random
    root: dict[str, Any]
    world: World
    arguments: dict[str, Any]
    topic: str
    creates: bool  # the tool creates things: hand out fresh ids
    validator_for: Any  # callable(schema) -> jsonschema validator (for echo checks)
    entity: dict[str, Any] = field(default_factory=dict)  # fields of the entity an argument refers to
    facts: dict[str, Any] = field(default_factory=dict)  # fields pinned by a JSON hidden context
    nodes: int = 0  # values generated so far (budget: MAX_NODES)
    chars: int = 0  # characters of strings written so far (budget: MAX_CHARS)
    scene: Scene | None = None  # what the call is about (clock, time zones, outcome, the thing)
    rules: Rules | None = None
    tz: str = "UTC"  # the time zone of the object being written
    pool: list[dict[str, Any]] = field(default_factory=list)  # fields of the things the answer is about
    related: Any = None  # () -> fields of other things arrays may show (made when first needed)
    listing: bool = False  # the answer lists `pool` (its first array shows exactly those things)
    closed: bool = False  # a closed world: no invented things in lists
    mirrors: list[list[dict[str, Any]]] = field(default_factory=list)  # argument arrays of objects
    listed: bool = False  # the listing was placed in an array already
    batch: bool = False  # the call acted on an array of things: arrays show those, and no others
    by_snake: dict[str, str] = field(default_factory=dict)  # snake_case argument name -> argument name

    def spend(self, nodes: int = 1, chars: int = 0, where: str = "") -> None:
        self.nodes += nodes
        self.chars += chars
        if self.nodes > MAX_NODES or self.chars > MAX_CHARS:
            raise BudgetExceeded(f"the output schema asks for more than one output may hold (over {MAX_NODES} "
                                 f"values or {MAX_CHARS} characters{f', at {where}' if where else ''})")

    @property
    def frugal(self) -> bool:
        """Past half the budget: write only what the schema requires."""
        return self.nodes > MAX_NODES // 2


def _resolve(schema: Any, ctx: Context) -> Any:
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 20:
        ref = schema["$ref"]
        if not ref.startswith("#"):
            return {k: v for k, v in schema.items() if k != "$ref"}
        target: Any = ctx.root
        for raw in ref[1:].lstrip("/").split("/") if ref not in ("#", "#/") else []:
            key = raw.replace("~1", "/").replace("~0", "~")
            target = target[int(key)] if isinstance(target, list) else target.get(key, {})
        extra = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **extra} if isinstance(target, dict) else target
        seen += 1
    return schema


def _merge_all_of(schema: dict[str, Any], ctx: Context) -> dict[str, Any]:
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema.get("allOf") or []:
        part = _resolve(part, ctx)
        if not isinstance(part, dict):
            continue
        part = _merge_all_of(part, ctx) if "allOf" in part else part
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = list(dict.fromkeys([*merged.get("required", []), *value]))
            else:
                merged.setdefault(key, value)
    return merged


def _type_of(schema: dict[str, Any], rng: random.Random) -> str | None:
    t = schema.get("type")
    if isinstance(t, list):
        options = [x for x in t if x != "null"] or t
        return options[0] if options else None
    if t is not None:
        return t
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    if any(k in schema for k in ("minLength", "maxLength", "pattern", "format")):
        return "string"
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return "number"
    return None


_SIMPLE = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}
_ANNOTATIONS = {"type", "title", "description", "examples", "default", "$comment"}


def _fits(value: Any, schema: Any, ctx: Context) -> bool:
    if not isinstance(schema, dict) or schema == {}:
        return True
    kind = schema.get("type")
    if isinstance(kind, str) and kind in _SIMPLE and schema.keys() <= _ANNOTATIONS:  # no validator needed
        if isinstance(value, bool) and kind != "boolean":
            return False
        if kind == "integer" and isinstance(value, float):
            return value.is_integer()
        return isinstance(value, _SIMPLE[kind])
    try:
        return ctx.validator_for(schema).is_valid(value)
    except Exception:
        return False


def generate(schema: Any, name: str, ctx: Context, depth: int = 0) -> Any:
    """A value for `schema` at a field called `name`. Raises BudgetExceeded when the schema asks for
    more than MAX_NODES values or MAX_CHARS characters."""
    ctx.spend(where=name)
    schema = _resolve(schema, ctx)
    if schema is True or schema is None:
        schema = {}
    if schema is False:
        return None
    if "allOf" in schema:
        schema = _merge_all_of(schema, ctx)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return ctx.rng.choice(schema["enum"])
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            options = [o for o in schema[key] if not (isinstance(o, dict) and o.get("type") == "null")]
            options = options or schema[key]
            base = {k: v for k, v in schema.items() if k != key}
            for option in options:
                option = _resolve(option, ctx)
                candidate = generate({**base, **option} if isinstance(option, dict) else option, name, ctx, depth + 1)
                if _fits(candidate, schema, ctx):
                    return candidate
            return generate(options[0], name, ctx, depth + 1)
    kind = _type_of(schema, ctx.rng)
    if kind is None:
        kind = "string"
    if depth > MAX_DEPTH:
        return {"object": {}, "array": [], "string": "", "integer": 0, "number": 0, "boolean": False}.get(kind)
    if kind == "object":
        return _object(schema, name, ctx, depth)
    if kind == "array":
        return _array(schema, name, ctx, depth)
    if kind == "string":
        return _string(schema, name, ctx)
    if kind in ("integer", "number"):
        return _number(schema, name, ctx, kind == "integer")
    if kind == "boolean":
        return ctx.rng.random() < 0.7
    return None


def _echo(name: str, schema: dict[str, Any], ctx: Context) -> tuple[bool, Any]:
    """An argument or remembered entity value for this field, when one fits."""
    for source in (ctx.arguments, ctx.entity):
        if name in source and _fits(source[name], schema, ctx):
            return True, source[name]
    alias = ctx.by_snake.get(snake(name))
    if alias is not None and alias != name and _fits(ctx.arguments[alias], schema, ctx):
        return True, ctx.arguments[alias]
    if vocab.is_id_field(name) and not ctx.creates:
        # `id` in the output answers an `<thing>_id` argument (get_order(order_id) -> {"id": ...}).
        for key, value in ctx.arguments.items():
            if vocab.is_id_field(key) and isinstance(value, (str, int)) and not isinstance(value, bool) \
                    and (name in ("id", "uuid") or vocab.id_prefix(key) == vocab.id_prefix(name)) \
                    and _fits(value, schema, ctx):
                return True, value
    return False, None


def _object(schema: dict[str, Any], name: str, ctx: Context, depth: int) -> dict[str, Any]:
    props: dict[str, Any] = schema.get("properties") or {}
    required = [r for r in schema.get("required") or [] if isinstance(r, str)]
    out: dict[str, Any] = {}
    saved_entity = ctx.entity
    optional = [] if depth >= OPTIONAL_DEPTH or ctx.frugal else [k for k in props if k not in required]
    for key in [*required, *optional]:
        sub = _resolve(props.get(key, {}), ctx)
        sub_dict = sub if isinstance(sub, dict) else {}
        saved_tz = ctx.tz
        if ctx.scene is not None:
            ctx.tz = ctx.scene.zone_for(key, ctx.tz)
        try:
            out[key] = _field(key, sub, sub_dict, ctx, depth, out)
        finally:
            ctx.tz = saved_tz
    extra = schema.get("additionalProperties")
    min_props = int(schema.get("minProperties", 0) or 0)
    i = 0
    while len(out) < min_props and extra is not False and i < 50:
        out.setdefault(f"{vocab.WORDS[i % len(vocab.WORDS)]}_{i}",
                       generate(extra if isinstance(extra, dict) else {"type": "string"}, f"field_{i}", ctx, depth + 1))
        i += 1
    if depth > 0:
        ctx.entity = saved_entity
    _harmonize(out, props, ctx)
    return out


def _field(key: str, sub: Any, sub_dict: dict[str, Any], ctx: Context, depth: int, out: dict[str, Any]) -> Any:
    """The value of one property: an echoed argument, a pinned fact, what its name means, the
    remembered entity's, an id, else generated."""
    if depth == 0 or key in ctx.arguments or snake(key) in ctx.by_snake:
        found, value = _echo(key, sub_dict, ctx)
        if found:
            return value
    if key in ctx.facts and _fits(ctx.facts[key], sub, ctx):
        return ctx.facts[key]
    kinds = ctx.rules.kinds_of(key) if ctx.rules is not None and ctx.scene is not None else ()
    if kinds:
        found, value = _by_kind(key, kinds, sub_dict, ctx, out, derived=True)
        if found:
            return value
    if ctx.entity and key in ctx.entity and _fits(ctx.entity[key], sub, ctx):
        return ctx.entity[key]
    if depth > 0 and ctx.entity and _type_of(sub_dict, ctx.rng) == "array":
        lists = [v for v in ctx.entity.values() if isinstance(v, list)]
        if len(lists) == 1 and _fits(lists[0], sub, ctx):  # addedObservations <- the item's one list
            return lists[0]
    if kinds:
        found, value = _by_kind(key, kinds, sub_dict, ctx, out, derived=False)
        if found:
            return value
    if depth <= 1 and ctx.scene is not None and _open_object(sub_dict):
        # An object the schema leaves open ({"result": {"type": "object"}}): what the call is about.
        if ctx.entity:
            return {k: v for k, v in ctx.entity.items() if k != "__key__"}
        if ctx.scene.message:
            return {"success": True, "message": ctx.scene.message}
    if vocab.is_id_field(key):
        value = _identifier(key, sub_dict, ctx)
        if value is not None:
            # Fields of an object that carries a remembered id come from that entity.
            remembered = ctx.world.read(value)
            if remembered:
                ctx.entity = {**remembered, **ctx.entity} if depth == 0 else remembered
            return value
    return generate(sub, key, ctx, depth + 1)


def _open_object(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "object" and not schema.get("properties") and not schema.get("required") \
        and schema.get("additionalProperties") is not False and "minProperties" not in schema \
        and "patternProperties" not in schema and "propertyNames" not in schema


def _by_kind(key: str, kinds: tuple[str, ...], schema: dict[str, Any], ctx: Context, out: dict[str, Any], *,
             derived: bool) -> tuple[bool, Any]:
    """A value for `key` from what its name means, for the kinds in (or out of) DERIVED."""
    assert ctx.scene is not None
    if "enum" in schema or "const" in schema:
        if "status" in kinds and not derived and schema.get("enum"):
            value = status_for(ctx.scene.op, schema["enum"], ctx.rng)
            return (value is not None), value
        return False, None
    schema_type = _type_of(schema, ctx.rng) or "string"
    for kind in kinds:
        if (kind in DERIVED) != derived:
            continue
        if kind == "status":
            value = status_for(ctx.scene.op, None, ctx.rng)
            if schema_type == "string" and _fits(value, schema, ctx):
                return True, value
            continue
        found, value = value_for(ctx.scene, kind, key, schema_type, ctx.tz, ctx.rng, out)
        if found and (_made_for(kind, schema) or _fits(value, schema, ctx)):
            return True, value
    return False, None


_FORMATS = {"datetime": "date-time", "created_time": "date-time", "modified_time": "date-time",
            "accessed_time": "date-time", "date": "date"}


def _made_for(kind: str, schema: dict[str, Any]) -> bool:
    """A kind's value needs no validation against a schema that only names its type (and the format
    that kind writes)."""
    fmt = schema.get("format")
    return schema.keys() <= _ANNOTATIONS | {"format"} and (fmt is None or _FORMATS.get(kind) == fmt) \
        and isinstance(schema.get("type"), str) and kind not in ("path", "basename", "extension", "mime")


def _harmonize(out: dict[str, Any], props: dict[str, Any], ctx: Context) -> None:
    """Fields of one object that must agree: a weekday with the object's date, a count with its list."""
    if ctx.scene is not None and ctx.rules is not None:
        moment = None
        for key, value in out.items():
            kinds = ctx.rules.kinds_of(key)
            if kinds and kinds[0] in ("datetime", "date", "created_time", "modified_time") and isinstance(value, str):
                moment = parse_moment(value, ctx.tz)
                if moment is not None:
                    break
        if moment is not None:
            for key, value in out.items():
                if isinstance(value, str) and "weekday" in ctx.rules.kinds_of(key)[:1]:
                    local = moment.astimezone(zone(ctx.tz) or moment.tzinfo) if moment.tzinfo else moment
                    day = local.strftime("%A")
                    if _fits(day, props.get(key, {}), ctx):
                        out[key] = day
    if ctx.scene is None or ctx.scene.count is None:
        _count_matches_list(out, props, ctx)


def _count_matches_list(out: dict[str, Any], props: dict[str, Any], ctx: Context) -> None:
    """`total`/`count` next to a single list says how long the list is (when the schema allows)."""
    lists = [v for v in out.values() if isinstance(v, list)]
    if len(lists) != 1:
        return
    for key in ("total", "count", "total_count", "totalCount", "num_results", "result_count"):
        if key in out and key not in ctx.arguments and isinstance(out[key], int) and not isinstance(out[key], bool) \
                and _fits(len(lists[0]), props.get(key, {}), ctx):
            out[key] = len(lists[0])


def _array(schema: dict[str, Any], name: str, ctx: Context, depth: int) -> list[Any]:
    lo = int(schema.get("minItems", 0) or 0)
    hi = schema.get("maxItems")
    if lo > MAX_NODES - ctx.nodes:
        raise BudgetExceeded(f"the output schema asks for at least {lo} items at {name!r}, more than one output "
                             f"may hold ({MAX_NODES} values)")
    items = _resolve(schema.get("items", {}), ctx)
    prefix = schema.get("prefixItems") or (schema["items"] if isinstance(schema.get("items"), list) else None)
    if prefix:
        return [generate(s, name, ctx, depth + 1) for s in prefix][: hi if hi is not None else None]
    # Lists of things the session already knows come back with those things (the listing first).
    known = _known_items(items if isinstance(items, dict) else {}, ctx)
    if known is not None:
        count = max(lo, min(len(known), MAX_LISTED))
    else:
        count = max(lo, ctx.rng.randint(1, 3))
    if depth > DEEP or ctx.frugal:
        count = lo
    if hi is not None:
        count = min(count, int(hi))
    known = known or []
    out: list[Any] = []
    unique = bool(schema.get("uniqueItems"))
    attempts = 0
    while len(out) < count and attempts < count * 8 + 8:
        i = len(out)
        saved = ctx.entity
        if i < len(known):
            ctx.entity = known[i]
        if i < len(known) and not isinstance(known[i], dict):
            value = known[i]  # a listed key, for an array of strings
        else:
            value = generate(items, name[:-1] if name.endswith("s") else name, ctx, depth + 1)
        ctx.entity = saved
        attempts += 1
        if unique and value in out:
            continue
        out.append(value)
    return out


def _shape_fits(fields: dict[str, Any], props: dict[str, Any], required: list[str]) -> bool:
    overlap = sum(1 for k in props if k in fields)
    return overlap > 0 and (overlap * 2 >= len(props) or all(r in fields for r in required))


def _known_items(items: dict[str, Any], ctx: Context) -> list[Any] | None:
    """What an array shows: the things the answer is about that have the items' shape (a listing's
    first array shows all of them), else related things of that shape, else the argument's own
    array of that shape (a batch answered item by item); None when nothing is known."""
    props = items.get("properties") or {}
    required = [r for r in items.get("required") or [] if isinstance(r, str)]
    kind = items.get("type")
    if (kind == "object" or props) and props:
        fitting = [f for f in ctx.pool if _shape_fits(f, props, required)]
        if ctx.listing and not ctx.listed:  # a listing's first array shows the listed things
            ctx.listed = True
            return fitting or list(ctx.pool)
        if not fitting and ctx.related is not None:
            if callable(ctx.related):
                ctx.related = ctx.related()
            fitting = [f for f in ctx.related if _shape_fits(f, props, required)]
        if not fitting:
            for mirror in ctx.mirrors:
                if mirror and _shape_fits(mirror[0], props, required):
                    return mirror
        if fitting or ctx.closed or ctx.listing or ctx.batch:
            return fitting
        return None
    if kind == "string" and ctx.listing and not ctx.listed:
        ctx.listed = True
        return [f.get("__key__", "") for f in ctx.pool]
    if ctx.listing and ctx.closed:
        return []
    return None


def _identifier(name: str, schema: dict[str, Any], ctx: Context) -> Any:
    if not ctx.creates:
        for value in ctx.world.ids_for(name):
            if _fits(value, schema, ctx):
                return value
    integer = _type_of(schema, ctx.rng) == "integer"
    value = ctx.world.fresh_id(name, ctx.rng, integer=integer,
                               as_uuid=schema.get("format") == "uuid")
    return value if _fits(value, schema, ctx) else None


def _string(schema: dict[str, Any], name: str, ctx: Context) -> str:
    fmt = schema.get("format")
    rng = ctx.rng
    if fmt in ("date-time", "date", "time") and ctx.scene is not None:
        _found, value = value_for(ctx.scene, {"date-time": "datetime"}.get(fmt, fmt), name, "string", ctx.tz, rng)
        if fmt == "time":
            _, offset = value_for(ctx.scene, "utc_offset", name, "string", ctx.tz, rng)
            value += "Z" if offset in ("+00:00", "-00:00") else offset
    elif fmt == "date-time":
        value = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:" \
                f"{rng.randint(0, 59):02d}:00Z"
    elif fmt == "date":
        value = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    elif fmt == "time":
        value = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"
    elif fmt == "email" or fmt == "idn-email":
        value = vocab.string_for("email", rng, ctx.topic)
    elif fmt in ("uri", "url", "iri", "uri-reference"):
        value = vocab.string_for("url", rng, ctx.topic)
    elif fmt == "uuid":
        value = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    elif fmt == "ipv4":
        value = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    elif fmt == "ipv6":
        value = "2001:db8::" + format(rng.randint(1, 0xFFFF), "x")
    elif fmt in ("hostname", "idn-hostname"):
        value = f"{rng.choice(vocab.WORDS)}.example.com"
    else:
        value = vocab.string_for(name, rng, ctx.topic)
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and not _fits(value, {"pattern": pattern}, ctx):
        value = string_matching(pattern, rng, max_chars=MAX_CHARS - ctx.chars) or value
    lo, hi = int(schema.get("minLength", 0) or 0), schema.get("maxLength")
    ctx.spend(0, max(lo, len(value)), where=name)
    if len(value) < lo:
        value = value + "x" * (lo - len(value))
    if hi is not None and len(value) > int(hi):
        value = value[: int(hi)]
    return value


def _number(schema: dict[str, Any], name: str, ctx: Context, integer: bool) -> float | int:
    value: float = vocab.number_for(name, ctx.rng, integer)
    lo = schema.get("minimum")
    hi = schema.get("maximum")
    xlo, xhi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    step = 1 if integer else 0.01
    if isinstance(xlo, bool):  # draft-04
        xlo, lo = (lo if xlo else None), (None if xlo else lo)
    if isinstance(xhi, bool):
        xhi, hi = (hi if xhi else None), (None if xhi else hi)
    if xlo is not None:
        lo = max(lo, xlo + step) if lo is not None else xlo + step
    if xhi is not None:
        hi = min(hi, xhi - step) if hi is not None else xhi - step
    if lo is not None and hi is not None and lo > hi:
        hi = lo
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        low = lo if lo is not None else (hi - 100 if hi is not None else 0)
        high = hi if hi is not None else low + 100
        value = ctx.rng.uniform(low, high) if not integer else ctx.rng.randint(int(-(-low // 1)), int(high // 1))
    multiple = schema.get("multipleOf")
    if multiple:
        value = round(value / multiple) * multiple
        if lo is not None and value < lo:
            value += multiple
    if integer:
        return round(value)
    return round(value, 4) if not multiple else value
