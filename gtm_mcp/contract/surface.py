"""The rest of an MCP server's surface, defined like tools: resources, resource templates, prompts,
and the kinds of content a tool's result carries beyond JSON and text.

- `ResourceDefinition`: a resource at a fixed URI (`resources/list`), optionally with recorded
  `content` (what the real server returned, for mirrors) and, for JSON resources, a `content_schema`.
- `ResourceTemplateDefinition`: a family of resources (`resources/templates/list`), e.g.
  `orders://{order_id}`, with completion `values` per variable.
- `PromptDefinition`: a prompt (`prompts/list`, `prompts/get`) with its arguments, an optional
  message template (`{{argument}}` placeholders) and `recordings`: exact answers a real server gave
  for given arguments (mirrors replay them).
- `ContentSpec`: one content item a tool's result carries (`ToolDefinition.output_content`), e.g.
  `{"type": "image", "mime_type": "image/png"}`; a tool without it answers with text (and
  structured content).
- `ResourceRead`: a `resources/read` handed to a backend (`SimulationRequest.resource`).

Every definition records its `origin`, like tools; none imports anything outside the contract.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gtm_mcp.contract.content import ContentSpec, is_json_mime, is_text_mime
from gtm_mcp.contract.definition import NAME_PATTERN, Origin, ToolDefinition
from gtm_mcp.contract.schemas import schema_problems
from gtm_mcp.contract.uri_template import UriTemplateError, parse_template

__all__ = ["URI_PATTERN", "ContentSpec", "PromptArgumentDefinition", "PromptDefinition", "PromptMessageTemplate",
           "PromptRecording", "ResourceContent", "ResourceDefinition", "ResourceRead", "ResourceTemplateDefinition",
           "SurfaceDefinitions", "is_json_mime", "is_text_mime"]

#: A URI needs a scheme (`file:`, `memo:`, `test://...`): RFC 3986.
URI_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$")
Role = Literal["user", "assistant"]
class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ResourceContent(_Frozen):
    """Fixed content of a resource: `text`, or `blob` (base64)."""

    text: str | None = None
    blob: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ResourceContent:
        if (self.text is None) == (self.blob is None):
            raise ValueError("resource content needs exactly one of \"text\" or \"blob\"")
        return self


class _Described(_Frozen):
    name: str
    title: str | None = None
    description: str = ""
    mime_type: str | None = None
    annotations: dict[str, Any] | None = None
    server: str | None = None
    origin: Origin | None = Field(default=None, exclude=True, repr=False)

    @property
    def source(self) -> str | None:
        return str(self.origin) if self.origin is not None else None


class ResourceDefinition(_Described):
    """A resource at a fixed URI. Reads return `content` when given (what a mirrored server
    returned), else content a backend writes for the MIME type, the same within a session until a
    simulated call changes it. `content_schema` is the JSON Schema of JSON content."""

    uri: str
    size: int | None = None
    content: ResourceContent | None = None
    content_schema: dict[str, Any] | None = None

    @field_validator("uri")
    @classmethod
    def _uri_has_scheme(cls, uri: str) -> str:
        if not URI_PATTERN.match(uri) or len(uri) > 4096:
            raise ValueError(f"resource uri {uri!r} must be an absolute URI with a scheme (e.g. file:///a.txt, "
                             "memo://notes) and no whitespace")
        return uri

    def problems(self) -> list[tuple[str, str]]:
        return schema_problems(self.content_schema, "/content_schema") if self.content_schema is not None else []

    def to_mcp(self) -> dict[str, Any]:
        """The `resources/list` entry (camelCase wire form)."""
        entry = _wire(self, "uri", "name", "title", "description", "mime_type", "size", "annotations")
        return entry


class ResourceTemplateDefinition(_Described):
    """A family of resources named by an RFC 6570 URI template. `values` lists completion values
    per template variable (what `completion/complete` offers first)."""

    uri_template: str
    values: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    content_schema: dict[str, Any] | None = None

    @field_validator("uri_template")
    @classmethod
    def _parses(cls, uri_template: str) -> str:
        try:
            template = parse_template(uri_template)
        except UriTemplateError as e:
            raise ValueError(f"uri template {uri_template!r}: {e}") from None
        if not URI_PATTERN.match(uri_template.split("{")[0] + "x") or not template.variables:
            raise ValueError(f"uri template {uri_template!r} must start with a scheme and name at least one "
                             "{variable}")
        return uri_template

    @field_validator("values", mode="before")
    @classmethod
    def _values_as_tuples(cls, values: Any) -> Any:
        if isinstance(values, dict):
            return {k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in values.items()}
        return values

    @property
    def variables(self) -> list[str]:
        return parse_template(self.uri_template).variables

    def match(self, uri: str) -> dict[str, str] | None:
        return parse_template(self.uri_template).match(uri)

    def problems(self) -> list[tuple[str, str]]:
        found = schema_problems(self.content_schema, "/content_schema") if self.content_schema is not None else []
        unknown = sorted(set(self.values) - set(self.variables))
        if unknown:
            found.append((f"/values/{unknown[0]}", f"not a variable of {self.uri_template!r} (variables: "
                          f"{', '.join(self.variables)})"))
        return found

    def to_mcp(self) -> dict[str, Any]:
        """The `resources/templates/list` entry (camelCase wire form)."""
        return _wire(self, "uri_template", "name", "title", "description", "mime_type", "annotations")


class PromptArgumentDefinition(_Frozen):
    name: str
    title: str | None = None
    description: str | None = None
    required: bool = False
    #: completion values (suggestions; any string is accepted)
    values: tuple[str, ...] = ()


class PromptMessageTemplate(_Frozen):
    """One message of a prompt: `content` is MCP content (text, image, audio, resource,
    resource_link) whose strings may hold `{{argument}}` placeholders."""

    role: Role
    content: dict[str, Any]

    @field_validator("content")
    @classmethod
    def _is_content(cls, content: dict[str, Any]) -> dict[str, Any]:
        kind = content.get("type")
        # image / audio without `data` get a small valid file of their mimeType when the prompt is got
        needs = {"text": ("text",), "image": (), "audio": (), "resource": ("resource",),
                 "resource_link": ("uri", "name")}
        if kind not in needs:
            raise ValueError(f"message content type must be one of {sorted(needs)}, got {kind!r}")
        missing = [k for k in needs[kind] if k not in content]
        if missing:
            raise ValueError(f"{kind} content needs {', '.join(missing)}")
        return content


class PromptRecording(_Frozen):
    """What a real server's `prompts/get` returned for these arguments (replayed exactly)."""

    arguments: dict[str, str] = Field(default_factory=dict)
    messages: tuple[PromptMessageTemplate, ...]
    description: str | None = None


