"""A plausible output schema for a tool that declares none, from its name, description and inputs."""

from __future__ import annotations

from typing import Any

from gtm_mcp.backends.schema.vocabulary import singular, words
from gtm_mcp.contract.definition import ToolDefinition

CREATE = {"create", "add", "new", "insert", "post", "register", "upload", "book", "make", "generate", "submit",
          "start", "schedule", "place", "write", "save", "store", "publish", "reserve", "invite"}
SEND = {"send", "email", "notify", "message", "reply", "tweet", "share", "forward"}
DELETE = {"delete", "remove", "cancel", "drop", "destroy", "clear", "unsubscribe", "archive", "revoke", "close"}
UPDATE = {"update", "edit", "modify", "set", "change", "patch", "rename", "move", "toggle", "enable", "disable",
          "assign", "mark", "approve", "reject", "configure"}
LIST = {"list", "search", "find", "query", "lookup", "browse", "recommend", "filter", "discover", "scan", "top",
        "trending", "history", "all"}
STRING = {"type": "string"}
NUMBER = {"type": "number"}
INTEGER = {"type": "integer"}
TOPICS: list[tuple[set[str], dict[str, Any]]] = [
    ({"weather", "forecast", "temperature", "climate"}, {
        "location": STRING, "temperature": NUMBER, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "conditions": STRING, "humidity": NUMBER, "wind_speed": NUMBER}),
    ({"stock", "price", "quote", "ticker", "crypto", "coin", "market", "exchange", "currency", "rate"}, {
        "symbol": STRING, "price": NUMBER, "currency": STRING, "change_percent": NUMBER, "timestamp": STRING}),
    ({"translate", "translation"}, {"translated_text": STRING, "source_language": STRING,
                                     "target_language": STRING}),
    ({"calculate", "compute", "convert", "estimate", "analyze", "analyse", "predict", "evaluate", "score"}, {
        "result": NUMBER, "unit": STRING, "explanation": STRING}),
    ({"file", "directory", "folder", "document", "pdf", "page", "read"}, {
        "path": STRING, "content": STRING, "size_bytes": INTEGER, "modified_at": STRING}),
]


def _thing(tool_words: list[str]) -> str:
    verbs = CREATE | SEND | DELETE | UPDATE | LIST | {"get", "fetch", "retrieve", "read", "show", "check", "view"}
    nouns = [w for w in tool_words if w not in verbs and w not in {"by", "for", "of", "the", "a", "to", "from",
                                                                   "info", "details", "data", "api", "v1", "v2"}]
    return singular(nouns[0]) if nouns else "item"


def infer_output_schema(tool: ToolDefinition) -> dict[str, Any]:
    """An object schema whose shape follows what the tool's name says it does (create → id and
    status, list/search → results and total, delete → deleted flag, ...); input parameters are
    echoed as fields of the same name so answers stay tied to the call."""
    name_words = words(tool.name)
    desc_words = words(tool.description[:200])
    verb = name_words[0] if name_words else ""
    all_words = set(name_words) | set(desc_words[:12])
    thing = _thing(name_words)
    id_field = f"{thing}_id"
    inputs = {k: v for k, v in (tool.input_schema.get("properties") or {}).items()
              if isinstance(v, dict) and v.get("type") in ("string", "integer", "number", "boolean")}
    echoed = {k: {"type": v["type"]} for k, v in list(inputs.items())[:6]}
    topical: dict[str, Any] = {}
    for keys, fields in TOPICS:
        if all_words & keys:
            topical = fields
            break
    item = {"type": "object", "properties": {id_field: STRING, "name": STRING, "description": STRING,
                                             **topical}, "required": [id_field, "name", "description"]}
    if verb in DELETE:
        props = {**echoed, "success": {"type": "boolean", "const": True}, "deleted": {"type": "boolean"},
                 id_field: STRING, "message": STRING}
        required = ["success", "message"]
    elif verb in SEND:
        props = {**echoed, "success": {"type": "boolean", "const": True}, "message_id": STRING,
                 "status": {"type": "string", "enum": ["sent", "queued", "delivered"]}, "sent_at": STRING}
        required = ["success", "message_id", "status"]
    elif verb in CREATE:
        props = {**echoed, id_field: STRING, "status": {"type": "string", "enum": ["created", "active", "scheduled"]},
                 "created_at": {"type": "string", "format": "date-time"}, **topical}
        required = [id_field, "status", "created_at"]
    elif verb in UPDATE:
        props = {**echoed, id_field: STRING, "updated": {"type": "boolean", "const": True},
                 "updated_at": {"type": "string", "format": "date-time"}, **topical}
        required = [id_field, "updated", "updated_at"]
    elif verb in LIST or set(name_words) & LIST:
        props = {**echoed, "results": {"type": "array", "items": item, "minItems": 1, "maxItems": 5},
                 "total": INTEGER}
        required = ["results", "total"]
    else:
        props = {**echoed, **(topical or {id_field: STRING, "name": STRING, "description": STRING,
                                          "status": {"type": "string", "enum": ["ok", "active", "available"]}})}
        required = list(topical or [id_field, "name", "description"])
    return {"type": "object", "properties": props, "required": list(dict.fromkeys(required + list(echoed)))}
