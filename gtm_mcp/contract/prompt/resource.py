"""Rendering a `resources/read` (prompt format `gtm-prompt/2`, resource reads).

A resource read renders like a tool call, with the resource in place of the tool: the `system`
message holds the instructions and the resource's definition (the template, not the concrete URI,
so that every read of one template shares the prefix), the session's history follows unchanged,
and the last `user` turn names the URI (and the template's variables). The answer is the content:
text for text MIME types, one JSON value for JSON ones (read with `read_answer`, `Error: ...` is a
refusal). Tool calls render exactly as before: this module only adds the resource form.
"""

from __future__ import annotations

from gtm_mcp.contract.content import is_json_mime
from gtm_mcp.contract.prompt.render import HIDDEN_HEADER, Message, dumps
from gtm_mcp.contract.surface import ResourceRead, ResourceTemplateDefinition

RESOURCE_INSTRUCTIONS = (
    "You are a Generalist Tool Model: you simulate the MCP resource defined below. For each read, reply "
    "with the content the real server would return for that URI, consistent with the earlier calls of "
    "this session and with the hidden context when one is given. If the real server would refuse the "
    "read (no such resource, not allowed), reply with `Error: ` and the message it would give. Reply "
    "with the content only, nothing else."
)
JSON_CONTENT = "# Content schema\n{schema}\n\nReply with one JSON value that satisfies the content schema."
JSON_DOCUMENT = "# Content\nReply with the JSON document the resource holds."
TEXT_CONTENT = "# Content\nReply with the resource's content as {mime} text."


def resource_system_message(read: ResourceRead) -> Message:
    """The stable first message of a read: instructions and the resource's definition."""
    definition = read.definition
    parts = [RESOURCE_INSTRUCTIONS, "", f"# Resource: {definition.name}"]
    if definition.title and definition.title != definition.name:
        parts.append(definition.title)
    if definition.description:
        parts.append(definition.description)
    if isinstance(definition, ResourceTemplateDefinition):
        parts += ["", f"URI template: {definition.uri_template}"]
    else:
        parts += ["", f"URI: {definition.uri}"]
    parts += [f"MIME type: {read.mime_type}", ""]
    if read.content_schema is not None:
        parts.append(JSON_CONTENT.format(schema=dumps(read.content_schema)))
    elif is_json_mime(read.mime_type):
        parts.append(JSON_DOCUMENT)
    else:
        parts.append(TEXT_CONTENT.format(mime=read.mime_type))
    return {"role": "system", "content": "\n".join(parts)}


def read_content(read: ResourceRead) -> str:
    text = f"Read the resource {read.uri}"
    if read.variables:
        text += f"\nTemplate variables:\n{dumps(read.variables)}"
    return text


def resource_current_message(read: ResourceRead, hidden_context: str | None) -> Message:
    content = read_content(read)
    if hidden_context:
        content = f"{HIDDEN_HEADER}\n{hidden_context}\n\n{content}"
    return {"role": "user", "content": content}
