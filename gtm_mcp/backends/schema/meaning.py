"""Values that mean what their field's name says: times from the session clock in the time zone
asked for, weekdays of that date, sizes and counts of the content at hand, hashes of the right
length, booleans that agree with the outcome. `Scene` holds what one call is about; `value_for`
answers one field of one kind (or declines, and the generic generator writes it)."""

from __future__ import annotations

import hashlib
import mimetypes
import posixpath
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from gtm_mcp.backends.schema.rules import Rules, snake
from gtm_mcp.backends.schema.world import Thing, looks_like_path

_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
_CLOCKLIKE = re.compile(r"\d{1,3}:\d{1,3}(?::\d{1,3})?(?:\s*[AaPp][Mm])?")
_TIME_OF_DAY = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp][Mm]))?")
#: Argument names that bound a range rather than name the moment a call is about.
_RANGE = re.compile(r"^(start|end|since|until|from|to|min|max|after|before|begin|stop)(_|$)")
_UTC_NAMES = {"UTC", "Z", "GMT", "ZULU", "UNIVERSAL", "ETC/UTC", "ETC/GMT"}
#: Fields that hold a thing's content (what its size and line count measure).
CONTENT_FIELDS = ("content", "contents", "text", "body", "data", "file_content")
#: Kinds an argument value may be echoed into (a field of the same kind, at any depth).
ECHOED_KINDS = ("timezone", "path", "url", "email", "query")
STATUS_WORDS = {
    "create": ("created", "active", "success", "ok", "completed", "open", "pending", "scheduled", "placed", "new"),
    "write": ("saved", "written", "success", "ok", "completed", "updated", "created"),
    "update": ("updated", "success", "ok", "completed", "active", "modified"),
    "delete": ("deleted", "removed", "success", "ok", "completed", "cancelled", "canceled"),
    "send": ("sent", "delivered", "queued", "success", "ok"),
    "move": ("moved", "renamed", "success", "ok", "completed"),
    "copy": ("copied", "success", "ok", "completed"),
}
DEFAULT_STATUS = ("ok", "success", "active", "available", "completed", "open")


@lru_cache(maxsize=1024)
def zone(name: str) -> tzinfo | None:
    """The time zone a name means (IANA names, UTC/GMT, offsets such as +02:00), or None."""
    text = name.strip()
    if not text or len(text) > 64:
        return None
    if text.upper() in _UTC_NAMES:
        return UTC
    m = _OFFSET.fullmatch(text)
    if m and (text[0] in "+-" or text[:3].upper() in ("UTC", "GMT")):
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        if hours > 14 or minutes > 59:
            return None
        sign = 1 if m.group(1) == "+" else -1
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return ZoneInfo(text)
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return None


def zone_name(name: str) -> str:
    tz = zone(name)
    return tz.key if isinstance(tz, ZoneInfo) else ("UTC" if tz is UTC else name)


def time_of_day(value: str) -> time | None:
    m = _TIME_OF_DAY.fullmatch(value.strip())
    if not m:
        return None
    hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if m.group(4):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m.group(4).lower() == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def parse_moment(value: Any, tz_name: str) -> datetime | None:
    """An instant from an ISO datetime or date, or epoch seconds/milliseconds (naive values are
    read in `tz_name`); None when the value is none of these."""
    tz = zone(tz_name) or UTC
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not 8 <= len(value.strip()) <= 40:
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(text[:10]), time()) if len(text) == 10 else None
        except ValueError:
            parsed = None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def hexdigest(kind: str, *parts: Any) -> str:
    text = "\x00".join(str(p) for p in parts).encode()
    if kind == "sha256":
        return hashlib.sha256(text).hexdigest()
    if kind == "md5":
        return hashlib.md5(text, usedforsecurity=False).hexdigest()
    digest = hashlib.sha1(text, usedforsecurity=False).hexdigest()
    return digest[:7] if kind == "short_sha" else digest


def is_hex(value: Any, length: int | None = None) -> bool:
    return isinstance(value, str) and (length is None or len(value) == length) and len(value) >= 7 \
        and all(c in "0123456789abcdef" for c in value)


