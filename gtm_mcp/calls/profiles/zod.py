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
enforced (a TypeScript server's schema never has them). Regular expressions go through the contract's safe matcher.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from gtm_mcp.calls.profiles import Verdict
from gtm_mcp.contract import patterns
from gtm_mcp.contract.definition import ToolDefinition

log = logging.getLogger(__name__)

MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 64


class _Undefined:
    """JavaScript's `undefined`: an absent key."""

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Any = _Undefined()


# -- JavaScript views of JSON values -------------------------------------------------------------

def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parsed_type(value: Any) -> str:
    """zod's `util.parsedType` (the "received ..." of a message)."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "nan" if isinstance(value, float) and math.isnan(value) else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def js_number(value: float | int) -> str:
    """JavaScript's `String(number)` for the numbers JSON carries."""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        text = repr(value)
        if "e" in text:
            mantissa, exponent = text.split("e")
            sign = "-" if exponent.startswith("-") else "+"
            return f"{mantissa.removesuffix('.0')}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
        return text
    if abs(value) >= 10**21:
        return js_number(float(value))
    return str(value)


def stringify_primitive(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        return js_number(value)
    if value is UNDEFINED:
        return "undefined"
    return "[object Object]" if isinstance(value, dict) else ",".join(str(v) for v in value)


def _same_value(a: Any, b: Any) -> bool:
    """`Set.has` equality (SameValueZero) for JSON values: objects and arrays only equal themselves."""
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


# -- issues --------------------------------------------------------------------------------------

_FORMAT_NAMES = {
    "regex": "input", "email": "email address", "url": "URL", "emoji": "emoji", "uuid": "UUID", "guid": "GUID",
    "nanoid": "nanoid", "cuid": "cuid", "cuid2": "cuid2", "ulid": "ULID", "xid": "XID", "ksuid": "KSUID",
    "datetime": "ISO datetime", "date": "ISO date", "time": "ISO time", "duration": "ISO duration",
    "ipv4": "IPv4 address", "ipv6": "IPv6 address", "mac": "MAC address", "cidrv4": "IPv4 range",
    "cidrv6": "IPv6 range", "base64": "base64-encoded string", "base64url": "base64url-encoded string",
    "e164": "E.164 number", "jwt": "JWT", "hostname": "hostname",
}
_SIZABLE = {"string": "characters", "array": "items", "set": "items", "map": "entries"}


@dataclass
class Issue:
    code: str
    path: list[str | int] = field(default_factory=list)
    #: zod's `continue`: True lets later checks run, False aborts explicitly, None aborts implicitly.
    cont: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """The English locale's message (`v4/locales/en.js`)."""
        d = self.detail
        if self.code == "invalid_type":
            received = d.get("received") or parsed_type(d.get("input"))
            return f"Invalid input: expected {d['expected']}, received {received}"
        if self.code == "invalid_value":
            values = d["values"]
            if len(values) == 1:
                return f"Invalid input: expected {stringify_primitive(values[0])}"
            return "Invalid option: expected one of " + "|".join(stringify_primitive(v) for v in values)
        if self.code in ("too_big", "too_small"):
            big = self.code == "too_big"
            adj = "exactly " if d.get("exact") else ("<=" if big else ">=") if d.get("inclusive") else ("<" if big
                                                                                                          else ">")
            bound = js_number(d["maximum"] if big else d["minimum"])
            origin = d.get("origin")
            unit = _SIZABLE.get(origin or "")
            word = "Too big" if big else "Too small"
            if unit:
                return f"{word}: expected {origin} to have {adj}{bound} {unit}"
            return f"{word}: expected {origin if origin else 'value'} to be {adj}{bound}"
        if self.code == "invalid_format":
            if d["format"] == "regex":
                return f"Invalid string: must match pattern {d['pattern']}"
            return f"Invalid {_FORMAT_NAMES.get(d['format'], d['format'])}"
        if self.code == "not_multiple_of":
            return f"Invalid number: must be a multiple of {js_number(d['divisor'])}"
        if self.code == "unrecognized_keys":
            keys = d["keys"]
            return f"Unrecognized key{'s' if len(keys) > 1 else ''}: " + ", ".join(f'"{k}"' for k in keys)
        if self.code == "invalid_union":
            if d.get("inclusive") is False:
                return "Invalid input: more than one option matched"
            return "Invalid input"
        if self.code == "custom":
            return str(d.get("message") or "Invalid input")
        return "Invalid input"


@dataclass
class Payload:
    value: Any
    issues: list[Issue] = field(default_factory=list)


def aborted(payload: Payload, start: int = 0) -> bool:
    return any(issue.cont is not True for issue in payload.issues[start:])


def explicitly_aborted(payload: Payload, start: int = 0) -> bool:
    return any(issue.cont is False for issue in payload.issues[start:])


def _prefix(key: str | int, issues: list[Issue]) -> list[Issue]:
    for issue in issues:
        issue.path.insert(0, key)
    return issues


# -- checks (v4/core/checks.js) -----------------------------------------------------------------

@dataclass
class Check:
    run: Callable[[Payload], None]
    #: zod's `when`: a check with one runs on the value's shape even after an implicit abort.
    when: Callable[[Payload], bool] | None = None
    #: for a leading size check of an array: the largest size it allows.
    size_cap: int | None = None


def _has_length(payload: Payload) -> bool:
    return isinstance(payload.value, (str, list))


def _origin_of_length(value: Any) -> str:
    return "array" if isinstance(value, list) else "string" if isinstance(value, str) else "unknown"


def min_length(minimum: int) -> Check:
    def run(p: Payload) -> None:
        if len(p.value) < minimum:
            p.issues.append(Issue("too_small", cont=True, detail={
                "origin": _origin_of_length(p.value), "minimum": minimum, "inclusive": True, "input": p.value}))
    return Check(run, _has_length)


def max_length(maximum: int) -> Check:
    def run(p: Payload) -> None:
        if len(p.value) > maximum:
            p.issues.append(Issue("too_big", cont=True, detail={
                "origin": _origin_of_length(p.value), "maximum": maximum, "inclusive": True, "input": p.value}))
    return Check(run, _has_length, size_cap=maximum)


def bound(limit: float, *, lower: bool, inclusive: bool) -> Check:
    def run(p: Payload) -> None:
        v = p.value
        ok = (v >= limit if inclusive else v > limit) if lower else (v <= limit if inclusive else v < limit)
        if not ok:
            key = "minimum" if lower else "maximum"
            p.issues.append(Issue("too_small" if lower else "too_big", cont=True, detail={
                "origin": "number", key: limit, "inclusive": inclusive, "input": v}))
    return Check(run)


def _float_safe_remainder(value: float, step: float) -> float:
    ratio = value / step
    rounded = round(ratio)
    tolerance = 4 * 2.220446049250313e-16 * max(abs(ratio), 1)
    return 0.0 if abs(ratio - rounded) < tolerance else ratio - rounded


def multiple_of(divisor: float) -> Check:
    def run(p: Payload) -> None:
        try:
            remainder = _float_safe_remainder(p.value, divisor)
        except (ZeroDivisionError, OverflowError):
            remainder = math.nan
        if remainder != 0:
            p.issues.append(Issue("not_multiple_of", cont=True, detail={"divisor": divisor, "input": p.value}))
    return Check(run)


def int_format() -> Check:
    """`z.number().int()`: the safeint format check."""
    def run(p: Payload) -> None:
        v = p.value
        if isinstance(v, float) and not v.is_integer():
            p.issues.append(Issue("invalid_type", cont=False, detail={"expected": "int", "input": v}))
            return
        if abs(v) > MAX_SAFE_INTEGER:
            if v > 0:
                p.issues.append(Issue("too_big", cont=True, detail={
                    "origin": "int", "maximum": MAX_SAFE_INTEGER, "inclusive": True, "input": v}))
            else:
                p.issues.append(Issue("too_small", cont=True, detail={
                    "origin": "int", "minimum": -MAX_SAFE_INTEGER, "inclusive": True, "input": v}))
    return Check(run)


def js_regex_literal(source: str) -> str:
    """`RegExp.prototype.toString()` of `new RegExp(source)`: `/source/` with `/` and line breaks escaped."""
    out, escaped = [], False
    for ch in source:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            out.append(ch)
            escaped = True
        elif ch == "/":
            out.append("\\/")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        else:
            out.append(ch)
    return "/" + ("".join(out) or "(?:)") + "/"


def regex(pattern: str, *, format_name: str = "regex") -> Check:
    shown = js_regex_literal(pattern)

    def run(p: Payload) -> None:
        try:
            ok = patterns.search(pattern, p.value)
        except patterns.PatternTimeout:
            ok = False
        if not ok:
            detail: dict[str, Any] = {"format": format_name, "input": p.value}
            if format_name == "regex":
                detail["pattern"] = shown
            p.issues.append(Issue("invalid_format", cont=True, detail=detail))
    return Check(run)


# zod's format patterns (v4/core/regexes.js), as `fromJSONSchema` applies them to `format`.
_DATE = (r"(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]"
         r"|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))")
_HHMM = r"(?:[01]\d|2[0-3]):[0-5]\d"
_IPV6 = (r"^(([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:"
         r"[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}"
         r"(:[0-9a-fA-F]{1,4}){1,3}|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:){1,2}"
         r"(:[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:((:[0-9a-fA-F]{1,4}){1,6})|:((:[0-9a-fA-F]{1,4}){1,7}|:))$")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
#: JSON Schema format -> (zod's format name for the message, its pattern).
FORMATS: dict[str, tuple[str, str]] = {
    "email": ("email", r"^(?:[A-Za-z0-9_'+\-]+\.)*[A-Za-z0-9_'+\-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9\-]*\.)+"
                       r"[A-Za-z]{2,}$"),
    "uuid": ("uuid", r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
                     r"|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$"),
    "guid": ("uuid", r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
                     r"|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$"),
    "date-time": ("datetime", rf"^{_DATE}T(?:{_HHMM}:[0-5]\d(?:\.\d+)?(?:Z|([+-](?:[01]\d|2[0-3]):[0-5]\d)))$"),
    "date": ("date", rf"^{_DATE}$"),
    "duration": ("duration", r"^P(?:(\d+W)|(?!.*W)(?=\d|T\d)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?"
                             r"(\d+([.,]\d+)?S)?)?)$"),
    "ipv4": ("ipv4", rf"^(?:{_OCTET}\.){{3}}{_OCTET}$"),
    "ipv6": ("ipv6", _IPV6),
    "hostname": ("hostname", r"^(?=.{1,253}\.?$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9]"
                             r"(?:[-0-9a-zA-Z]{0,61}[0-9a-zA-Z])?)*\.?$"),
    "base64": ("base64", r"^$|^(?:[0-9a-zA-Z+/]{4})*(?:(?:[0-9a-zA-Z+/]{2}==)|(?:[0-9a-zA-Z+/]{3}=))?$"),
    "base64url": ("base64url", r"^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$"),
    "e164": ("e164", r"^\+[1-9]\d{6,14}$"),
}
#: `z.guid()` publishes `format: uuid` with this pattern.
GUID = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
#: `format: time` is checked with `z.regex` (RFC 3339 full-time), so its message shows the pattern.
FULL_TIME = r"^(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$"
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_SPECIAL_SCHEMES = ("http", "https", "ws", "wss", "ftp")


def url_format() -> Check:
    """`z.url()`: the WHATWG URL parser accepts it (approximated: a scheme, and a host after `//` for
    the special schemes http(s), ws(s) and ftp)."""
    def run(p: Payload) -> None:
        text = p.value.strip()
        match = _URL_SCHEME.match(text)
        ok = match is not None
        if ok:
            scheme = match.group(0)[:-1].lower()
            rest = text[match.end():].lstrip("/\\")
            if scheme in _SPECIAL_SCHEMES:
                host = re.split(r"[/?#\\]", rest, maxsplit=1)[0].rsplit("@", 1)[-1].split(":")[0]
                ok = bool(host) and " " not in host
            else:
                ok = " " not in text
        if not ok:
            p.issues.append(Issue("invalid_format", cont=True, detail={"format": "url", "input": p.value}))
        else:
            p.value = re.sub(r"[\t\n\r]", "", text)
    return Check(run)


# -- schemas (v4/core/schemas.js) ---------------------------------------------------------------

class Node:
    """A zod schema: a type parse, then its checks."""

    optin: str | None = None  # "optional" | "defaulted": absence is allowed
    optout: str | None = None  # "optional": the output may be absent

    def __init__(self, checks: list[Check] | None = None) -> None:
        self.checks = checks or []

    def parse(self, p: Payload) -> Payload:
        return p

    def run(self, p: Payload) -> Payload:
        p = self.parse(p)
        if not self.checks:
            return p
        is_aborted = aborted(p)
        for check in self.checks:
            if check.when is not None:
                if explicitly_aborted(p) or not check.when(p):
                    continue
            elif is_aborted:
                continue
            before = len(p.issues)
            check.run(p)
            if len(p.issues) != before and not is_aborted:
                is_aborted = aborted(p, before)
        return p


def _invalid_type(p: Payload, expected: str, **extra: Any) -> Payload:
    p.issues.append(Issue("invalid_type", detail={"expected": expected, "input": p.value, **extra}))
    return p


class String(Node):
    def parse(self, p: Payload) -> Payload:
        return p if isinstance(p.value, str) else _invalid_type(p, "string")


class Number(Node):
    def parse(self, p: Payload) -> Payload:
        v = p.value
        if _is_number(v) and not (isinstance(v, float) and not math.isfinite(v)):
            return p
        received = ("NaN" if math.isnan(v) else js_number(v)) if isinstance(v, float) else None
        return _invalid_type(p, "number", **({"received": received} if received else {}))


class Boolean(Node):
    def parse(self, p: Payload) -> Payload:
        return p if isinstance(p.value, bool) else _invalid_type(p, "boolean")


class Null(Node):
    def parse(self, p: Payload) -> Payload:
        return p if p.value is None else _invalid_type(p, "null")


class AnyNode(Node):
    pass


class Never(Node):
    def parse(self, p: Payload) -> Payload:
        return _invalid_type(p, "never")


class Values(Node):
    """`z.enum` and `z.literal`: the value must be one of these (SameValueZero)."""

    def __init__(self, values: list[Any]) -> None:
        super().__init__()
        self.values = values

    def parse(self, p: Payload) -> Payload:
        if any(_same_value(p.value, v) for v in self.values):
            return p
        p.issues.append(Issue("invalid_value", detail={"values": self.values, "input": p.value}))
        return p


class Array(Node):
    def __init__(self, element: Node, checks: list[Check] | None = None) -> None:
        super().__init__(checks)
        self.element = element
        caps = []
        for check in self.checks:  # zod's capSize: the leading size checks
            if check.when is not _has_length:
                break
            if check.size_cap is not None:
                caps.append(check)
        self.caps = caps

    def parse(self, p: Payload) -> Payload:
        if not isinstance(p.value, list):
            return _invalid_type(p, "array")
        for cap in self.caps:  # an oversized array fails its size check before any item is parsed
            if cap.size_cap is not None and len(p.value) > cap.size_cap:
                start = len(p.issues)
                cap.run(p)
                p.issues[start].cont = False
                return p
        items = p.value
        p.value = []
        for index, item in enumerate(items):
            result = self.element.run(Payload(item))
            if result.issues:
                p.issues.extend(_prefix(index, result.issues))
            p.value.append(result.value)
        return p


class Tuple(Node):
    def __init__(self, items: list[Node], rest: Node | None, checks: list[Check] | None = None) -> None:
        super().__init__(checks)
        self.items, self.rest = items, rest

    def parse(self, p: Payload) -> Payload:
        if not isinstance(p.value, list):
            return _invalid_type(p, "tuple")
        values = p.value
        optin_start = next((i + 1 for i in range(len(self.items) - 1, -1, -1) if self.items[i].optin is None), 0)
        optout_start = next((i + 1 for i in range(len(self.items) - 1, -1, -1)
                             if self.items[i].optout != "optional"), 0)
        if self.rest is None:
            if len(values) < optin_start:
                p.issues.append(Issue("too_small", detail={"minimum": optin_start, "inclusive": True,
                                                           "origin": "array", "input": values}))
                return p
            if len(values) > len(self.items):
                p.issues.append(Issue("too_big", detail={"maximum": len(self.items), "inclusive": True,
                                                         "origin": "array", "input": values}))
        out: list[Any] = []
        results = [item.run(Payload(values[i] if i < len(values) else UNDEFINED))
                   for i, item in enumerate(self.items)]
        rest_issues: list[Issue] = []
        rest_values: list[Any] = []
        if self.rest is not None:
            for index in range(len(self.items), len(values)):
                result = self.rest.run(Payload(values[index]))
                rest_issues.extend(_prefix(index, result.issues))
                rest_values.append(result.value)
        for i, result in enumerate(results):
            present = i < len(values)
            if not present and i >= optout_start and self.items[i].optin == "optional":
                break
            if result.issues:
                if not present and i >= optout_start:
                    break
                p.issues.extend(_prefix(i, result.issues))
            out.append(result.value)
        p.issues.extend(rest_issues)
        p.value = out + rest_values
        return p


class Object(Node):
    """`z.object` (strip), `.strict()` (unknown keys refused) or `.catchall(schema)` (checked)."""

    def __init__(self, shape: dict[str, Node], mode: str = "strip", catchall: Node | None = None) -> None:
        super().__init__()
        self.shape, self.mode, self.catchall = shape, mode, catchall

    def parse(self, p: Payload) -> Payload:
        data = p.value
        if not isinstance(data, dict):
            return _invalid_type(p, "object")
        p.value = {}
        for key, node in self.shape.items():
            if key == "__proto__":
                continue
            result = node.run(Payload(data.get(key, UNDEFINED)))
            _handle_property(result, p, key, data, node.optin, node.optout)
        if self.mode == "strip":
            return p
        unrecognized = []
        for key, value in data.items():
            if key in self.shape:
                continue
            if self.mode == "strict":
                unrecognized.append(key)
                continue
            if key == "__proto__":
                continue
            if self.catchall is None:  # passthrough
                p.value[key] = value
                continue
            result = self.catchall.run(Payload(value))
            _handle_property(result, p, key, data, self.catchall.optin, self.catchall.optout)
        if unrecognized:
            p.issues.append(Issue("unrecognized_keys", cont=True, detail={"keys": unrecognized, "input": data}))
        return p


def _handle_property(result: Payload, final: Payload, key: str, data: dict[str, Any], optin: str | None,
                     optout: str | None) -> None:
    present = key in data
    optional_out = optout == "optional"
    if not present and optional_out and optin == "optional":
        return
    if result.issues:
        if optin is not None and optional_out and not present:
            return
        final.issues.extend(_prefix(key, result.issues))
    if not present and optin is None:
        if not result.issues:
            final.issues.append(Issue("invalid_type", [key], detail={"expected": "nonoptional",
                                                                     "input": UNDEFINED}))
        return
    if result.value is not UNDEFINED:
        final.value[key] = result.value


class Union(Node):
    def __init__(self, options: list[Node], *, exclusive: bool = False) -> None:
        super().__init__()
        self.options, self.exclusive = options, exclusive
        self.optin = ("defaulted" if any(o.optin == "defaulted" for o in options)
                      else "optional" if any(o.optin is not None for o in options) else None)
        self.optout = "optional" if any(o.optout == "optional" for o in options) else None

    def parse(self, p: Payload) -> Payload:
        if len(self.options) == 1:
            return self.options[0].run(p)
        results = []
        for option in self.options:
            result = option.run(Payload(copy.deepcopy(p.value)))
            if not result.issues and not self.exclusive:
                p.value = result.value
                return p
            results.append(result)
        if self.exclusive:
            matches = [r for r in results if not r.issues]
            if len(matches) == 1:
                p.value = matches[0].value
                return p
            p.issues.append(Issue("invalid_union", detail={"inclusive": False} if matches else {}))
            return p
        standing = [r for r in results if not aborted(r)]
        if len(standing) == 1:
            p.value = standing[0].value
            p.issues.extend(standing[0].issues)
            return p
        p.issues.append(Issue("invalid_union"))
        return p


class Intersection(Node):
    def __init__(self, left: Node, right: Node) -> None:
        super().__init__()
        self.left, self.right = left, right

    def parse(self, p: Payload) -> Payload:
        left = self.left.run(Payload(copy.deepcopy(p.value)))
        right = self.right.run(Payload(copy.deepcopy(p.value)))
        rejected: dict[str, set[str]] = {}
        first_unrecognized = None
        for side, result in (("l", left), ("r", right)):
            for issue in result.issues:
                if issue.code == "unrecognized_keys" and not issue.path:
                    first_unrecognized = first_unrecognized or issue
                    for key in issue.detail["keys"]:
                        rejected.setdefault(key, set()).add(side)
                else:
                    p.issues.append(issue)
        both = [k for k, sides in rejected.items() if sides == {"l", "r"}]
        if both and first_unrecognized is not None:
            p.issues.append(Issue("unrecognized_keys", cont=True, detail={"keys": both}))
        merged, ok = _merge(left.value, right.value)
        if not ok and not aborted(p):
            p.issues.append(Issue("custom", detail={"message": "Unmergable intersection"}))
        p.value = merged if ok else p.value
        return p


def _merge(a: Any, b: Any) -> tuple[Any, bool]:
    if a is b or (type(a) is type(b) and not isinstance(a, (dict, list)) and a == b):
        return a, True
    if isinstance(a, dict) and isinstance(b, dict):
        out = {**a, **b}
        for key in set(a) & set(b):
            value, ok = _merge(a[key], b[key])
            if not ok:
                return None, False
            out[key] = value
        return out, True
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        merged = [_merge(x, y) for x, y in zip(a, b, strict=True)]
        if all(ok for _, ok in merged):
            return [v for v, _ in merged], True
    return None, False


class Optional(Node):
    optout = "optional"

    def __init__(self, inner: Node) -> None:
        super().__init__()
        self.inner = inner
        self.optin = "defaulted" if inner.optin == "defaulted" else "optional"

    def parse(self, p: Payload) -> Payload:
        if p.value is UNDEFINED:
            if self.inner.optin != "defaulted":
                return p
            result = self.inner.run(Payload(UNDEFINED))
            p.value = result.value
            p.issues.extend(result.issues)
            return p
        return self.inner.run(p)


class Nullable(Node):
    def __init__(self, inner: Node) -> None:
        super().__init__()
        self.inner = inner
        self.optin, self.optout = inner.optin, inner.optout

    def parse(self, p: Payload) -> Payload:
        return p if p.value is None else self.inner.run(p)


class Default(Node):
    optin = "defaulted"

    def __init__(self, inner: Node, value: Any) -> None:
        super().__init__()
        self.inner, self.value = inner, value

    def parse(self, p: Payload) -> Payload:
        if p.value is UNDEFINED:
            p.value = copy.deepcopy(self.value)
            return p
        p = self.inner.run(p)
        if p.value is UNDEFINED:
            p.value = copy.deepcopy(self.value)
        return p


class Lazy(Node):
    """A `$ref` being built (recursive schemas)."""

    def __init__(self, resolve: Callable[[], Node]) -> None:
        super().__init__()
        self.resolve = resolve

    def parse(self, p: Payload) -> Payload:
        return self.resolve().run(p)


# -- JSON Schema -> zod (v4/classic/from-json-schema.js) ----------------------------------------

class _Converter:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        defs = root.get("$defs") if isinstance(root.get("$defs"), dict) else root.get("definitions")
        self.defs: dict[str, Any] = defs if isinstance(defs, dict) else {}
        self.refs: dict[str, Node] = {}
        self.processing: set[str] = set()

    def convert(self, schema: Any, depth: int = 0, *, top: bool = False) -> Node:
        if depth > MAX_DEPTH or schema is True:
            return AnyNode()
        if schema is False:
            return Never()
        if not isinstance(schema, dict):
            return AnyNode()
        node = self._base(schema, depth, top=top)
        explicit_type = bool(schema.get("type")) or "enum" in schema or "const" in schema
        any_of = schema.get("anyOf")
        if isinstance(any_of, list) and any_of:
            nullable = self._nullable_pair(any_of)
            if nullable is not None:
                union: Node = Nullable(self.convert(nullable, depth + 1))
            else:
                union = Union([self.convert(s, depth + 1) for s in any_of])
            node = Intersection(node, union) if explicit_type else union
        one_of = schema.get("oneOf")
        if isinstance(one_of, list) and one_of:
            xor = Union([self.convert(s, depth + 1) for s in one_of], exclusive=True)
            node = Intersection(node, xor) if explicit_type else xor
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and all_of:
            parts = [self.convert(s, depth + 1) for s in all_of]
            result = node if explicit_type else parts.pop(0)
            for part in parts:
                result = Intersection(result, part)
            node = result
        if "default" in schema:
            node = Default(node, schema["default"])
        return node

    @staticmethod
    def _nullable_pair(options: list[Any]) -> Any:
        """`X.nullable()` is emitted as `anyOf: [X, {type: null}]`: read it back as that."""
        if len(options) != 2:
            return None
        nulls = [o for o in options if isinstance(o, dict) and o == {"type": "null"}]
        if len(nulls) != 1:
            return None
        return next(o for o in options if o is not nulls[0])

    def _base(self, schema: dict[str, Any], depth: int, *, top: bool = False) -> Node:
        if isinstance(schema.get("not"), dict) and not schema["not"]:
            return Never()
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return self._ref(ref, depth)
        if isinstance(schema.get("enum"), list):
            values = schema["enum"]
            return Never() if not values else Values(values) if len(values) == 1 or all(
                isinstance(v, str) for v in values) else Union([Values([v]) for v in values])
        if "const" in schema:
            return Values([schema["const"]])
        kind = schema.get("type")
        if isinstance(kind, list):
            others = [t for t in kind if t != "null"]
            if len(kind) == 2 and len(others) == 1:  # `X.nullable()` on a primitive: `type: [X, "null"]`
                return Nullable(self._base({**schema, "type": others[0]}, depth))
            options = [self._base({**schema, "type": t}, depth) for t in kind]
            return Never() if not options else options[0] if len(options) == 1 else Union(options)
        if kind is None and (top or "properties" in schema):  # written as z.object by a TS author
            kind = "object"
        if not kind:
            return AnyNode()
        if kind == "string":
            return self._string(schema)
        if kind in ("number", "integer"):
            return self._number(schema, integer=kind == "integer")
        if kind == "boolean":
            return Boolean()
        if kind == "null":
            return Null()
        if kind == "object":
            return self._object(schema, depth, top=top)
        if kind == "array":
            return self._array(schema, depth)
        return AnyNode()

    def _ref(self, ref: str, depth: int) -> Node:
        if ref in self.refs:
            return self.refs[ref]
        if ref in self.processing:
            return Lazy(lambda: self.refs.get(ref) or AnyNode())
        target = self._resolve(ref)
        if target is None:
            return AnyNode()
        self.processing.add(ref)
        node = self.convert(target, depth + 1)
        self.refs[ref] = node
        self.processing.discard(ref)
        return node

    def _resolve(self, ref: str) -> Any:
        if ref == "#":
            return self.root
        for prefix in ("#/$defs/", "#/definitions/"):
            if ref.startswith(prefix):
                return self.defs.get(ref[len(prefix):].replace("~1", "/").replace("~0", "~"))
        return None

    @staticmethod
    def _string(schema: dict[str, Any]) -> Node:
        checks: list[Check] = []
        fmt = schema.get("format")
        pattern = schema.get("pattern")
        own_pattern = None
        if fmt in FORMATS:  # toJSONSchema writes a format's own pattern beside it: that is one check
            name, own_pattern = ("guid", GUID) if fmt in ("uuid", "guid") and pattern == GUID else FORMATS[fmt]
            checks.append(regex(own_pattern, format_name=name))
        elif fmt in ("uri", "uri-reference"):
            checks.append(url_format())
        elif fmt == "time":
            checks.append(regex(FULL_TIME))
        if _count(schema.get("minLength")):
            checks.append(min_length(schema["minLength"]))
        if _count(schema.get("maxLength")):
            checks.append(max_length(schema["maxLength"]))
        if isinstance(pattern, str) and pattern != own_pattern:
            checks.append(regex(pattern))
        return String(checks)

    @staticmethod
    def _number(schema: dict[str, Any], *, integer: bool) -> Node:
        checks: list[Check] = [int_format()] if integer else []
        low, high = schema.get("minimum"), schema.get("maximum")
        ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if integer:  # z.number().int() publishes the safe-integer range as its bounds
            low = None if low == -MAX_SAFE_INTEGER else low
            high = None if high == MAX_SAFE_INTEGER else high
        if _is_number(low) and ex_low is not True:
            checks.append(bound(low, lower=True, inclusive=True))
        if _is_number(high) and ex_high is not True:
            checks.append(bound(high, lower=False, inclusive=True))
        if _is_number(ex_low):
            checks.append(bound(ex_low, lower=True, inclusive=False))
        elif ex_low is True and _is_number(low):
            checks.append(bound(low, lower=True, inclusive=False))
        if _is_number(ex_high):
            checks.append(bound(ex_high, lower=False, inclusive=False))
        elif ex_high is True and _is_number(high):
            checks.append(bound(high, lower=False, inclusive=False))
        if _is_number(schema.get("multipleOf")):
            checks.append(multiple_of(schema["multipleOf"]))
        return Number(checks)

    def _object(self, schema: dict[str, Any], depth: int, *, top: bool = False) -> Node:
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = set(schema.get("required") or []) if isinstance(schema.get("required"), list) else set()
        shape: dict[str, Node] = {}
        for key, sub in properties.items():
            node = self.convert(sub, depth + 1)
            shape[str(key)] = node if key in required else Optional(node)
        additional = schema.get("additionalProperties")
        if additional is False:
            return Object(shape, "strict")
        if isinstance(additional, dict) and additional:
            return Object(shape, "catchall", self.convert(additional, depth + 1))
        if top and not properties and additional is None:
            return Object(shape, "strip")  # a tool without an input schema: the handler gets no arguments
        if additional is True or isinstance(additional, dict) or not properties:
            return Object(shape, "catchall")  # passthrough: `.passthrough()`, `z.record(..., z.any())`
        return Object(shape, "strip")

    def _array(self, schema: dict[str, Any], depth: int) -> Node:
        prefix = schema.get("prefixItems")
        items = schema.get("items")
        tuple_items = prefix if isinstance(prefix, list) else items if isinstance(items, list) else None
        if tuple_items is not None:
            minimum = schema.get("minItems") if _count(schema.get("minItems")) else 0
            nodes = [self.convert(s, depth + 1) for s in tuple_items]
            nodes = [n if i < minimum else Optional(n) for i, n in enumerate(nodes)]
            rest_schema = items if isinstance(prefix, list) else schema.get("additionalItems")
            rest = None if rest_schema is False else AnyNode() if rest_schema in (None, True) else self.convert(
                rest_schema, depth + 1)
            checks = []
            if _count(schema.get("minItems")):
                checks.append(min_length(schema["minItems"]))
            if _count(schema.get("maxItems")):
                checks.append(max_length(schema["maxItems"]))
            return Tuple(nodes, rest, checks)
        element = self.convert(items, depth + 1) if items is not None else AnyNode()
        checks = []
        if _count(schema.get("minItems")):
            checks.append(min_length(schema["minItems"]))
        if _count(schema.get("maxItems")):
            checks.append(max_length(schema["maxItems"]))
        return Array(element, checks)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@lru_cache(maxsize=1024)
def _compiled(schema_json: str) -> Node:
    schema = json.loads(schema_json)
    return _Converter(schema).convert(schema, top=True)


def schema_for(tool: ToolDefinition) -> Node:
    return _compiled(json.dumps(tool.input_schema))


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
