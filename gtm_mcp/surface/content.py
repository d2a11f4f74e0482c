"""The content items of a tool's result when the tool declares more than text
(`ToolDefinition.output_content`): images, audio, embedded resources, resource links.

The backend's answer (JSON or text) is produced and checked as for every call; then each declared
item becomes: `text` -> the answer's text; `image` / `audio` -> a small valid file of its MIME type
(deterministic for the call); `resource` -> an embedded resource: the defined resource its URI
names, read as the session reads it, else the answer (text types) or a file (binary types);
`resource_link` -> a link to its URI. `{argument}` in a URI takes the call's argument. Errors stay
text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gtm_mcp.contract.content import ContentSpec, is_text_mime
from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.surface.media import media_for
from gtm_mcp.surface.resources import ResourceReader, SurfaceError, seed_for

_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.-]+)\}")


def _uri(spec: ContentSpec, tool: ToolDefinition, arguments: dict[str, Any], seed: int) -> str:
    if spec.uri:
        return _PLACEHOLDER.sub(lambda m: str(arguments.get(m.group(1), m.group(0))), spec.uri)
    return f"gtm-mcp://{tool.name}/{seed & 0xFFFFFFFF:08x}"


async def tool_content(tool: ToolDefinition, arguments: dict[str, Any], answer_text: str, *, seed: int,
                       session_key: str, reader: ResourceReader | None) -> list[dict[str, Any]]:
    """The result's content items (wire form) for a successful call of a tool that declares them."""
    assert tool.output_content
    call_seed = seed_for(seed, tool.name, json.dumps(arguments, sort_keys=True, default=str))
    items: list[dict[str, Any]] = []
    for i, spec in enumerate(tool.output_content):
        item_seed = call_seed + i
        if spec.type == "text":
            items.append({"type": "text", "text": answer_text})
        elif spec.type in ("image", "audio"):
            media = media_for(spec.mime_type or ("image/png" if spec.type == "image" else "audio/wav"), item_seed)
            items.append({"type": spec.type, "data": media.base64, "mimeType": media.mime_type})
        elif spec.type == "resource":
            items.append({"type": "resource",
                          "resource": await _embedded(spec, tool, arguments, answer_text, item_seed, session_key,
                                                      reader)})
        else:  # resource_link
            uri = _uri(spec, tool, arguments, item_seed)
            link: dict[str, Any] = {"type": "resource_link", "uri": uri, "name": uri.rsplit("/", 1)[-1] or uri}
            if reader is not None and (found := reader.catalog.resolve(uri)) is not None:
                link["name"] = found[0].name
                if found[0].description:
                    link["description"] = found[0].description
            if spec.mime_type or (found and found[0].mime_type):
                link["mimeType"] = spec.mime_type or found[0].mime_type  # type: ignore[index]
            items.append(link)
    return items


async def _embedded(spec: ContentSpec, tool: ToolDefinition, arguments: dict[str, Any], answer_text: str,
                    seed: int, session_key: str, reader: ResourceReader | None) -> dict[str, Any]:
    uri = _uri(spec, tool, arguments, seed)
    if reader is not None and reader.catalog.resolve(uri) is not None:
        try:
            return (await reader.read(uri, session_key)).content.wire()
        except SurfaceError:
            pass  # the answer below still gives the agent content
    mime = spec.mime_type or "text/plain"
    if is_text_mime(mime):
        return {"uri": uri, "mimeType": mime, "text": answer_text}
    media = media_for(mime, seed)
    return {"uri": uri, "mimeType": media.mime_type, "blob": media.base64}
