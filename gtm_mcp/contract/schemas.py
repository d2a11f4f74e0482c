"""JSON Schema handling shared by the whole contract: which draft a schema is written in, whether it
is usable (meta-schema valid, every local `$ref` resolvable), and validators whose regular
expressions cannot backtrack catastrophically (`gtm_mcp.contract.patterns`)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from gtm_mcp.contract import patterns
from gtm_mcp.contract.errors import json_pointer

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


@cache
def _meta_validator(cls: type[Validator]) -> Validator:
    return cls(cls.META_SCHEMA)


def _draft_of(schema: Mapping[str, Any]) -> tuple[type[Validator], bool]:
    """(validator class, whether a meta-schema was found to accept the schema already).

    A declared `$schema` decides the draft (not yet checked). For a schema that declares none:
    draft 2020-12 when the draft-07 meta-schema accepts it (a fast check; 2020-12 reads such
    schemas the same way) unless it uses draft-07's array form of `items`; else draft-04 when that
    meta-schema accepts it (real MCP servers still emit boolean `exclusiveMinimum` without saying
    so); else draft 2020-12, unchecked.
    """
    declared = schema.get("$schema")
    if isinstance(declared, str):
        cls = jsonschema.validators.validator_for({"$schema": declared}, default=None)
        if cls is not None:
            return cls, False
    if _meta_validator(jsonschema.Draft7Validator).is_valid(schema):
        return (jsonschema.Draft7Validator if _has_tuple_items(schema) else jsonschema.Draft202012Validator), True
    if _meta_validator(jsonschema.Draft4Validator).is_valid(schema):
        return jsonschema.Draft4Validator, True
    return jsonschema.Draft202012Validator, False


def validator_class_for(schema: Mapping[str, Any]) -> type[Validator]:
    """The jsonschema validator class for a schema (see `_draft_of`), with safe regular expressions."""
    return safe_validator_class(_draft_of(schema)[0])


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "string"):
        return
    try:
        if not patterns.search(pattern, instance):
            yield ValidationError(f"{instance!r} does not match {pattern!r}")
    except patterns.PatternTimeout as e:
        yield ValidationError(f"{instance[:60]!r} could not be checked against {pattern!r}: {e}")
    except patterns.PatternError as e:
        yield ValidationError(str(e))


def _matches(pattern: str, key: str) -> bool:
    try:
        return patterns.search(pattern, key)
    except ValueError:  # a timed-out or broken pattern does not claim the key
        return False


def _pattern_properties(validator: Any, pattern_properties: Any, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, value in instance.items():
            if _matches(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, additional: Any, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    declared = schema.get("properties", {})
    pattern_props = schema.get("patternProperties", {})
    extras = [k for k in instance if k not in declared and not any(_matches(p, k) for p in pattern_props)]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        joined = ", ".join(repr(each) for each in sorted(extras, key=str))
        if pattern_props:
            verb = "does" if len(extras) == 1 else "do"
            yield ValidationError(f"{joined} {verb} not match any of the regexes: "
                                  + ", ".join(repr(p) for p in sorted(pattern_props)))
        else:
            verb = "was" if len(extras) == 1 else "were"
            yield ValidationError(f"Additional properties are not allowed ({joined} {verb} unexpected)")


@cache
def safe_validator_class(cls: type[Validator]) -> type[Validator]:
    """`cls` with `pattern`, `patternProperties` and `additionalProperties` matched by the safe engine."""
    safe = jsonschema.validators.extend(cls, {"pattern": _pattern, "patternProperties": _pattern_properties,
                                              "additionalProperties": _additional_properties})
    safe.__name__ = safe.__qualname__ = cls.__name__  # still says which draft it reads
    return safe


def _has_tuple_items(node: object) -> bool:
    if isinstance(node, Mapping):
        return isinstance(node.get("items"), list) or any(_has_tuple_items(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_tuple_items(v) for v in node)
    return False


def schema_problems(schema: object, where: str) -> list[tuple[str, str]]:
    """(pointer, message) for each way `schema` is not a usable JSON Schema; `where` prefixes pointers."""
    if not isinstance(schema, Mapping):
        return [(where, f"must be a JSON Schema object, got {type(schema).__name__}")]
    cls, accepted = _draft_of(schema)
    if not accepted:
        problems = [(where + json_pointer(err.absolute_path), err.message)
                    for err in _meta_validator(cls).iter_errors(schema)]
        if problems:
            return problems
    try:
        # $refs are resolved lazily at validation time; resolve every local one now so that a bad
        # one fails at load time, not at call time.
        _check_local_refs(schema, schema, where)
    except _RefProblem as e:
        return [(e.pointer, e.message)]
    return []


class _RefProblem(Exception):
    def __init__(self, pointer: str, message: str) -> None:
        self.pointer, self.message = pointer, message


def _check_local_refs(node: object, root: Mapping[str, Any], where: str, path: tuple = ()) -> None:
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            target: object = root
            for raw in ref[1:].lstrip("/").split("/") if ref not in ("#", "#/") else []:
                key = raw.replace("~1", "/").replace("~0", "~")
                if isinstance(target, Mapping) and key in target:
                    target = target[key]
                elif isinstance(target, list) and key.isdigit() and int(key) < len(target):
                    target = target[int(key)]
                else:
                    raise _RefProblem(where + json_pointer((*path, "$ref")), f"$ref {ref!r} points nowhere")
        for key, value in node.items():
            _check_local_refs(value, root, where, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_local_refs(value, root, where, (*path, i))
