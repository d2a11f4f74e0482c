"""A JSON Schema read as the zod schema a TypeScript author writes (`v4/classic/from-json-schema.js`,
with the readings of `toJSONSchema` output described in the package docstring)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from gtm_mcp.calls.profiles.zod.checks import (
    FORMATS,
    FULL_TIME,
    GUID,
    MAX_SAFE_INTEGER,
    Check,
    bound,
    int_format,
    max_length,
    min_length,
    multiple_of,
    regex,
    url_format,
)
from gtm_mcp.calls.profiles.zod.js import is_number
from gtm_mcp.calls.profiles.zod.nodes import (
    AnyNode,
    Array,
    Boolean,
    Default,
    Intersection,
    Lazy,
    Never,
    Node,
    Null,
    Nullable,
    Number,
    Object,
    Optional,
    String,
    Tuple,
    Union,
    Values,
)
from gtm_mcp.contract.definition import ToolDefinition

MAX_DEPTH = 64


class _Converter:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        defs = root.get("$defs") if isinstance(root.get("$defs"), dict) else root.get("definitions")
        self.defs: dict[str, Any] = defs if isinstance(defs, dict) else {}
        self.refs: dict[str, Node] = {}
        self.processing: set[str] = set()

    def convert(self, schema: Any, depth: int = 0, *, top: bool = False) -> Node:
        if depth > MAX_DEPTH or schema is True:
            return AnyNode()
        if schema is False:
            return Never()
        if not isinstance(schema, dict):
            return AnyNode()
        node = self._base(schema, depth, top=top)
        explicit_type = bool(schema.get("type")) or "enum" in schema or "const" in schema
        any_of = schema.get("anyOf")
        if isinstance(any_of, list) and any_of:
            nullable = self._nullable_pair(any_of)
            if nullable is not None:
                union: Node = Nullable(self.convert(nullable, depth + 1))
            else:
                union = Union([self.convert(s, depth + 1) for s in any_of])
            node = Intersection(node, union) if explicit_type else union
        one_of = schema.get("oneOf")
        if isinstance(one_of, list) and one_of:
            xor = Union([self.convert(s, depth + 1) for s in one_of], exclusive=True)
            node = Intersection(node, xor) if explicit_type else xor
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and all_of:
            parts = [self.convert(s, depth + 1) for s in all_of]
            result = node if explicit_type else parts.pop(0)
            for part in parts:
                result = Intersection(result, part)
            node = result
        if "default" in schema:
            node = Default(node, schema["default"])
        return node

    @staticmethod
    def _nullable_pair(options: list[Any]) -> Any:
        """`X.nullable()` is emitted as `anyOf: [X, {type: null}]`: read it back as that."""
        if len(options) != 2:
            return None
        nulls = [o for o in options if isinstance(o, dict) and o == {"type": "null"}]
        if len(nulls) != 1:
            return None
        return next(o for o in options if o is not nulls[0])

    def _base(self, schema: dict[str, Any], depth: int, *, top: bool = False) -> Node:
        if isinstance(schema.get("not"), dict) and not schema["not"]:
            return Never()
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return self._ref(ref, depth)
        if isinstance(schema.get("enum"), list):
            values = schema["enum"]
            return Never() if not values else Values(values) if len(values) == 1 or all(
                isinstance(v, str) for v in values) else Union([Values([v]) for v in values])
        if "const" in schema:
            return Values([schema["const"]])
        kind = schema.get("type")
        if isinstance(kind, list):
            others = [t for t in kind if t != "null"]
            if len(kind) == 2 and len(others) == 1:  # `X.nullable()` on a primitive: `type: [X, "null"]`
                return Nullable(self._base({**schema, "type": others[0]}, depth))
            options = [self._base({**schema, "type": t}, depth) for t in kind]
            return Never() if not options else options[0] if len(options) == 1 else Union(options)
        if kind is None and (top or "properties" in schema):  # written as z.object by a TS author
            kind = "object"
        if not kind:
            return AnyNode()
        if kind == "string":
            return self._string(schema)
        if kind in ("number", "integer"):
            return self._number(schema, integer=kind == "integer")
        if kind == "boolean":
            return Boolean()
        if kind == "null":
            return Null()
        if kind == "object":
            return self._object(schema, depth, top=top)
        if kind == "array":
            return self._array(schema, depth)
        return AnyNode()

    def _ref(self, ref: str, depth: int) -> Node:
        if ref in self.refs:
            return self.refs[ref]
        if ref in self.processing:
            return Lazy(lambda: self.refs.get(ref) or AnyNode())
        target = self._resolve(ref)
        if target is None:
            return AnyNode()
        self.processing.add(ref)
        node = self.convert(target, depth + 1)
        self.refs[ref] = node
        self.processing.discard(ref)
        return node

    def _resolve(self, ref: str) -> Any:
        if ref == "#":
            return self.root
        for prefix in ("#/$defs/", "#/definitions/"):
            if ref.startswith(prefix):
                return self.defs.get(ref[len(prefix):].replace("~1", "/").replace("~0", "~"))
        return None

    @staticmethod
    def _string(schema: dict[str, Any]) -> Node:
        checks: list[Check] = []
        fmt = schema.get("format")
        pattern = schema.get("pattern")
        own_pattern = None
        if fmt in FORMATS:  # toJSONSchema writes a format's own pattern beside it: that is one check
            name, own_pattern = ("guid", GUID) if fmt in ("uuid", "guid") and pattern == GUID else FORMATS[fmt]
            checks.append(regex(own_pattern, format_name=name))
        elif fmt in ("uri", "uri-reference"):
            checks.append(url_format())
        elif fmt == "time":
            checks.append(regex(FULL_TIME))
        if is_count(schema.get("minLength")):
            checks.append(min_length(schema["minLength"]))
        if is_count(schema.get("maxLength")):
            checks.append(max_length(schema["maxLength"]))
        if isinstance(pattern, str) and pattern != own_pattern:
            checks.append(regex(pattern))
        return String(checks)

    @staticmethod
    def _number(schema: dict[str, Any], *, integer: bool) -> Node:
        checks: list[Check] = [int_format()] if integer else []
        low, high = schema.get("minimum"), schema.get("maximum")
        ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if integer:  # z.number().int() publishes the safe-integer range as its bounds
            low = None if low == -MAX_SAFE_INTEGER else low
            high = None if high == MAX_SAFE_INTEGER else high
        if is_number(low) and ex_low is not True:
            checks.append(bound(low, lower=True, inclusive=True))
        if is_number(high) and ex_high is not True:
            checks.append(bound(high, lower=False, inclusive=True))
        if is_number(ex_low):
            checks.append(bound(ex_low, lower=True, inclusive=False))
        elif ex_low is True and is_number(low):
            checks.append(bound(low, lower=True, inclusive=False))
        if is_number(ex_high):
            checks.append(bound(ex_high, lower=False, inclusive=False))
        elif ex_high is True and is_number(high):
            checks.append(bound(high, lower=False, inclusive=False))
        if is_number(schema.get("multipleOf")):
            checks.append(multiple_of(schema["multipleOf"]))
        return Number(checks)

    def _object(self, schema: dict[str, Any], depth: int, *, top: bool = False) -> Node:
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = set(schema.get("required") or []) if isinstance(schema.get("required"), list) else set()
        shape: dict[str, Node] = {}
        for key, sub in properties.items():
            node = self.convert(sub, depth + 1)
            shape[str(key)] = node if key in required else Optional(node)
        additional = schema.get("additionalProperties")
        if additional is False:
            return Object(shape, "strict")
        if isinstance(additional, dict) and additional:
            return Object(shape, "catchall", self.convert(additional, depth + 1))
        if top and not properties and additional is None:
            return Object(shape, "strip")  # a tool without an input schema: the handler gets no arguments
        if additional is True or isinstance(additional, dict) or not properties:
            return Object(shape, "catchall")  # passthrough: `.passthrough()`, `z.record(..., z.any())`
        return Object(shape, "strip")

    def _array(self, schema: dict[str, Any], depth: int) -> Node:
        prefix = schema.get("prefixItems")
        items = schema.get("items")
        tuple_items = prefix if isinstance(prefix, list) else items if isinstance(items, list) else None
        if tuple_items is not None:
            minimum = schema.get("minItems") if is_count(schema.get("minItems")) else 0
            nodes = [self.convert(s, depth + 1) for s in tuple_items]
            nodes = [n if i < minimum else Optional(n) for i, n in enumerate(nodes)]
            rest_schema = items if isinstance(prefix, list) else schema.get("additionalItems")
            rest = None if rest_schema is False else AnyNode() if rest_schema in (None, True) else self.convert(
                rest_schema, depth + 1)
            checks = []
            if is_count(schema.get("minItems")):
                checks.append(min_length(schema["minItems"]))
            if is_count(schema.get("maxItems")):
                checks.append(max_length(schema["maxItems"]))
            return Tuple(nodes, rest, checks)
        element = self.convert(items, depth + 1) if items is not None else AnyNode()
        checks = []
        if is_count(schema.get("minItems")):
            checks.append(min_length(schema["minItems"]))
        if is_count(schema.get("maxItems")):
            checks.append(max_length(schema["maxItems"]))
        return Array(element, checks)


def is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@lru_cache(maxsize=1024)
def _compiled(schema_json: str) -> Node:
    schema = json.loads(schema_json)
    return _Converter(schema).convert(schema, top=True)


def schema_for(tool: ToolDefinition) -> Node:
    return _compiled(json.dumps(tool.input_schema))
