"""Mirroring the rest of a live MCP server: its resources, resource templates and prompts (beside
its tools, which `gtm_mcp.tools.mirror` copies).

At mirror time, over one connection:
- every list is copied as the server defines it (`resources/list`, `resources/templates/list`,
  `prompts/list`, following cursors); a server without a capability just has none of it;
- static resources are read once and their content recorded (up to `max_content_bytes` each), so the
  mirror serves what the real server held;
- completion values are recorded for every prompt argument and template variable (what the server
  completes for an empty prefix);
- each prompt's `prompts/get` is recorded: first with placeholder values (`{{argument}}`), which
  turns the real messages into a template for any arguments (once with every argument, once with
  the required ones only); a server that refuses placeholders is recorded with a few combinations
  of values it accepts (those it completes, else guesses such as "1" for ids);
- with `probe=True`, read-only tools that need no arguments (`readOnlyHint`) are called once and
  the kinds of content they return (image, audio, embedded resource, link) become the mirrored
  tool's `output_content`.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

import anyio

from gtm_mcp.contract.content import ContentSpec
from gtm_mcp.contract.errors import ToolLoadError, ToolProblem
from gtm_mcp.contract.surface import META_KEY, SurfaceDefinitions
from gtm_mcp.tools.mirror import _target
from gtm_mcp.tools.surface_formats import parse_surface

log = logging.getLogger(__name__)
MAX_RESOURCES_READ = 200
MAX_PAGES = 100
PROBE_TIMEOUT_S = 5.0
#: prompts/get recordings per prompt and argument set, when placeholders are refused
MAX_RECORDINGS = 6
MAX_VALUES_PER_ARGUMENT = 3


def _guesses(name: str) -> list[str]:
    """Values to try for an argument the server completes nothing for."""
    low = name.lower()
    if low.endswith(("id", "count", "number", "index", "limit", "size")) or low in ("n", "page"):
        return ["1", "2"]
    return ["example"]


@dataclass
class MirroredSurface:
    """What a live server offers besides tools, as an MCP dump (`entries`) and as definitions."""

    entries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    surface: SurfaceDefinitions = field(default_factory=SurfaceDefinitions)
    #: tool name -> the content kinds its probed result carried
    output_content: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


async def _paged(fetch: Any, attribute: str) -> list[Any]:
    items: list[Any] = []
    cursor = None
    for _ in range(MAX_PAGES):
        page = await fetch(cursor=cursor)
        items += getattr(page, attribute)
        cursor = page.next_cursor
        if not cursor:
            break
    return items


async def _quietly(what: str, call: Any, default: Any) -> Any:
    """A call the server may not support (no such capability): its default instead of an error."""
    try:
        return await call()
    except Exception as e:  # MCPError (method not found, refused), validation errors, timeouts
        log.info("mirror: %s not recorded: %s", what, e)
        return default


async def _completions(client: Any, ref: dict[str, Any], name: str) -> list[str]:
    async def ask() -> list[str]:
        result = await client.complete(ref, {"name": name, "value": ""})
        return [v for v in result.completion.values if isinstance(v, str)]

    return await _quietly(f"completion of {name}", ask, [])


def _templated(uri: str | None, defaults: dict[str, str]) -> str | None:
    """A URI the probe got with default arguments, with each path segment that equals an argument's
    default turned into `{argument}` (so that other arguments name other resources)."""
    if not uri or not defaults:
        return uri
    head, sep, path = uri.partition("://")
    if not sep:
        return uri
    by_value = {v: k for k, v in defaults.items() if v}
    return head + sep + "/".join("{" + by_value[seg] + "}" if seg in by_value else seg for seg in path.split("/"))


def _content_spec(item: dict[str, Any], defaults: dict[str, str]) -> dict[str, Any]:
    kind = item.get("type")
    if kind in ("image", "audio"):
        return {"type": kind, "mime_type": item.get("mimeType")}
    if kind == "resource":
        resource = item.get("resource") or {}
        return {"type": "resource", "mime_type": resource.get("mimeType"),
                "uri": _templated(resource.get("uri"), defaults)}
    if kind == "resource_link":
        return {"type": "resource_link", "mime_type": item.get("mimeType"),
                "uri": _templated(item.get("uri"), defaults)}
    return {"type": "text"}


async def fetch_surface(spec: str, *, timeout_s: float = 60.0, max_content_bytes: int = 64 * 1024,
                        probe: bool = False) -> MirroredSurface:
    """Copy what the server at `spec` (URL or command) offers besides tools; see the module doc."""
    from mcp import Client

    out = MirroredSurface()
    with anyio.fail_after(timeout_s):
        async with Client(_target(spec)) as client:
            resources = [_dump(r) for r in await _quietly("resources/list", lambda: _paged(
                client.list_resources, "resources"), [])]
            templates = [_dump(t) for t in await _quietly("resources/templates/list", lambda: _paged(
                client.list_resource_templates, "resource_templates"), [])]
            prompts = [_dump(p) for p in await _quietly("prompts/list", lambda: _paged(
                client.list_prompts, "prompts"), [])]
            for resource in resources[:MAX_RESOURCES_READ]:
                await _record_resource(client, resource, max_content_bytes)
            for template in templates:
                values = {}
                for variable in _variables(template["uriTemplate"]):
                    found = await _completions(client, {"type": "ref/resource", "uri": template["uriTemplate"]},
                                               variable)
                    if found:
                        values[variable] = found
                if values:
                    template.setdefault("_meta", {}).setdefault(META_KEY, {})["values"] = values
            for prompt in prompts:
                await _record_prompt(client, prompt)
            if probe:
                out.output_content = await _probe(client)
    out.entries = {"resources": resources, "resourceTemplates": templates, "prompts": prompts}
    return out


def _variables(uri_template: str) -> list[str]:
    from gtm_mcp.contract.uri_template import UriTemplateError, parse_template

    try:
        return parse_template(uri_template).variables
    except UriTemplateError:
        return []


async def _record_resource(client: Any, resource: dict[str, Any], max_bytes: int) -> None:
    result = await _quietly(f"resources/read {resource['uri']}", lambda: client.read_resource(resource["uri"]), None)
    if result is None or not result.contents:
        return
    first = _dump(result.contents[0])
    body = first.get("text") if "text" in first else first.get("blob")
    if not isinstance(body, str) or len(body.encode("utf-8", "replace")) > max_bytes:
        return
    resource.setdefault("mimeType", first.get("mimeType"))
    content = {"text": body} if "text" in first else {"blob": body}
    resource.setdefault("_meta", {}).setdefault(META_KEY, {})["content"] = content


async def _record_prompt(client: Any, prompt: dict[str, Any]) -> None:
    arguments = prompt.get("arguments") or []
    names = [a["name"] for a in arguments]
    required = [a["name"] for a in arguments if a.get("required")]
    extra: dict[str, Any] = {}
    values = {}
    for name in names:
        found = await _completions(client, {"type": "ref/prompt", "name": prompt["name"]}, name)
        if found:
            values[name] = found
    if values:
        extra["argument_values"] = values
    templates: dict[str, list[dict[str, Any]]] = {}
    recordings: list[dict[str, Any]] = []
    for subset in dict.fromkeys((tuple(names), tuple(required))):
        given = {n: "{{" + n + "}}" for n in subset}
        got = await _quietly(f"prompts/get {prompt['name']}", lambda given=given: client.get_prompt(
            prompt["name"], given), None)
        if got is not None:
            messages = [_dump(m) for m in got.messages]
            if subset:
                templates[",".join(sorted(subset))] = messages
            else:
                recordings.append({"arguments": {}, "messages": messages, "description": got.description})
            continue
        # The server checks its arguments: record it with values it accepts (what it completes,
        # else a guess), a few combinations at most; prompts/get answers others from these.
        choices = [values.get(n, [])[:MAX_VALUES_PER_ARGUMENT] or _guesses(n) for n in subset]
        for combination in itertools.islice(itertools.product(*choices), MAX_RECORDINGS):
            concrete = dict(zip(subset, combination, strict=True))
            got = await _quietly(f"prompts/get {prompt['name']} {concrete}", lambda concrete=concrete: (
                client.get_prompt(prompt["name"], concrete)), None)
            if got is not None:
                recordings.append({"arguments": concrete, "messages": [_dump(m) for m in got.messages],
                                   "description": got.description})
    if templates:
        extra["templates"] = templates
    if recordings:
        extra["recordings"] = recordings
    if extra:
        prompt.setdefault("_meta", {}).setdefault(META_KEY, {}).update(extra)


async def _probe(client: Any) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    tools = await _quietly("tools/list", lambda: _paged(client.list_tools, "tools"), [])
    for tool in tools:
        annotations = tool.annotations
        if annotations is None or annotations.read_only_hint is not True or tool.input_schema.get("required"):
            continue

        async def call(name: str = tool.name) -> Any:
            with anyio.fail_after(PROBE_TIMEOUT_S):
                return await client.call_tool(name, {})

        result = await _quietly(f"probe of {tool.name}", call, None)
        if result is None or result.is_error:
            continue
        defaults = {k: str(v["default"]) for k, v in (tool.input_schema.get("properties") or {}).items()
                    if isinstance(v, dict) and isinstance(v.get("default"), (str, int))}
        specs = [_content_spec(_dump(item), defaults) for item in result.content]
        if any(s["type"] != "text" for s in specs):
            found[tool.name] = [{k: v for k, v in s.items() if v is not None} for s in specs]
    return found


async def mirror_surface(spec: str, *, timeout_s: float = 60.0, max_content_bytes: int = 64 * 1024,
                         probe: bool = False) -> tuple[SurfaceDefinitions, dict[str, tuple[ContentSpec, ...]]]:
    """The live server's resources, templates and prompts as definitions, and the output content
    its probed tools showed; raises ToolLoadError naming each entry that cannot be used."""
    mirrored = await fetch_surface(spec, timeout_s=timeout_s, max_content_bytes=max_content_bytes, probe=probe)
    surface, problems = parse_surface(mirrored.entries, f"mirror:{spec}", kind="mirror")
    if problems:
        raise ToolLoadError(problems)
    content = {}
    for name, specs in mirrored.output_content.items():
        try:
            content[name] = tuple(ContentSpec(**s) for s in specs)
        except ValueError as e:
            raise ToolLoadError([ToolProblem(f"mirror:{spec}", name, "/content", str(e))]) from None
    return surface, content
