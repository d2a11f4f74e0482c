"""zod checks (`v4/core/checks.js`) and the string formats `fromJSONSchema` applies (`regexes.js`)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gtm_mcp.calls.profiles.zod.issues import Issue, Payload
from gtm_mcp.contract import patterns

MAX_SAFE_INTEGER = 2**53 - 1


@dataclass
class Check:
    run: Callable[[Payload], None]
    #: zod's `when`: a check with one runs on the value's shape even after an implicit abort.
    when: Callable[[Payload], bool] | None = None
    #: for a leading size check of an array: the largest size it allows.
    size_cap: int | None = None


def has_length(payload: Payload) -> bool:
    return isinstance(payload.value, (str, list))


def _origin_of_length(value: Any) -> str:
    return "array" if isinstance(value, list) else "string" if isinstance(value, str) else "unknown"


def min_length(minimum: int) -> Check:
    def run(p: Payload) -> None:
        if len(p.value) < minimum:
            p.issues.append(Issue("too_small", cont=True, detail={
                "origin": _origin_of_length(p.value), "minimum": minimum, "inclusive": True, "input": p.value}))
    return Check(run, has_length)


def max_length(maximum: int) -> Check:
    def run(p: Payload) -> None:
        if len(p.value) > maximum:
            p.issues.append(Issue("too_big", cont=True, detail={
                "origin": _origin_of_length(p.value), "maximum": maximum, "inclusive": True, "input": p.value}))
    return Check(run, has_length, size_cap=maximum)


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