class PromptDefinition(_Frozen):
    """A prompt. `prompts/get` answers, in order: a recording made with exactly the given
    arguments; the `messages` template with `{{argument}}` substituted (a template recorded with
    the same set of arguments first); else one user message built from the description and the
    arguments."""

    name: str
    title: str | None = None
    description: str = ""
    arguments: tuple[PromptArgumentDefinition, ...] = ()
    messages: tuple[PromptMessageTemplate, ...] | None = None
    #: templates recorded from a real server, keyed by the sorted argument names they were made with
    templates: dict[str, tuple[PromptMessageTemplate, ...]] = Field(default_factory=dict)
    recordings: tuple[PromptRecording, ...] = ()
    server: str | None = None
    origin: Origin | None = Field(default=None, exclude=True, repr=False)

    @property
    def source(self) -> str | None:
        return str(self.origin) if self.origin is not None else None

    @field_validator("name")
    @classmethod
    def _name_is_usable(cls, name: str) -> str:
        if not NAME_PATTERN.match(name):
            raise ValueError(f"prompt name {name!r} must be 1-128 characters without whitespace or control "
                             "characters")
        return name

    def argument(self, name: str) -> PromptArgumentDefinition | None:
        return next((a for a in self.arguments if a.name == name), None)

    def problems(self) -> list[tuple[str, str]]:
        names = [a.name for a in self.arguments]
        found = []
        if len(set(names)) != len(names):
            found.append(("/arguments", f"argument names repeat: {names}"))
        for i, recording in enumerate(self.recordings):
            unknown = sorted(set(recording.arguments) - set(names))
            if unknown:
                found.append((f"/recordings/{i}/arguments", f"unknown argument(s) {unknown}"))
        return found

    def to_mcp(self) -> dict[str, Any]:
        """The `prompts/list` entry (camelCase wire form)."""
        entry: dict[str, Any] = {"name": self.name}
        if self.title:
            entry["title"] = self.title
        entry["description"] = self.description
        if self.arguments:
            entry["arguments"] = [{k: v for k, v in (("name", a.name), ("title", a.title),
                                                     ("description", a.description), ("required", a.required))
                                   if v is not None} for a in self.arguments]
        return entry


