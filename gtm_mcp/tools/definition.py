"""The tool definition: the one contract every package of the project shares.

A `ToolDefinition` is what importers produce from every format users have, what the catalog
registers, what backends simulate and what training data is rendered from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache, cached_property
from typing import Any

import jsonschema
from jsonschema.protocols import Validator
from pydantic import BaseModel, ConfigDict, Field, field_validator

from gtm_mcp.tools.errors import ToolProblem, json_pointer

#: Names MCP clients and model APIs accept: no whitespace or control characters, at most 128 chars.
NAME_PATTERN = re.compile(r"^[^\s\x00-\x1f\x7f]{1,128}$")

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
    """The jsonschema validator class for a schema (see `_draft_of`)."""
    return _draft_of(schema)[0]


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


class ToolDefinition(BaseModel):
    """A tool as the whole project sees it.

    `input_schema` is a JSON Schema for the arguments object (its top-level `type` is `object`);
    `output_schema`, when present, is the JSON Schema every simulated result must satisfy.
    `domains` are free labels (e.g. ``"Finance/Stocks"``); `server` names the MCP server or API
    the tool came from, when the source says so. `source` records where it was loaded from and
    is not part of `identity()`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: str
    description: str = ""
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    output_schema: dict[str, Any] | None = None
    domains: tuple[str, ...] = ()
    server: str | None = None
    source: str | None = Field(default=None, exclude=True, repr=False)

    @field_validator("input_schema", "output_schema", mode="before")
    @classmethod
    def _object_type_explicit(cls, schema: Any) -> Any:
        """MCP requires `"type": "object"` on tool schemas; a schema that leaves `type` out gets it
        (one that names another type is refused by `problems()`)."""
        if isinstance(schema, dict) and "type" not in schema:
            return {"type": "object", **schema}
        return schema

    @field_validator("name")
    @classmethod
    def _name_is_usable(cls, name: str) -> str:
        if not NAME_PATTERN.match(name):
            raise ValueError(
                f"tool name {name!r} must be 1-128 characters without whitespace or control characters"
            )
        return name

    def identity(self) -> tuple[str, str | None, str, str]:
        """What makes two definitions the same API: name, server, description and input schema
        (output schemas and domains may differ between observations of one API)."""
        return (self.name, self.server, self.description, json.dumps(self.input_schema, sort_keys=True))

    @cached_property
    def input_validator(self) -> Validator:
        """A compiled validator for arguments (format checks on)."""
        cls = validator_class_for(self.input_schema)
        return cls(self.input_schema, format_checker=cls.FORMAT_CHECKER)

    @cached_property
    def output_validator(self) -> Validator | None:
        if self.output_schema is None:
            return None
        cls = validator_class_for(self.output_schema)
        return cls(self.output_schema, format_checker=cls.FORMAT_CHECKER)

    def problems(self) -> list[tuple[str, str]]:
        """(pointer, message) for every problem in this definition's schemas; empty when usable."""
        found = schema_problems(self.input_schema, "/input_schema")
        if not found and self.input_schema.get("type", "object") != "object":
            found.append(("/input_schema/type", f"must be \"object\" (tool arguments are an object), "
                          f"got {self.input_schema.get('type')!r}"))
        if self.output_schema is not None:
            found += schema_problems(self.output_schema, "/output_schema")
            if not found and self.output_schema.get("type", "object") != "object":
                found.append(("/output_schema/type", "must be \"object\": MCP structured content is an object"))
        return found

    def to_mcp(self) -> dict[str, Any]:
        """The MCP `tools/list` entry (camelCase wire form)."""
        entry: dict[str, Any] = {"name": self.name, "description": self.description,
                                 "inputSchema": self.input_schema}
        if self.output_schema is not None:
            entry["outputSchema"] = self.output_schema
        return entry

    def to_gtm(self) -> dict[str, Any]:
        """The GTM unified-format record (see README, "Tool formats")."""
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=False)


def checked(tool: ToolDefinition, file: str, pointer: str = "") -> list[ToolProblem]:
    """Problems of an already-built tool, with the file and the tool's own pointer prefixed."""
    return [ToolProblem(file, tool.name, pointer + p, m) for p, m in tool.problems()]
