"""The `zod` profile: what a TypeScript MCP server (`@modelcontextprotocol/sdk` 1.x with zod 4) does
with a tool's arguments. zod cannot run in-process, so its parsing rules are ported from its
source (zod 4.6: `v4/core/schemas.js`, `checks.js`, `util.js`, `locales/en.js`):

- no coercion: a string is never a number or a boolean (`"Invalid input: expected number, received
  string"`), `2.0` is the number 2 (JSON has no separate integer type in JavaScript);
- `z.object` strips keys it does not declare; `.strict()` (`additionalProperties: false`) refuses them
  (`Unrecognized key: "x"`); a missing required key is its type's "received undefined";
- checks run in order after the type parse, an aborting issue skips the following checks except the
  length checks, which look at the value's shape (zod's `when`); an oversized array fails its
  `maxItems` before any item is parsed; unions answer "Invalid input" unless exactly one option
  failed without aborting, whose issues are then reported;
- a refusal is `McpError(-32602, "Input validation error: Invalid arguments for tool <name>:
  <issues>")` turned into an isError result by the SDK: each issue is `<message> at <dot.path>`, one
  per line (`getParseErrorMessage` in the SDK's `zod-compat.js`).

The JSON Schema is read as the zod schema a TypeScript author writes, which is also what the SDK's
`toJSONSchema` gives back in `tools/list`: zod's own `fromJSONSchema` rules
(`v4/classic/from-json-schema.js`) with three readings of what `toJSONSchema` emits: an object
without `additionalProperties` is `z.object` (strip, not passthrough), `anyOf: [X, {type: null}]`
and `type: [X, "null"]` are `X.nullable()`, and an integer bounded by the safe-integer range is
`z.number().int()` (the bounds are the int check's own). Keywords zod has no runtime for are not
enforced (a TypeScript server's schema never has them). Regular expressions go through the
contract's safe matcher; `format: uri` approximates the WHATWG URL parser (a scheme, and a host for
http(s), ws(s) and ftp).

Modules: `js` (JavaScript's view of JSON values), `issues` (issues and their messages), `checks`
(checks and string formats), `nodes` (schemas), `convert` (JSON Schema -> nodes). The tests check
the port against zod itself (tests/servers/zod_oracle.mjs) and against a real TypeScript server.
"""

from __future__ import annotations

import copy
from typing import Any

from gtm_mcp.calls.profiles import Verdict
from gtm_mcp.calls.profiles.zod.checks import FORMATS, GUID
from gtm_mcp.calls.profiles.zod.convert import schema_for
from gtm_mcp.calls.profiles.zod.issues import Issue, Payload
from gtm_mcp.calls.profiles.zod.js import UNDEFINED
from gtm_mcp.contract.definition import ToolDefinition

__all__ = ["FORMATS", "GUID", "as_javascript_json", "check", "issue_text", "parse", "schema_for"]


def dot_path(path: list[str | int]) -> str:
    """The SDK's `getDotPath`: `a.b[0].c`."""
    out = ""
    for index, part in enumerate(path):
        if index == 0:
            out = str(part)
        elif isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}"
    return out


def issue_text(issues: list[Issue]) -> str:
    """The SDK's `getParseErrorMessage`: one `<message> at <path>` line per issue."""
    return "\n".join(i.message if not i.path else f"{i.message} at {dot_path(i.path)}" for i in issues)


def parse(tool: ToolDefinition, arguments: Any) -> Payload:
    """zod's `safeParseAsync(schema, args ?? {})` for this tool: the parsed value and the issues."""
    return schema_for(tool).run(Payload(copy.deepcopy({} if arguments is None else arguments)))


def as_javascript_json(value: Any) -> Any:
    """A parsed value as the tool's JavaScript sees it once serialised: JSON numbers are doubles,
    so `2.0` is the number 2."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, dict):
        return {k: as_javascript_json(v) for k, v in value.items() if v is not UNDEFINED}
    if isinstance(value, list):
        return [None if v is UNDEFINED else as_javascript_json(v) for v in value]
    return value


def check(tool: ToolDefinition, arguments: Any) -> Verdict:
    result = parse(tool, arguments)
    if result.issues:
        text = ("MCP error -32602: Input validation error: Invalid arguments for tool "
                f"{tool.name}: {issue_text(result.issues)}")
        return Verdict(None, text, tuple(dict.fromkeys(dot_path(i.path) for i in result.issues)))
    return Verdict(as_javascript_json(result.value) if isinstance(result.value, dict) else {})
