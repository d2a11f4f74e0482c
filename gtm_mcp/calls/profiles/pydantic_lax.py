"""The `pydantic` profile: what a Python MCP server on the official SDK's high-level `MCPServer`
does with a tool's arguments, run with pydantic itself.

`MCPServer` builds the arguments model from the tool function's signature
(`mcp.server.mcpserver.utilities.func_metadata`): one field per parameter, a model named
`<function>Arguments` on `ArgModelBase` (undeclared keys ignored), and publishes the model's JSON
Schema. At call time it pre-parses string values given for non-`str` fields as JSON
(`FuncMetadata.pre_parse_json`: '["a"]' becomes a list), validates with pydantic in lax mode
("2" -> 2, "yes" -> True, 2.0 -> 2) and refuses with
"Error executing tool <name>: <the ValidationError text>".

Here the signature is rebuilt from the JSON Schema, as the inverse of pydantic's own schema
generation (so a schema an `MCPServer` published gives back the types it came from):

| JSON Schema                                   | Python type                                    |
|-----------------------------------------------|------------------------------------------------|
| string / integer / number / boolean / null    | str / int / float / bool / None (+ constraints) |
| string with format date-time, date, time,     | datetime, date, time, timedelta, UUID, AnyUrl,  |
| duration, uuid, uri, email, ipv4, ipv6        | EmailStr, IPv4Address, IPv6Address              |
| inline enum / const                           | Literal[...]                                   |
| enum under $defs (named)                      | an Enum class                                  |
| anyOf / oneOf / type list (with null)         | a union (Optional)                             |
| array (items, prefixItems, uniqueItems)       | list[T], tuple[...], set[T]                    |
| object with properties ($defs or inline)      | a nested BaseModel (*)                         |
| object without properties                     | dict[str, T] or dict[str, Any]                 |

(*) extra keys: `additionalProperties: false` forbids them, `true` (or a schema) allows them, absent
ignores them (pydantic's default, and `MCPServer`'s for the arguments themselves).

A parameter that is not required gets the schema's `default`, else None (pydantic does not
validate defaults, so leaving it out is fine while sending null is checked against the type).
The SDK's `FuncMetadata` does the pre-parsing, and pydantic does the validation: nothing of either
is re-implemented here.
"""

from __future__ import annotations

import copy
import enum
import ipaddress
import json
import keyword
import logging
import uuid
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Annotated, Any, ForwardRef, Literal, Union

import annotated_types as at
import pydantic_core
from pydantic import AfterValidator, AnyUrl, BaseModel, ConfigDict, Field, StringConstraints, create_model
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from gtm_mcp.calls.profiles import Verdict
from gtm_mcp.contract import patterns
from gtm_mcp.contract.definition import ToolDefinition

log = logging.getLogger(__name__)

MAX_DEPTH = 32
#: Class attribute naming the fields whose schema declares a `default` (the tool receives those
#: even when the call leaves them out).
DECLARED_DEFAULTS = "__gtm_declared_defaults__"


def _email_type() -> Any:
    try:
        import email_validator  # noqa: F401  (pydantic's EmailStr needs it)
        from pydantic import EmailStr
    except ImportError:
        return str
    return EmailStr


_FORMATS: dict[str, Any] = {
    "date-time": datetime, "date": date, "time": time, "duration": timedelta, "uuid": uuid.UUID,
    "uuid1": uuid.UUID, "uuid3": uuid.UUID, "uuid4": uuid.UUID, "uuid5": uuid.UUID, "uri": AnyUrl,
    "ipv4": ipaddress.IPv4Address, "ipv6": ipaddress.IPv6Address,
}


def _never(value: Any) -> Any:
    raise PydanticCustomError("never", "No value is accepted here")


