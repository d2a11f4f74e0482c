"""Which argument-checking profile a live MCP server has, so that `--mirror` refuses and accepts the
same calls as the real server, with the same error text shape.

Evidence, strongest first:

1. **The tool schemas.** The Python SDK's `MCPServer` publishes each tool's pydantic arguments
   model, titled `<function>Arguments` (`git_log` is `logArguments` in mcp-server-git); the TypeScript SDK publishes
   zod's `toJSONSchema` output, which names its draft in `$schema` and has no title. A server whose
   schemas all carry one of these marks is decided.
2. **A harmless probe.** A read-only tool (`annotations.readOnlyHint`) is called with a value no
   checker accepts (an object where a string, number or boolean is declared): validation refuses it
   before the tool runs, and the refusal's shape names the checker ("Error executing tool X: 1
   validation error for XArguments" is pydantic, "MCP error -32602: Input validation error" is zod).
3. **The initialize result.** Only Python SDK 2.x servers speak the 2026-07-28 protocol; TypeScript
   SDK servers announce `tools.listChanged`. Used when the first two say nothing.

Anything else is `strict` (the server checks in its own way; the JSON Schema as written is the
closest reading).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.tools.formats.mcp import META_CHECK_PROFILE
from gtm_mcp.tools.mirror import fetch_tool_list

log = logging.getLogger(__name__)

ZOD_SCHEMA_DRAFTS = ("http://json-schema.org/draft-07/schema#", "https://json-schema.org/draft/2020-12/schema")
PYDANTIC_REFUSAL = re.compile(r"^Error executing tool \S+: \d+ validation errors? for \S+")
ZOD_REFUSAL = re.compile(r"^MCP error -32602: Input validation error: Invalid arguments for tool ")
MODERN_PROTOCOL = "2026-07-28"
#: `func_metadata` names the arguments model after the tool function: `<function>Arguments`.
PYDANTIC_TITLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*Arguments$")
#: A value that no lax mode turns into a string, number or boolean.
PROBE_VALUE = {"gtm-mcp-probe": True}


@dataclass(frozen=True)
class Detection:
    """The profile chosen for a mirrored server, and why (logged, and shown by `gtm-mcp mirror`)."""

    profile: str
    evidence: str


def from_schemas(entries: list[dict[str, Any]]) -> Detection | None:
    """The SDK's fingerprints on the published input schemas (decisive when every tool agrees)."""
    votes = {"pydantic": 0, "zod": 0}
    for entry in entries:
        schema = entry.get("inputSchema")
        if not isinstance(schema, dict):
            continue
        title = schema.get("title")
        if isinstance(title, str) and PYDANTIC_TITLE.match(title) and "$schema" not in schema:
            votes["pydantic"] += 1
        elif schema.get("$schema") in ZOD_SCHEMA_DRAFTS and "title" not in schema:
            votes["zod"] += 1
    marked = {profile: n for profile, n in votes.items() if n}
    if len(marked) != 1:
        return None
    (profile, count), = marked.items()
    mark = "the pydantic model title `<function>Arguments` of the Python SDK's MCPServer" if profile == "pydantic" \
        else "zod's `$schema` draft mark of the TypeScript SDK"
    return Detection(profile, f"{count} of {len(entries)} input schemas carry {mark}")


def classify_refusal(text: str) -> str | None:
    """The profile whose refusal text this is, or None."""
    if PYDANTIC_REFUSAL.match(text):
        return "pydantic"
    if ZOD_REFUSAL.match(text):
        return "zod"
    return None


def probe_target(entries: list[dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    """(a read-only tool, arguments its validation must refuse), or None when there is no such tool."""
    for entry in entries:
        annotations = entry.get("annotations") or {}
        schema = entry.get("inputSchema") or {}
        if annotations.get("readOnlyHint") is not True or not isinstance(schema.get("properties"), dict):
            continue
        for key, sub in schema["properties"].items():
            if isinstance(sub, dict) and sub.get("type") in ("string", "integer", "number", "boolean"):
                return str(entry["name"]), {key: PROBE_VALUE}
    return None


async def probe(client: Any, entries: list[dict[str, Any]]) -> Detection | None:
    """Call one read-only tool with arguments no validator accepts and read the refusal's shape."""
    target = probe_target(entries)
    if target is None:
        return None
    name, arguments = target
    try:
        result = await client.call_tool(name, arguments)
    except Exception as e:  # a protocol error: the server checks its own way
        return Detection("strict", f"probing {name} got a protocol error ({type(e).__name__})")
    text = "".join(getattr(block, "text", "") for block in result.content or [])
    found = classify_refusal(text) if result.is_error else None
    if found:
        return Detection(found, f"probing read-only {name} with a wrong-typed value got a {found} refusal")
    what = "refused it in its own words" if result.is_error else "accepted it (no argument check)"
    return Detection("strict", f"probing read-only {name} with a wrong-typed value: the server {what}")


def from_initialize(protocol_version: str | None, capabilities: Any) -> Detection | None:
    if protocol_version == MODERN_PROTOCOL:
        return Detection("pydantic", f"the server speaks protocol {MODERN_PROTOCOL}, which only the Python SDK "
                         "2.x (MCPServer validates with pydantic) does")
    tools = getattr(capabilities, "tools", None)
    if tools is not None and getattr(tools, "list_changed", None) is True:
        return Detection("zod", "the server announces tools.listChanged during the handshake, as TypeScript "
                         "SDK servers do")
    return None


async def detect(client: Any, entries: list[dict[str, Any]], *, allow_probe: bool = True) -> Detection:
    """The profile of the server behind `client` (connected), whose `tools/list` gave `entries`."""
    found = from_schemas(entries)
    if found is None and allow_probe:
        found = await probe(client, entries)
    if found is None:
        try:
            found = from_initialize(client.protocol_version, client.server_capabilities)
        except Exception:  # not initialised the way this SDK version exposes it
            found = None
    return found or Detection("strict", "no SDK fingerprint, no read-only tool to probe")


async def fetch_profiled(spec: str, *, timeout_s: float = 60.0) -> tuple[list[dict[str, Any]], Detection]:
    """The server's `tools/list` entries and the profile detected on the same connection."""
    detected: list[Detection] = []

    async def inspect(client: Any, entries: list[dict[str, Any]]) -> None:
        detected.append(await detect(client, entries))

    entries = await fetch_tool_list(spec, timeout_s=timeout_s, inspect=inspect)
    detection = detected[0] if detected else Detection("strict", "detection did not run")
    log.info("mirror %s: argument checking %s (%s)", spec, detection.profile, detection.evidence)
    return entries, detection


def with_profile(entries: list[dict[str, Any]], profile: str) -> list[dict[str, Any]]:
    """The entries with the profile in each tool's `_meta`, as `gtm-mcp mirror` saves them."""
    return [{**entry, "_meta": {**(entry.get("_meta") or {}), META_CHECK_PROFILE: profile}} for entry in entries]


async def mirror_tools_profiled(spec: str, *, timeout_s: float = 60.0) -> list[ToolDefinition]:
    """`mirror_tools`, each tool carrying the mirrored server's argument-checking profile."""
    from gtm_mcp.contract.errors import ToolLoadError
    from gtm_mcp.tools.loader import parse_document

    entries, detection = await fetch_profiled(spec, timeout_s=timeout_s)
    tools, problems = parse_document({"tools": with_profile(entries, detection.profile)}, f"mirror:{spec}", "mcp",
                                     kind="mirror")
    if problems:
        raise ToolLoadError(problems)
    return tools
