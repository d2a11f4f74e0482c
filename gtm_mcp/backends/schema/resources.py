"""The schema backend's answer to a `resources/read`: content of the resource's MIME type.

The session world answers first (its public API, `World.read`): a thing a call made under the
URI, or under one of the template's variables (a path, a name, an id), reads back as made: its
content field as the text of a text resource, its fields as a JSON resource. Otherwise the values
come from the same engine as tool outputs (seeded, echoing the template's variables; a closed world
refuses what it does not hold) and are written in the MIME type's form: JSON, plain text,
Markdown, CSV, HTML, XML or YAML. Binary types never reach a backend (see
`gtm_mcp.surface.resources`).
"""

from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import replace
from typing import Any
from xml.sax.saxutils import escape

import yaml

from gtm_mcp.backends.schema.world import World, looks_like_path
from gtm_mcp.contract.content import is_json_mime
from gtm_mcp.contract.records import SimulationRequest, ToolOutput

ANY_OBJECT: dict[str, Any] = {"type": "object"}
#: Fields whose value is a thing's content (what a text resource reads as).
CONTENT_FIELDS = ("content", "contents", "text", "body", "markdown", "data", "value")


def _title(request: SimulationRequest) -> str:
    assert request.resource is not None
    definition = request.resource.definition
    title = definition.title or definition.name
    if request.resource.variables:
        title += " (" + ", ".join(f"{k}: {v}" for k, v in request.resource.variables.items()) + ")"
    return title


def _flat(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def render_content(values: dict[str, Any], mime_type: str, title: str, description: str) -> str:
    """The values written as `mime_type` text."""
    base = mime_type.split(";")[0].strip().lower()
    if is_json_mime(base):
        return json.dumps(values, ensure_ascii=False, indent=2)
    if base in ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"):
        return yaml.safe_dump(values, allow_unicode=True, sort_keys=False)
    if base == "text/csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(list(values))
        writer.writerow([_flat(v) for v in values.values()])
        return out.getvalue()
    if base == "text/markdown":
        lines = [f"# {title}", ""] + ([description, ""] if description else [])
        lines += [f"- **{k}**: {_flat(v)}" for k, v in values.items()]
        return "\n".join(lines) + "\n"
    if base == "text/html":
        items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(_flat(v))}</dd>" for k, v in values.items())
        return (f"<!DOCTYPE html>\n<html><head><title>{html.escape(title)}</title></head><body>"
                f"<h1>{html.escape(title)}</h1><dl>{items}</dl></body></html>\n")
    if base in ("application/xml", "text/xml") or base.endswith("+xml"):
        fields = "".join(f"<{_tag(k)}>{escape(_flat(v))}</{_tag(k)}>" for k, v in values.items())
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<resource>{fields}</resource>\n'
    lines = [title] + ([description] if description else []) + [""]
    lines += [f"{k}: {_flat(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def _tag(key: str) -> str:
    tag = "".join(c if c.isalnum() or c in "_-." else "_" for c in key)
    return tag if tag and (tag[0].isalpha() or tag[0] == "_") else f"_{tag}"


def held_by_world(world: World, request: SimulationRequest) -> dict[str, Any] | None:
    """The fields of the thing the world holds for this read: under the URI, else under a template
    variable's value (as a path too, when it looks like one)."""
    assert request.resource is not None
    keys: list[str] = [request.resource.uri]
    for value in request.resource.variables.values():
        keys.append(value)
        if not value.startswith("/") and (looks_like_path(value) or "." in value):
            keys.append("/" + value)
    for key in keys:
        found = world.read(key)
        if found is not None:
            return found
    return None


def resource_answer(backend: Any, request: SimulationRequest) -> ToolOutput:
    """The content of the resource `request.resource` names, as the schema backend writes it:
    a JSON object for JSON types (the resource's content schema when it has one), text otherwise."""
    assert request.resource is not None
    read = request.resource
    world = World.of(request.state, request.world, seed=backend.seed, rules=getattr(backend, "rules", None))
    held = held_by_world(world, request)
    if held is not None and not is_json_mime(read.mime_type) and read.content_schema is None:
        text = next((held[f] for f in CONTENT_FIELDS if isinstance(held.get(f), str)), None)
        if text is not None:
            return ToolOutput(text)
    made = backend.simulate_now(replace(request, output_schema=request.output_schema or ANY_OBJECT))
    if isinstance(made, ToolOutput):
        if made.is_error:
            return made  # the world refuses (a closed world does not hold it): "not found" in its words
        made = made.value if isinstance(made.value, dict) else {"content": made.value}
    values = {**made, **(held or {})} if read.content_schema is None else made
    if is_json_mime(read.mime_type):
        return ToolOutput(values)
    return ToolOutput(render_content(values, read.mime_type, _title(request), read.definition.description))