def _wire(model: BaseModel, *fields: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(model, name)
        if value is None or (name == "description" and not value):
            continue
        out[_camel(name)] = value
    return out


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


@dataclass
class SurfaceDefinitions:
    """Resources, resource templates and prompts loaded together (one file, one mirror)."""

    resources: list[ResourceDefinition] = field(default_factory=list)
    templates: list[ResourceTemplateDefinition] = field(default_factory=list)
    prompts: list[PromptDefinition] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.resources) + len(self.templates) + len(self.prompts)

    def extend(self, other: SurfaceDefinitions) -> SurfaceDefinitions:
        self.resources += other.resources
        self.templates += other.templates
        self.prompts += other.prompts
        return self

    @classmethod
    def concat(cls, parts: Iterable[SurfaceDefinitions]) -> SurfaceDefinitions:
        total = cls()
        for part in parts:
            total.extend(part)
        return total

    def to_mcp(self) -> dict[str, Any]:
        """The MCP dump form: `resources`, `resourceTemplates`, `prompts` (wire entries, plus the
        recorded content / values / recordings under `_meta` so that a dump reloads losslessly)."""
        return {"resources": [_with_meta(r.to_mcp(), r, "content", "content_schema") for r in self.resources],
                "resourceTemplates": [_with_meta(t.to_mcp(), t, "values", "content_schema") for t in self.templates],
                "prompts": [_with_meta(p.to_mcp(), p, "messages", "templates", "recordings", "arguments")
                            for p in self.prompts]}


#: `_meta` key under which MCP dumps carry what the MCP wire form has no field for.
META_KEY = "gtm-mcp/definition"


def _with_meta(entry: dict[str, Any], model: BaseModel, *fields: str) -> dict[str, Any]:
    extra = {}
    for name in fields:
        value = getattr(model, name)
        if value in (None, {}, ()):
            continue
        if name == "arguments":  # completion values of arguments only
            values = {a.name: list(a.values) for a in value if a.values}
            if values:
                extra["argument_values"] = values
            continue
        extra[name] = _plain(value)
    if extra:
        entry["_meta"] = {META_KEY: extra}
    return entry


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class ResourceRead:
    """A `resources/read` a backend answers (`SimulationRequest.resource`): the URI, the
    definition it matched, the template's variables, and the MIME type to write."""

    uri: str
    definition: ResourceDefinition | ResourceTemplateDefinition
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def mime_type(self) -> str:
        return self.definition.mime_type or "text/plain"

    @property
    def content_schema(self) -> dict[str, Any] | None:
        return self.definition.content_schema

    def as_tool(self) -> ToolDefinition:
        """The stand-in tool a backend sees for this read: named after the resource, described by it,
        with the template variables as its parameters and the content schema (if an object) as its
        output schema."""
        name = re.sub(r"[^A-Za-z0-9_-]+", "_", self.definition.name).strip("_") or "resource"
        properties = {v: {"type": "string"} for v in self.variables}
        schema = self.content_schema
        return ToolDefinition(name=name[:128], description=self.definition.description,
                              input_schema={"type": "object", "properties": properties},
                              output_schema=schema if schema and schema.get("type", "object") == "object" else None)