def _pattern_check(pattern: str) -> Any:
    """A `pattern` that pydantic's (Rust) regex engine refuses, matched the way the contract matches
    schema patterns (RE2, else a timed engine), with pydantic's wording."""

    def check(value: str) -> str:
        if not patterns.search(pattern, value):
            raise PydanticCustomError("string_pattern_mismatch", "String should match pattern '{pattern}'",
                                      {"pattern": pattern})
        return value

    return AfterValidator(check)


@lru_cache(maxsize=2048)
def _rust_regex_accepts(pattern: str) -> bool:
    from pydantic import TypeAdapter

    try:
        TypeAdapter(Annotated[str, StringConstraints(pattern=pattern)])
    except Exception:
        return False
    return True


class _Builder:
    """Turns one tool's input schema into pydantic types (see the module docstring)."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        defs = root.get("$defs") if isinstance(root.get("$defs"), dict) else root.get("definitions")
        self.defs: dict[str, Any] = defs if isinstance(defs, dict) else {}
        self.by_ref: dict[str, Any] = {}
        self.resolving: set[str] = set()
        self.models: dict[str, type[BaseModel]] = {}
        self.forward = False

    # -- names ---------------------------------------------------------------------------------

    def _model_name(self, wanted: str) -> str:
        name, n = wanted or "Model", 2
        while name in self.models:
            name, n = f"{wanted}{n}", n + 1
        return name

    @staticmethod
    def _field_name(key: str, index: int) -> tuple[str, str | None]:
        """(python name, alias): keys that are not plain identifiers, or that shadow BaseModel
        attributes (as `MCPServer` does), get an alias."""
        if (key.isidentifier() and not keyword.iskeyword(key) and not key.startswith("_")
                and not key.startswith("model_") and not hasattr(BaseModel, key)):
            return key, None
        return f"field_{index}__", key  # the trailing __ keeps it apart from a real property name

    # -- schemas -------------------------------------------------------------------------------

    def annotation(self, schema: Any, hint: str, depth: int = 0) -> Any:
        if depth > MAX_DEPTH or schema is True or not isinstance(schema, dict) or not schema:
            return Annotated[Any, AfterValidator(_never)] if schema is False else Any
        if isinstance(schema.get("$ref"), str):
            return self._ref(schema["$ref"], depth)
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                options = [self.annotation(s, hint, depth + 1) for s in schema[key]]
                return _union(options)
        if isinstance(schema.get("allOf"), list) and schema["allOf"]:
            return self.annotation(_merge_all_of(schema), hint, depth + 1)
        if "enum" in schema and isinstance(schema["enum"], list):
            return _literal(schema["enum"])
        if "const" in schema:
            return _literal([schema["const"]])
        kind = schema.get("type")
        if isinstance(kind, list):
            return _union([self.annotation({**schema, "type": t}, hint, depth + 1) for t in kind])
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else None
        result = self._typed(kind, schema, hint, depth)
        if schema.get("nullable") is True:
            result = Union[result, None]  # noqa: UP007 (a runtime union of computed types)
        return result

    def _typed(self, kind: str | None, schema: dict[str, Any], hint: str, depth: int) -> Any:
        if kind == "string":
            fmt = schema.get("format")
            if fmt == "email":
                return _email_type()
            if fmt in _FORMATS:
                return _FORMATS[fmt]
            return _constrained(str, _string_constraints(schema))
        if kind == "integer":
            return _constrained(int, _number_constraints(schema))
        if kind == "number":
            return _constrained(float, _number_constraints(schema))
        if kind == "boolean":
            return bool
        if kind == "null":
            return None
        if kind == "array":
            return self._array(schema, hint, depth)
        if kind == "object":
            return self._object(schema, hint, depth)
        return Any

    def _array(self, schema: dict[str, Any], hint: str, depth: int) -> Any:
        size = _size_constraints(schema, "minItems", "maxItems")
        prefix = schema.get("prefixItems")
        if prefix is None and isinstance(schema.get("items"), list):  # draft 7 tuples
            prefix = schema["items"]
        if isinstance(prefix, list) and prefix:
            parts = tuple(self.annotation(s, f"{hint}Item", depth + 1) for s in prefix)
            rest = schema.get("items") if "prefixItems" in schema else schema.get("additionalItems")
            if rest is False or (schema.get("maxItems") == len(prefix) == schema.get("minItems")):
                return tuple[parts]  # type: ignore[valid-type]
            return _constrained(list[Any], size)
        item = self.annotation(schema.get("items", True), f"{hint}Item", depth + 1)
        if schema.get("uniqueItems") is True and _hashable(schema.get("items")):
            return _constrained(set[item], size)  # type: ignore[valid-type]
        return _constrained(list[item], size)  # type: ignore[valid-type]

    def _object(self, schema: dict[str, Any], hint: str, depth: int, *, name: str | None = None) -> Any:
        properties = schema.get("properties")
        if not isinstance(properties, dict) or not properties:
            extra = schema.get("additionalProperties")
            value = self.annotation(extra, f"{hint}Value", depth + 1) if isinstance(extra, dict) else Any
            return _constrained(dict[str, value], _size_constraints(schema, "minProperties", "maxProperties"))
        return self.model(schema, name or str(schema.get("title") or hint), depth)

    def _ref(self, ref: str, depth: int) -> Any:
        if ref in self.by_ref:
            return self.by_ref[ref]
        target, key = self._resolve(ref)
        if target is None:
            return Any
        if ref in self.resolving:  # a recursive model: a forward reference, resolved by model_rebuild
            self.forward = True
            return ForwardRef(self._planned_name(ref, target, key))
        self.resolving.add(ref)
        try:
            if isinstance(target, dict) and isinstance(target.get("enum"), list) and target["enum"]:
                built: Any = _enum_class(str(target.get("title") or key), target["enum"])
            elif isinstance(target, dict) and isinstance(target.get("properties"), dict) and target["properties"]:
                built = self._object(target, key, depth + 1, name=self._planned_name(ref, target, key))
            else:
                built = self.annotation(target, key, depth + 1)
        finally:
            self.resolving.discard(ref)
        self.by_ref[ref] = built
        return built

    def _planned_name(self, ref: str, target: Any, key: str) -> str:
        title = target.get("title") if isinstance(target, dict) else None
        return str(title or key)

    def _resolve(self, ref: str) -> tuple[Any, str]:
        if ref == "#":
            return self.root, str(self.root.get("title") or "Model")
        for prefix in ("#/$defs/", "#/definitions/"):
            if ref.startswith(prefix):
                key = ref[len(prefix):].replace("~1", "/").replace("~0", "~")
                return self.defs.get(key), key
        return None, ""

    def model(self, schema: dict[str, Any], name: str, depth: int = 0, *, base: type[BaseModel] | None = None,
              top: bool = False) -> type[BaseModel]:
        required = set(schema.get("required") or [])
        fields: dict[str, Any] = {}
        declared_defaults = set()
        for index, (key, sub) in enumerate((schema.get("properties") or {}).items()):
            python_name, alias = self._field_name(str(key), index)
            annotation = self.annotation(sub, f"{name}_{key}", depth + 1)
            extra: dict[str, Any] = {"alias": alias} if alias else {}
            if key in required:
                fields[python_name] = (annotation, Field(**extra))
            else:
                has_default = isinstance(sub, dict) and "default" in sub
                if has_default:
                    declared_defaults.add(python_name)
                default = copy.deepcopy(sub["default"]) if has_default else None
                fields[python_name] = (annotation, Field(default=default, **extra))
        additional = schema.get("additionalProperties")
        open_extra = additional is True or (isinstance(additional, dict) and bool(additional))
        mode = "forbid" if additional is False else "allow" if open_extra else "ignore"
        model_name = name if top else self._model_name(name)
        parent = base or BaseModel
        cls = create_model(model_name, __base__=_with_extra(parent, mode), **fields)  # type: ignore[call-overload]
        setattr(cls, DECLARED_DEFAULTS, frozenset(declared_defaults))
        self.models[model_name] = cls
        return cls


def _with_extra(parent: type[BaseModel], mode: str) -> type[BaseModel]:
    if mode == "ignore":
        return parent
    return type(f"{parent.__name__}Extra{mode.title()}", (parent,),  # type: ignore[return-value]
                {"model_config": ConfigDict(extra=mode), "__module__": __name__})  # type: ignore[typeddict-item]


def _union(options: list[Any]) -> Any:
    unique: list[Any] = []
    for option in options:
        if not any(option is u or option == u for u in unique):
            unique.append(option)
    if Any in unique:
        return Any
    return unique[0] if len(unique) == 1 else Union[tuple(unique)]  # noqa: UP007


def _literal(values: list[Any]) -> Any:
    if not values:
        return Annotated[Any, AfterValidator(_never)]
    if all(v is None or isinstance(v, (str, int, float, bool)) for v in values):
        return Literal[tuple(values)]  # type: ignore[valid-type]
    expected = list(values)

    def one_of(value: Any) -> Any:  # enum members that Literal cannot hold (objects, arrays)
        if any(_same_json(value, v) for v in expected):
            return value
        raise PydanticCustomError("literal_error", "Input should be {expected}",
                                  {"expected": " or ".join(json.dumps(v) for v in expected)})

    return Annotated[Any, AfterValidator(one_of)]


def _same_json(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _enum_class(name: str, values: list[Any]) -> Any:
    if not all(isinstance(v, (str, int, float, bool)) or v is None for v in values):
        return _literal(values)
    members = {f"member_{i}": v for i, v in enumerate(values)}
    return enum.Enum(name if name.isidentifier() else "Choice", members)  # type: ignore[misc]


def _hashable(items: Any) -> bool:
    if not isinstance(items, dict):
        return False
    kind = items.get("type")
    return kind in ("string", "integer", "number", "boolean") or ("enum" in items and kind != "object")


def _merge_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    """pydantic has no intersection type; `allOf` parts are merged into one schema (the usual
    `allOf: [{$ref}]` of older pydantic versions becomes that reference)."""
    parts = [p for p in schema["allOf"] if isinstance(p, dict)]
    rest = {k: v for k, v in schema.items() if k != "allOf"}
    if len(parts) == 1 and not ({"type", "properties"} & set(rest)):
        return {**parts[0], **{k: v for k, v in rest.items() if k in ("default", "description", "title")}}
    merged: dict[str, Any] = dict(rest)
    for part in parts:
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = list(dict.fromkeys([*merged.get("required", []), *value]))
            else:
                merged.setdefault(key, value)
    return merged


def _string_constraints(schema: dict[str, Any]) -> list[Any]:
    found = _size_constraints(schema, "minLength", "maxLength")
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        found.append(StringConstraints(pattern=pattern) if _rust_regex_accepts(pattern) else _pattern_check(pattern))
    return found


def _size_constraints(schema: dict[str, Any], low: str, high: str) -> list[Any]:
    found: list[Any] = []
    if isinstance(schema.get(low), int) and not isinstance(schema.get(low), bool):
        found.append(at.MinLen(schema[low]))
    if isinstance(schema.get(high), int) and not isinstance(schema.get(high), bool):
        found.append(at.MaxLen(schema[high]))
    return found


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number_constraints(schema: dict[str, Any]) -> list[Any]:
    found: list[Any] = []
    low, high = schema.get("minimum"), schema.get("maximum")
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if ex_low is True and _number(low):  # draft 4: the boolean form makes `minimum` exclusive
        found.append(at.Gt(low))
    elif _number(low):
        found.append(at.Ge(low))
    if ex_high is True and _number(high):
        found.append(at.Lt(high))
    elif _number(high):
        found.append(at.Le(high))
    if _number(ex_low):
        found.append(at.Gt(ex_low))
    if _number(ex_high):
        found.append(at.Lt(ex_high))
    if _number(schema.get("multipleOf")) and schema["multipleOf"] > 0:
        found.append(at.MultipleOf(schema["multipleOf"]))
    return found


def _constrained(base: Any, constraints: list[Any]) -> Any:
    return Annotated[(base, *constraints)] if constraints else base


def model_name(tool_name: str, schema: dict[str, Any]) -> str:
    """`<function>Arguments`: the title an `MCPServer` published (its function may be named apart
    from the tool, as in `git_log` -> `logArguments`), else the tool's name."""
    title = schema.get("title")
    if isinstance(title, str) and title.endswith("Arguments") and title.isidentifier():
        return title
    return f"{tool_name}Arguments"


