"""The tool definition: what importers produce from every format users have, what the catalog
registers, what backends simulate and what training data is rendered from.

Every definition carries its `origin` (file, line, JSON pointer, or the admin route / mirrored
server it came from) so that problems, duplicates and reloads of watched files name the exact place.
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from typing import Any, Literal

from jsonschema.protocols import Validator
from pydantic import BaseModel, ConfigDict, Field, field_validator

from gtm_mcp.contract.content import ContentSpec
from gtm_mcp.contract.errors import ToolProblem
from gtm_mcp.contract.schemas import schema_problems, validator_class_for

#: Names MCP clients and model APIs accept: no whitespace or control characters, at most 128 chars.
NAME_PATTERN = re.compile(r"^[^\s\x00-\x1f\x7f]{1,128}$")

OriginKind = Literal["file", "admin", "mirror", "code"]
#: `_meta` key of an MCP tool entry declaring its output content (`ToolDefinition.output_content`).
OUTPUT_CONTENT_META = "gtm-mcp/output-content"
#: How a tool checks its arguments (see gtm_mcp/calls/checking.py): `strict` is the JSON Schema as
#: written with undeclared parameters refused; `pydantic` and `zod` are what a Python (official SDK)
#: or TypeScript MCP server does with the same schema. None: the server's `--check-profile`.
CheckProfile = Literal["strict", "pydantic", "zod"]


class Origin(BaseModel):
    """Where a definition was loaded from. `file` is a path for files (or a label such as
    `admin` or `mirror:<server>`), `line` the line of a JSON Lines record, `pointer` the JSON
    pointer of the tool inside its document."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: OriginKind = "file"
    file: str = ""
    line: int | None = None
    pointer: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}#{self.pointer}"

    @property
    def location(self) -> str:
        """The file (with `:LINE` for JSON Lines), as problems name it."""
        return f"{self.file}:{self.line}" if self.line is not None else self.file


class ToolDefinition(BaseModel):
    """A tool as the whole project sees it.

    `input_schema` is a JSON Schema for the arguments object (its top-level `type` is `object`);
    `output_schema`, when present, is the JSON Schema every simulated result must satisfy.
    `domains` are free labels (e.g. ``"Finance/Stocks"``); `server` names the MCP server or API
    the tool came from, when the source says so. `check_profile` says which real implementation's
    argument checking the tool has (None: the server's default). `output_content` declares the
    content items of a result when they are more than text and structured JSON (images, audio,
    embedded resources; see `ContentSpec`); None means text. `origin` records where it was loaded
    from and is neither part of `identity()` nor of the serialised definition.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: str
    description: str = ""
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    output_schema: dict[str, Any] | None = None
    domains: tuple[str, ...] = ()
    server: str | None = None
    check_profile: CheckProfile | None = None
    output_content: tuple[ContentSpec, ...] | None = None
    origin: Origin | None = Field(default=None, exclude=True, repr=False)

    @property
    def source(self) -> str | None:
        """The origin as one string (`file:LINE#pointer`), for messages."""
        return str(self.origin) if self.origin is not None else None

    @field_validator("input_schema", "output_schema", mode="before")
    @classmethod
    def _object_type_explicit(cls, schema: Any) -> Any:
        """MCP requires `"type": "object"` on tool schemas; a schema that leaves `type` out gets it
        (one that names another type is refused by `problems()`)."""
        if isinstance(schema, dict) and "type" not in schema:
            return {"type": "object", **schema}
        return schema

    @field_validator("output_content")
    @classmethod
    def _content_declared(cls, content: tuple[ContentSpec, ...] | None) -> tuple[ContentSpec, ...] | None:
        return content or None  # an empty declaration means the default: text

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
        if self.output_content:
            entry["_meta"] = {OUTPUT_CONTENT_META: [c.model_dump(exclude_none=True) for c in self.output_content]}
        return entry

    def to_gtm(self) -> dict[str, Any]:
        """The GTM unified-format record (see README, "Tool formats")."""
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=False)


def checked(tool: ToolDefinition, file: str, pointer: str = "") -> list[ToolProblem]:
    """Problems of an already-built tool, with the file and the tool's own pointer prefixed."""
    return [ToolProblem(file, tool.name, pointer + p, m) for p, m in tool.problems()]
