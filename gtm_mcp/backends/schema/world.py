"""The session world of the schema backend: plain JSON data in the session's state.

Everything lives in `state["world"]` (JSON-serialisable, so any session store can keep it), and a
`World` object wraps that dict while a call runs:

    {"v": 1,
     "closed": true,          # a declared world: what it does not hold does not exist
     "clock": 1767258000.0,   # the session clock (UTC epoch seconds); moves forward on every call
     "tz": "UTC",             # the default time zone of answers
     "n": 12,                 # calls answered so far
     "things": {"/notes/a.txt": {"kind": "file", "fields": {"path": ..., "content": ...},
                                 "t": created, "m": modified},
                "Alice": {"kind": "entity", "fields": {"name": "Alice", ...}, ...}},
     "aliases": {"3f2a9c1": "3f2a9c1…"},  # values handed out (ids, hashes) → the key they name
     "ids": {"order_id": ["ord_1a2b3c4d"]},  # ids handed out, by field name, newest last
     "gone": {"/notes/old.txt": 1767258100.0},  # deleted or moved away: not found, even in an open world
     "bytes": 1234}

A thing is found by its key: the value of the argument that identified it (a path, a name, an id,
a title, an email, a URL), or any value the simulator handed out for it (`aliases`).

Public API (the world of one session, e.g. for reading back through `resources/read` what a tool
wrote):

    world = World.of(session.state, session.world)   # session.world: its declared initial world
    world.write("/notes/a.txt", {"content": "hello"}, kind="file")
    world.read("/notes/a.txt")       # -> {"content": "hello"} (a copy), or None
    world.list(prefix="/notes/")     # -> [("/notes/a.txt", {...})], oldest first
    world.list(kind="file")
    world.delete("/notes/a.txt")     # -> True when it was there

Keys are normalised: `file:///x` is `/x`, paths lose `.`/`..` segments and trailing slashes.
"""

from __future__ import annotations

import copy
import hashlib
import json
import posixpath
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from gtm_mcp.backends.schema.rules import Rules, snake
from gtm_mcp.backends.schema.vocabulary import id_prefix, singular

VERSION = 1
MAX_THINGS = 5000
MAX_BYTES = 4 * 1024 * 1024  # beyond this the oldest things are forgotten
MAX_IDS_PER_FIELD = 50
MAX_ALIASES = 20_000
EPOCH = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
Thing = dict[str, Any]