@lru_cache(maxsize=1024)
def _built(tool_name: str, schema_json: str) -> tuple[type[BaseModel], Any]:
    """(the arguments model, the SDK's FuncMetadata around it), built once per tool schema."""
    from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata

    schema = json.loads(schema_json)
    builder = _Builder(schema)
    name = model_name(tool_name, schema)
    try:
        model = builder.model(schema, name, base=ArgModelBase, top=True)
        if builder.forward:
            for cls in builder.models.values():
                cls.model_rebuild(_types_namespace=dict(builder.models))
    except Exception:  # a schema pydantic cannot express: every parameter is taken as given
        log.warning("pydantic profile: the input schema of %r cannot be turned into a pydantic model; its "
                    "parameters are accepted as given", tool_name, exc_info=True)
        loose = {k: v for k, v in schema.items() if k not in ("properties",)}
        loose["properties"] = {key: {} for key in (schema.get("properties") or {})}
        model = _Builder(loose).model(loose, name, base=ArgModelBase, top=True)
    return model, FuncMetadata(arg_model=model)


def arguments_model(tool: ToolDefinition) -> type[BaseModel]:
    """The pydantic model an `MCPServer` tool with this input schema validates its arguments with."""
    return _built(tool.name, json.dumps(tool.input_schema, sort_keys=False))[0]


