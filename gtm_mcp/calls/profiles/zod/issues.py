"""zod issues and their English messages (`v4/locales/en.js`), and the parse payload."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gtm_mcp.calls.profiles.zod.js import js_number, parsed_type, stringify_primitive

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


def prefix_issues(key: str | int, issues: list[Issue]) -> list[Issue]:
    for issue in issues:
        issue.path.insert(0, key)
    return issues