def normalise_key(value: Any, *, path: bool = False) -> str:
    """The key a value names: strings as given (paths normalised), numbers as their text."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    text = value.strip()
    if text.startswith("file://"):
        text, path = text[len("file://"):], True
    if path or text.startswith(("/", "~/", "./", "../")):
        if not text:
            return text
        normal = posixpath.normpath(text)
        return "/" if normal == "//" else normal
    return text


def looks_like_path(key: str) -> bool:
    return key.startswith(("/", "~", "./", "../")) or ("/" in key and "://" not in key and " " not in key)


def seed_start(seed: int) -> float:
    """A start time for the session clock that depends on the seed only."""
    minutes = int.from_bytes(hashlib.blake2b(str(seed).encode(), digest_size=4).digest(), "big") % (300 * 24 * 60)
    return (EPOCH + timedelta(minutes=minutes)).timestamp()


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str))


class World:
    """A session's world while a call runs (the data stays in `state["world"]`)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.things: dict[str, Thing] = data["things"]
        self.aliases: dict[str, str] = data["aliases"]

    # -- creating --------------------------------------------------------------------------------

    @classmethod
    def of(cls, state: dict[str, Any], declared: dict[str, Any] | None = None, *, seed: int = 0,
           rules: Rules | None = None) -> World:
        """The world kept in `state`, made on first use: from `declared` (a closed world, unless it
        says `"open": true`) or empty and open."""
        data = state.get("world")
        if not isinstance(data, dict) or data.get("v") != VERSION:
            data = state["world"] = cls.fresh(declared, seed=seed, rules=rules)
        return cls(data)

    @staticmethod
    def fresh(declared: dict[str, Any] | None, *, seed: int = 0, rules: Rules | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"v": VERSION, "closed": declared is not None, "clock": seed_start(seed), "tz": "UTC",
                                "n": 0, "things": {}, "aliases": {}, "ids": {}, "gone": {}, "bytes": 0}
        if declared is not None:
            World(data).load(declared, rules)
        return data

    def load(self, declared: dict[str, Any], rules: Rules | None = None) -> None:
        """Fill an empty world from a declared one (see gtm_mcp.sessions.world for the format)."""
        from gtm_mcp.backends.schema.meaning import parse_moment

        if declared.get("open") is True:
            self.data["closed"] = False
        if isinstance(declared.get("timezone"), str):
            self.data["tz"] = declared["timezone"]
        clock = declared.get("clock")
        if clock is not None:
            moment = parse_moment(clock, "UTC")
            if moment is not None:
                self.data["clock"] = moment.timestamp()
        for name, value in declared.items():
            if name in ("clock", "timezone", "open"):
                continue
            if name == "files":
                for path, content in (value or {}).items():
                    key = normalise_key(path, path=True)
                    if content is None or str(path).endswith("/"):
                        self.put(key, {"path": key}, "file", directory=True)
                    elif isinstance(content, dict):
                        self.put(key, {"path": key, **content}, "file")
                    else:
                        self.put(key, {"path": key, "content": str(content)}, "file")
                continue
            kind = "record" if name == "records" else _kind_of_collection(name, rules)
            items = value.items() if isinstance(value, dict) else ((None, v) for v in value or [])
            for given_key, item in items:
                fields = dict(item) if isinstance(item, dict) else {"value": item}
                thing_kind = str(fields.pop("kind", kind)) if name == "records" else kind
                key = normalise_key(given_key) if given_key is not None else identify(fields, rules)
                self.put(key, fields, thing_kind)
                for field, field_value in fields.items():
                    rank = rules.key_rank(field) if rules is not None else None
                    if field_value != key and isinstance(field_value, str | int) and not isinstance(field_value, bool) \
                            and rank is not None and rank <= 3:
                        self.alias(field_value, key)

    # -- the public API --------------------------------------------------------------------------

    def read(self, key: Any) -> dict[str, Any] | None:
        """The fields of the thing `key` names (a copy), or None."""
        found = self.resolve(key)
        return copy.deepcopy(self.things[found]["fields"]) if found is not None else None

    def write(self, key: Any, fields: dict[str, Any], kind: str = "item") -> None:
        """Create or overwrite the thing at `key`."""
        self.put(normalise_key(key), copy.deepcopy(fields), kind)

    def delete(self, key: Any) -> bool:
        """Remove the thing `key` names (and what lies under it, for a directory)."""
        found = self.resolve(key)
        return bool(found is not None and self.remove(found))

    def list(self, prefix: str | None = None, kind: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(key, fields) of the things whose key starts with `prefix` and whose kind is `kind`."""
        return [(key, copy.deepcopy(thing["fields"])) for key, thing in self.things.items()
                if (prefix is None or key.startswith(prefix)) and (kind is None or thing["kind"] == kind)]

    # -- what the engine uses --------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return bool(self.data.get("closed"))

    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.data["clock"], UTC)

    @property
    def tz(self) -> str:
        return str(self.data.get("tz") or "UTC")

    def tick(self, rng: random.Random) -> None:
        """One call later: the clock moves forward by a few seconds to a couple of minutes."""
        self.data["n"] = self.data.get("n", 0) + 1
        self.data["clock"] = float(self.data["clock"]) + rng.randint(2, 150)

    def get(self, key: str) -> Thing | None:
        return self.things.get(key)

    def resolve(self, value: Any, kind: str | None = None, *, path: bool = False) -> str | None:
        """The key of the thing `value` names: its key, a value handed out for it, or a word for
        the newest thing of `kind` (HEAD, latest); None when the world has no such thing."""
        key = normalise_key(value, path=path)
        if key in self.things:
            return key
        aliased = self.aliases.get(key)
        if aliased is not None and aliased in self.things:
            return aliased
        if isinstance(value, str) and not path and "/" not in key:
            trimmed = key.rstrip("/")
            if trimmed in self.things:
                return trimmed
        return None

    def is_gone(self, value: Any, *, path: bool = False) -> bool:
        """Whether the session saw the thing `value` names deleted or moved away."""
        return normalise_key(value, path=path) in self.data.setdefault("gone", {})

    def newest(self, kind: str) -> str | None:
        for key in reversed(self.things):
            if self.things[key]["kind"] == kind:
                return key
        return None

    def put(self, key: str, fields: dict[str, Any], kind: str, *, directory: bool = False) -> Thing:
        now = self.data["clock"]
        old = self.things.get(key)
        if old is not None:
            self.data["bytes"] -= _size(old["fields"])
        self.data.setdefault("gone", {}).pop(key, None)
        thing: Thing = {"kind": kind, "fields": fields, "t": old["t"] if old else now, "m": now}
        if directory or (old is not None and old.get("dir")):
            thing["dir"] = True
        self.things[key] = thing
        if len(key) >= 12 and all(c in "0123456789abcdef" for c in key):
            self.aliases[key[:7]] = key  # a git-style short hash names it too
        self.data["bytes"] = self.data.get("bytes", 0) + _size(fields)
        self._bound()
        return thing

    def change(self, key: str, fields: dict[str, Any]) -> Thing:
        """Merge `fields` into the thing at `key` (which must exist) and mark it modified."""
        thing = self.things[key]
        self.data["bytes"] -= _size(thing["fields"])
        thing["fields"].update(fields)
        thing["m"] = self.data["clock"]
        self.data["bytes"] += _size(thing["fields"])
        self._bound()
        return thing

    def remove(self, key: str) -> list[str]:
        """Remove `key` and, when it is a directory-like path, everything under it."""
        gone = [key] if key in self.things else []
        if looks_like_path(key):
            prefix = key.rstrip("/") + "/"
            gone += [k for k in self.things if k.startswith(prefix)]
        if gone:  # links (things without a key of their own, e.g. relations) to what goes, go too
            named = set(gone)
            gone += [k for k, t in self.things.items() if k.startswith("{") and k not in named and
                     any(isinstance(v, str) and v in named for v in t["fields"].values())]
        for k in gone:
            self.data["bytes"] -= _size(self.things.pop(k)["fields"])
            self._bury(k)
        if gone:
            dropped = set(gone)
            for alias in [a for a, k in self.aliases.items() if k in dropped]:
                del self.aliases[alias]
        return gone

    def move(self, source: str, destination: str, *, keep_source: bool = False) -> None:
        """Move (or copy) `source` and whatever lies under it to `destination`."""
        moves = [(source, destination)]
        prefix = source.rstrip("/") + "/"
        moves += [(k, destination.rstrip("/") + "/" + k[len(prefix):]) for k in self.things if k.startswith(prefix)]
        for old, new in moves:
            thing = self.things.get(old) if keep_source else self.things.pop(old, None)
            if thing is None:
                continue
            thing = copy.deepcopy(thing) if keep_source else thing
            fields = thing["fields"]
            for name in list(fields):
                if fields[name] == old and isinstance(fields[name], str):
                    fields[name] = new
            thing["m"] = self.data["clock"]
            if not keep_source:
                self.data["bytes"] -= _size(fields)
                self._bury(old)
            self.data.setdefault("gone", {}).pop(new, None)
            self.things.pop(new, None)
            self.things[new] = thing
            self.data["bytes"] += _size(fields)
            if not keep_source:
                for alias in [a for a, k in self.aliases.items() if k == old]:
                    self.aliases[alias] = new

    def alias(self, value: Any, key: str) -> None:
        name = normalise_key(value)
        if name and name != key and name not in self.things:
            self.aliases[name] = key
            if isinstance(value, str) and len(value) >= 12 and all(c in "0123456789abcdef" for c in value):
                self.aliases[value[:7]] = key  # a git-style short hash names it too
            if len(self.aliases) > MAX_ALIASES:
                for old in list(self.aliases)[: MAX_ALIASES // 10]:
                    del self.aliases[old]

    def things_of(self, kind: str | None) -> list[tuple[str, Thing]]:
        return [(k, t) for k, t in self.things.items() if kind is None or t["kind"] == kind]

    def kinds(self) -> set[str]:
        return {t["kind"] for t in self.things.values()}

    # -- ids handed out (for `<thing>_id` fields of later answers) -------------------------------

    def remember_id(self, field: str, value: Any) -> None:
        bucket = self.data["ids"].setdefault(field, [])
        if value not in bucket:
            bucket.append(value)
            del bucket[:-MAX_IDS_PER_FIELD]

    def ids_for(self, name: str) -> list[Any]:
        """Ids handed out under this field name (or a name with the same stem), newest first."""
        ids: dict[str, list[Any]] = self.data["ids"]
        exact = ids.get(name)
        if exact:
            return list(reversed(exact))
        stem = id_prefix(name)
        for key, values in ids.items():
            if id_prefix(key) == stem:
                return list(reversed(values))
        return []

    def fresh_id(self, name: str, rng: random.Random, *, integer: bool = False, as_uuid: bool = False) -> Any:
        import uuid

        self.data["counter"] = self.data.get("counter", 0) + 1
        if integer:
            return 1000 + self.data["counter"] * 7 + rng.randint(0, 6)
        if as_uuid:
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return f"{id_prefix(name)}_{rng.getrandbits(32):08x}"

    def _bury(self, key: str) -> None:
        gone = self.data.setdefault("gone", {})
        gone[key] = self.data["clock"]
        if len(gone) > MAX_THINGS:
            for old in list(gone)[: MAX_THINGS // 10]:
                del gone[old]

    def _bound(self) -> None:
        while len(self.things) > MAX_THINGS or (self.data["bytes"] > MAX_BYTES and len(self.things) > 1):
            oldest = next(iter(self.things))
            self.data["bytes"] -= _size(self.things.pop(oldest)["fields"])


def identify(fields: dict[str, Any], rules: Rules | None) -> str:
    """The key of a thing given as an object: its strongest identifying field, else its content."""
    best: tuple[int, str] | None = None
    if rules is not None:
        for name, value in fields.items():
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                rank = rules.key_rank(name)
                if rank is not None and (best is None or rank < best[0]):
                    best = (rank, name)
    if best is not None:
        return normalise_key(fields[best[1]], path=rules is not None and rules.is_path(best[1]))
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)


def _kind_of_collection(name: str, rules: Rules | None) -> str:
    words = snake(name).split("_")
    noun = singular(words[-1]) if words and words[-1] else "item"
    return rules.nouns.get(noun, noun) if rules is not None else noun