def pre_parse(tool: ToolDefinition, arguments: dict[str, Any]) -> dict[str, Any]:
    """The SDK's own pre-parsing of JSON given as strings (`FuncMetadata.pre_parse_json`)."""
    return _built(tool.name, json.dumps(tool.input_schema, sort_keys=False))[1].pre_parse_json(arguments)


def dump(value: Any) -> Any:
    """A validated value as JSON, as the tool received it: the fields the call set, plus those whose
    schema declares a default (undeclared keys were ignored, coerced values are their new type)."""
    if isinstance(value, BaseModel):
        cls = type(value)
        declared = getattr(cls, DECLARED_DEFAULTS, frozenset())
        out: dict[str, Any] = {}
        for name, info in cls.model_fields.items():
            if name in value.model_fields_set or name in declared:
                out[info.alias or name] = dump(getattr(value, name))
        for key, extra in (value.model_extra or {}).items():
            out[key] = dump(extra)
        return out
    if isinstance(value, enum.Enum):
        return dump(value.value)
    if isinstance(value, dict):
        return {str(k): dump(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        items = [dump(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, (list, tuple)):
        return [dump(v) for v in value]
    return pydantic_core.to_jsonable_python(value)


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) and out else (f".{part}" if out else str(part))
    return out


def check(tool: ToolDefinition, arguments: Any) -> Verdict:
    model, metadata = _built(tool.name, json.dumps(tool.input_schema, sort_keys=False))
    parsed = metadata.pre_parse_json(arguments) if isinstance(arguments, dict) else arguments
    try:
        validated = model.model_validate(parsed)
    except PydanticValidationError as e:
        named = tuple(dict.fromkeys(_path(err["loc"]) for err in e.errors()))
        return Verdict(None, f"Error executing tool {tool.name}: {e}", named)
    return Verdict(dump(validated))