@dataclass
class Scene:
    """What one call is about, for the fields whose names say what they hold."""

    rules: Rules
    op: str
    verb: str
    noun: str
    now: datetime  # the session clock
    at: datetime  # the instant the call is about (a time argument, else now)
    tz: str  # the answer's time zone
    zones: dict[str, str] = field(default_factory=dict)  # argument prefix ("source") -> time zone
    key: str | None = None
    thing: Thing | None = None  # what the call acted on, as it is now
    count: int | None = None  # things listed or affected
    message: str = ""  # the confirmation sentence of a successful call
    echo: dict[str, Any] = field(default_factory=dict)  # kind -> the argument value of that kind
    seed: int = 0

    @property
    def content(self) -> str | None:
        if self.thing is None:
            return None
        fields = self.thing["fields"]
        for name in CONTENT_FIELDS:
            if isinstance(fields.get(name), str):
                return fields[name]
        return None

    def zone_for(self, name: str, inherited: str) -> str:
        """The time zone of an object reached through the field `name` (`source` → the
        `source_timezone` argument), else the enclosing object's."""
        return self.zones.get(snake(name), inherited) if self.zones else inherited


def _typed(schema_type: str, moment: datetime, tz: str) -> Any:
    local = moment.astimezone(zone(tz) or UTC)
    if schema_type == "integer":
        return int(moment.timestamp())
    if schema_type == "number":
        return float(int(moment.timestamp()))
    return iso(local)


def value_for(scene: Scene, kind: str, name: str, schema_type: str, tz: str, rng: random.Random,
              siblings: dict[str, Any] | None = None) -> tuple[bool, Any]:
    """(True, value) when the kind decides this field's value for that JSON type, else (False, None)."""
    string, boolean = schema_type == "string", schema_type == "boolean"
    numeric = schema_type in ("integer", "number")
    local_tz = zone(tz) or UTC
    at = scene.at.astimezone(local_tz)
    thing = scene.thing
    if kind == "weekday" and string:
        return True, at.strftime("%A")
    if kind == "timezone" and string:
        return True, tz
    if kind == "utc_offset" and string:
        offset = at.strftime("%z")
        return True, f"{offset[:3]}:{offset[3:]}" if offset else "+00:00"
    if kind == "is_dst" and boolean:
        return True, bool(at.dst())
    if kind == "time_difference" and (string or numeric) and len(scene.zones) >= 2:
        names = list(scene.zones.values())
        first, second = (scene.at.astimezone(zone(n) or UTC).utcoffset() or timedelta() for n in names[:2])
        hours = (second - first).total_seconds() / 3600
        return True, (f"{hours:+.1f}h" if string else hours)
    if kind in ("created_time", "modified_time", "accessed_time", "datetime") and (string or numeric):
        if kind == "created_time" and thing is not None:
            return True, _typed(schema_type, datetime.fromtimestamp(thing["t"], UTC), tz)
        if kind == "modified_time" and thing is not None:
            return True, _typed(schema_type, datetime.fromtimestamp(thing["m"], UTC), tz)
        return True, _typed(schema_type, scene.now if kind != "datetime" else scene.at, tz)
    if kind == "date" and string:
        return True, at.date().isoformat()
    if kind == "time" and string:
        return True, at.strftime("%H:%M:%S")
    if kind in ("year", "month", "day", "hour", "minute") and numeric:
        return True, getattr(at, kind)
    if kind == "duration" and numeric:
        seconds = round(rng.uniform(0.05, 4.0), 3)
        return True, (round(seconds * 1000) if snake(name).endswith("_ms") or (schema_type == "integer" and
                      seconds < 1) else (round(seconds) if schema_type == "integer" else seconds))
    if kind in ("sha1", "sha256", "md5", "short_sha") and string:
        if scene.key and is_hex(scene.key, 40) and kind in ("sha1", "short_sha"):
            return True, scene.key if kind == "sha1" else scene.key[:7]
        return True, hexdigest(kind, scene.seed, scene.key, scene.content, scene.now.timestamp(), name)
    content = _content_of(scene, siblings)
    if kind in ("size", "length", "line_count", "word_count") and numeric and content is not None:
        measure = {"size": len(content.encode("utf-8")), "length": len(content),
                   "line_count": len(content.splitlines()), "word_count": len(content.split())}[kind]
        return True, measure
    if kind == "count" and numeric and scene.count is not None:
        return True, scene.count
    if boolean:
        if kind == "success":
            return True, True
        if kind == "failure":
            return True, False
        if kind == "deleted":
            return True, scene.op == "delete"
        if kind == "created":
            return True, scene.op in ("create", "write", "copy")
        if kind == "updated":
            return True, scene.op in ("update", "write", "move")
        if kind == "exists":
            return True, thing is not None or scene.op in ("create", "write", "update")
        if kind in ("is_dir", "is_file") and thing is not None:
            return True, bool(thing.get("dir")) == (kind == "is_dir")
    if not string:
        return False, None
    key = scene.key if scene.key and looks_like_path(scene.key) else None
    if kind == "path" and key:
        return True, key
    if kind == "basename" and key:
        return True, posixpath.basename(key) or key
    if kind == "extension" and key:
        return True, posixpath.splitext(key)[1].lstrip(".")
    if kind == "mime" and key:
        return True, mimetypes.guess_type(key)[0] or "text/plain"
    if kind == "content" and scene.content is not None:
        return True, scene.content
    if kind == "message" and scene.message:
        return True, scene.message
    if kind == "permissions":
        return True, "755" if thing is not None and thing.get("dir") else "644"
    if kind in scene.echo:
        return True, scene.echo[kind]
    return False, None


