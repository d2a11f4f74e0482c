"""What a tool's result carries beyond JSON and text: `ContentSpec` (declared on a tool as
`ToolDefinition.output_content`) and which MIME types are text."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

ContentType = Literal["text", "image", "audio", "resource", "resource_link"]
#: Text MIME types besides text/*: what a backend writes as text (everything else is binary).
TEXT_MIME_TYPES = {"application/json", "application/ld+json", "application/xml", "application/yaml",
                   "application/x-yaml", "application/javascript", "application/x-sh", "application/sql",
                   "application/toml", "application/graphql", "image/svg+xml"}


def is_text_mime(mime_type: str | None) -> bool:
    """Whether content of this MIME type is text (None: text/plain)."""
    base = (mime_type or "text/plain").split(";")[0].strip().lower()
    return base.startswith("text/") or base in TEXT_MIME_TYPES or base.endswith(("+json", "+xml"))


def is_json_mime(mime_type: str | None) -> bool:
    base = (mime_type or "").split(";")[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


class ContentSpec(BaseModel):
    """One content item of a tool's result. `text` carries the simulated answer; `image` / `audio`
    a small valid file of `mime_type` (default image/png, audio/wav); `resource` embeds a resource
    (its `uri` may name the tool's arguments as `{argument}`; a URI of a defined resource embeds
    that resource as the session reads it; otherwise the answer, or a file of `mime_type`);
    `resource_link` links to `uri`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ContentType
    mime_type: str | None = None
    uri: str | None = None
