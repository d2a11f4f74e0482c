"""Importing resources, resource templates and prompts from the documents tools come in.

- MCP dumps: `resources`, `resourceTemplates` and `prompts` beside `tools` (or under a JSON-RPC
  `result`), entries in the MCP wire form (`uri`, `name`, `mimeType`, `uriTemplate`, `arguments`,
  ...). What the wire form has no field for (recorded content, completion values, message
  templates, recordings) rides in the entry's `_meta["gtm-mcp/definition"]`, as `gtm-mcp mirror`
  writes it.
- GTM documents (`{"format": "gtm", ...}`): `resources`, `resource_templates` and `prompts` whose
  entries are the contract's fields in snake_case (`content`, `content_schema`, `values`,
  `messages`, `recordings`, ...).

Bad entries become problems naming the file, the entry and its JSON pointer, like tools.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from gtm_mcp.contract.definition import Origin, OriginKind
from gtm_mcp.contract.errors import ToolProblem
from gtm_mcp.contract.surface import (
    META_KEY,
    PromptDefinition,
    ResourceDefinition,
    ResourceTemplateDefinition,
    SurfaceDefinitions,
)

#: document key -> (contract model, the key it is named by in problems, kind word)
SECTIONS: dict[str, tuple[type[BaseModel], str, str]] = {
    "resources": (ResourceDefinition, "uri", "resource"),
    "resourceTemplates": (ResourceTemplateDefinition, "uri_template", "resource template"),
    "resource_templates": (ResourceTemplateDefinition, "uri_template", "resource template"),
    "prompts": (PromptDefinition, "name", "prompt"),
}
_WIRE = {"mimeType": "mime_type", "uriTemplate": "uri_template"}
_ATTR = {ResourceDefinition: "resources", ResourceTemplateDefinition: "templates", PromptDefinition: "prompts"}


def _unwrap(doc: Any) -> tuple[str, Any]:
    if isinstance(doc, dict) and isinstance(doc.get("result"), dict) and any(k in doc["result"] for k in SECTIONS):
        return "/result", doc["result"]
    return "", doc


def has_surface(doc: Any) -> bool:
    """Whether a document holds any resource, resource template or prompt section."""
    _, doc = _unwrap(doc)
    return isinstance(doc, dict) and any(isinstance(doc.get(k), list) for k in SECTIONS)


def _fields(item: dict[str, Any], model: type[BaseModel], strict: bool) -> dict[str, Any]:
    """Contract fields of one entry, from the MCP wire form (fields MCP has and the contract does
    not, such as icons, are dropped) or the GTM form (`strict`: unknown fields are refused)."""
    fields = {_WIRE.get(k, k): v for k, v in item.items() if k != "_meta"}
    if not strict:
        fields = {k: v for k, v in fields.items() if k in model.model_fields}
    meta = item.get("_meta")
    extra = meta.get(META_KEY) if isinstance(meta, dict) else None
    if isinstance(extra, dict):
        values = extra.get("argument_values")
        fields.update({k: v for k, v in extra.items() if k != "argument_values"})
        if model is PromptDefinition and isinstance(values, dict) and isinstance(fields.get("arguments"), list):
            fields["arguments"] = [{**a, "values": values.get(a.get("name"), ())} if isinstance(a, dict) else a
                                   for a in fields["arguments"]]
    if model is PromptDefinition and fields.get("description") is None:
        fields["description"] = ""
    if model is not PromptDefinition and fields.get("description") is None:
        fields.pop("description", None)
    return fields


def parse_surface(doc: Any, file: str, *, kind: OriginKind = "file",
                  server: str | None = None) -> tuple[SurfaceDefinitions, list[ToolProblem]]:
    """The resources, templates and prompts of one parsed document, and the problems found."""
    prefix, doc = _unwrap(doc)
    found = SurfaceDefinitions()
    problems: list[ToolProblem] = []
    if not isinstance(doc, dict):
        return found, problems
    strict = doc.get("format") == "gtm"
    for key, (model, label, word) in SECTIONS.items():
        entries = doc.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list):
            problems.append(ToolProblem(file, None, f"{prefix}/{key}", f"expected a list of {word} definitions",
                                        kind=word))
            continue
        for i, item in enumerate(entries):
            pointer = f"{prefix}/{key}/{i}"
            name = item.get(label) or item.get({"uri_template": "uriTemplate"}.get(label, label)) \
                if isinstance(item, dict) else None
            name = name if isinstance(name, str) else None
            if not isinstance(item, dict):
                problems.append(ToolProblem(file, None, pointer, f"expected a {word} object, got "
                                            f"{type(item).__name__}", kind=word))
                continue
            fields = _fields(item, model, strict)
            if server and "server" not in fields:
                fields["server"] = server
            try:
                definition = model(**fields, origin=Origin(kind=kind, file=file, pointer=pointer))
            except ValidationError as e:
                for err in e.errors():
                    at = "/".join(str(p) for p in err["loc"])
                    problems.append(ToolProblem(file, name, f"{pointer}/{at}".rstrip("/"),
                                                err["msg"].removeprefix("Value error, "), kind=word))
                continue
            bad = definition.problems()  # type: ignore[attr-defined]
            if bad:
                problems += [ToolProblem(file, name, pointer + p, m, kind=word) for p, m in bad]
                continue
            getattr(found, _ATTR[model]).append(definition)
    return found, problems


def surface_duplicates(surface: SurfaceDefinitions) -> list[ToolProblem]:
    """Resources sharing a URI, templates sharing a template, prompts sharing a name."""
    problems: list[ToolProblem] = []
    for items, key, word in ((surface.resources, "uri", "resource"),
                             (surface.templates, "uri_template", "resource template"),
                             (surface.prompts, "name", "prompt")):
        seen: dict[str, Any] = {}
        for item in items:
            name = getattr(item, key)
            if name in seen and seen[name] != item:
                origin = item.origin or Origin(kind="code")
                problems.append(ToolProblem(origin.location, name, origin.pointer, f"duplicate {word}: {name!r} is "
                                            f"also defined at {seen[name].source}", kind=word))
            seen.setdefault(name, item)
    return problems


def dedupe(surface: SurfaceDefinitions) -> SurfaceDefinitions:
    """The first of each URI / template / prompt name (exact repeats and clashes alike; clashes are
    reported by `surface_duplicates`)."""
    out = SurfaceDefinitions()
    for items, key, target in ((surface.resources, "uri", out.resources),
                               (surface.templates, "uri_template", out.templates),
                               (surface.prompts, "name", out.prompts)):
        seen: set[str] = set()
        for item in items:
            if getattr(item, key) not in seen:
                seen.add(getattr(item, key))
                target.append(item)  # type: ignore[arg-type]
    return out