def _content_of(scene: Scene, siblings: dict[str, Any] | None) -> str | None:
    if siblings:
        for key in CONTENT_FIELDS:
            if isinstance(siblings.get(key), str):
                return siblings[key]
    return scene.content


def status_for(op: str, enum: list[Any] | None, rng: random.Random) -> Any:
    words = STATUS_WORDS.get(op, DEFAULT_STATUS)
    if enum:
        lowered = {str(v).lower(): v for v in enum}
        for word in words:
            if word in lowered:
                return lowered[word]
        return None
    return words[0]


def moment_of(arguments: dict[str, Any], rules: Rules, now: datetime, tz: str) -> tuple[datetime, str | None]:
    """The instant a call is about: a date/time argument (not a range bound) read in `tz`, else
    `now`; and the problem kind when a time-of-day argument is not a time."""
    for name, value in arguments.items():
        if not isinstance(value, (str, int, float)) or isinstance(value, bool) or _RANGE.match(snake(name)):
            continue
        kinds = rules.kinds_of(name)
        first = kinds[0] if kinds else None
        if first == "time" and isinstance(value, str) and len(value) <= 40:
            clock = time_of_day(value)
            if clock is None:
                moment = parse_moment(value, tz)
                if moment is not None:
                    return moment, None
                if _CLOCKLIKE.fullmatch(value.strip()):  # 25:30, 12:75: a clock time that is not one
                    return now, "invalid_time"
                continue
            local = now.astimezone(zone(tz) or UTC)
            return local.replace(hour=clock.hour, minute=clock.minute, second=clock.second, microsecond=0), None
        if first in ("datetime", "date", "created_time"):
            moment = parse_moment(value, tz)
            if moment is not None:
                return moment, None
    return now, None


def zones_of(arguments: dict[str, Any], rules: Rules) -> tuple[dict[str, str], str | None]:
    """(argument prefix → time zone name, the first unknown time zone given)."""
    zones: dict[str, str] = {}
    for name, value in arguments.items():
        if not isinstance(value, str) or "timezone" not in rules.kinds_of(name)[:1]:
            continue
        s = snake(name)
        if not re.search(r"(^|_)(timezone|time_zone|tz)$", s):
            continue
        if zone(value) is None:
            return zones, value
        prefix = re.sub(r"_?(timezone|time_zone|tz)$", "", s)
        zones[prefix] = zone_name(value)
    return zones, None
