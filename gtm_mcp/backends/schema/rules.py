"""The world rules as data: `rules.yaml` (shipped with the package) merged with a user's file.

`load_rules(path)` reads the defaults and, when `path` is given, a YAML or JSON file with the same
keys merged over them: mappings are merged key by key (the user's values win), lists are joined
with the user's entries first (tried before the defaults), other values are replaced. A broken
file raises `RulesError` naming the file and the key.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from gtm_mcp.contract import patterns

OPS = {"create", "write", "update", "read", "list", "search", "delete", "move", "copy", "count", "send", "clock",
       "other"}
_LISTS_OF_STRINGS = ("collections", "stop_words", "keys", "latest", "newest_first", "reference")
_PATTERNS = ("paths", "wrappers", "scopes", "references", "containers", "queries", "sources", "destinations")
_ERROR_KINDS = {"not_found", "no_match", "invalid_timezone", "invalid_time"}


class RulesError(ValueError):
    """A world-rules file that cannot be used (unreadable, wrong shape, a broken pattern)."""


def snake(name: str) -> str:
    """`entityNames` → `entity_names`, `day-of-week` → `day_of_week`."""
    return _snake(name) if len(name) <= 200 else _snake.__wrapped__(name)


@lru_cache(maxsize=16384)
def _snake(name: str) -> str:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


@dataclass(frozen=True)
class Rules:
    verbs: dict[str, str]
    verb_sets: dict[str, dict[str, Any]]
    past: dict[str, str]
    nouns: dict[str, str]
    collections: frozenset[str]
    stop_words: frozenset[str]
    keys: tuple[str, ...]
    paths: str
    wrappers: str
    scopes: str
    references: str
    containers: str
    queries: str
    sources: str
    destinations: str
    replace_pairs: tuple[tuple[str, str], ...]
    latest: frozenset[str]
    newest_first: frozenset[str]
    reference: frozenset[str]
    fields: tuple[tuple[str, str], ...]
    texts: dict[str, str]
    errors: tuple[tuple[str, str, str], ...]
    _kinds: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)
    _ranks: dict[str, int | None] = field(default_factory=dict, compare=False, repr=False)
    _paths: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def matches(self, pattern: str, name: str) -> bool:
        return bool(pattern) and patterns.compiled(pattern)(name)

    def key_rank(self, name: str) -> int | None:
        """Strength of `name` as an identifying argument (0 strongest), None when it is not one."""
        if name in self._ranks:
            return self._ranks[name]
        s = snake(name)
        found = next((rank for rank, pattern in enumerate(self.keys) if patterns.compiled(pattern)(s)), None)
        if len(self._ranks) < 16384:
            self._ranks[name] = found
        return found

    def is_path(self, name: str) -> bool:
        """Whether an argument called `name` holds a file-system path."""
        found = self._paths.get(name)
        if found is None:
            found = bool(self.paths) and patterns.compiled(self.paths)(snake(name))
            if len(self._paths) < 16384:
                self._paths[name] = found
        return found

    def kinds_of(self, name: str) -> tuple[str, ...]:
        """Every value kind whose pattern matches the field `name`, in table order."""
        found = self._kinds.get(name)
        if found is None:
            s = snake(name)
            found = tuple(kind for kind, pattern in self.fields if patterns.compiled(pattern)(s))
            if len(self._kinds) < 16384:
                self._kinds[name] = found
        return found

    def past_of(self, verb: str) -> str:
        if verb in self.past:
            return self.past[verb]
        if verb.endswith("e"):
            return verb + "d"
        if verb.endswith("y") and len(verb) > 2 and verb[-2] not in "aeiou":
            return verb[:-1] + "ied"
        return verb + "ed"

    def error_text(self, kind: str, subject: str) -> str:
        for error_kind, pattern, text in self.errors:
            if error_kind == kind and (not pattern or patterns.compiled(pattern)(subject)):
                return text
        return {"not_found": "{Noun} '{key}' not found"}.get(kind, "Invalid value '{value}'")

    def __hash__(self) -> int:  # rules are compared by identity (one object per server)
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    def __post_init__(self) -> None:
        for name in ("_kinds", "_ranks", "_paths"):  # caches start empty whatever was passed
            getattr(self, name).clear()


def merge(base: Any, extra: Any) -> Any:
    """`extra` over `base`: mappings key by key, lists with `extra`'s entries first, else `extra`."""
    if isinstance(base, dict) and isinstance(extra, dict):
        out = dict(base)
        for key, value in extra.items():
            out[key] = merge(base[key], value) if key in base else value
        return out
    if isinstance(base, list) and isinstance(extra, list):
        return [*extra, *(item for item in base if item not in extra)]
    return extra


def _read(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as e:
        raise RulesError(f"world rules {path}: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RulesError(f"world rules {path}: expected a mapping with keys such as 'verbs' and 'fields'")
    return data


def _pattern(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise RulesError(f"{where}: expected a pattern (a string), got {type(value).__name__}")
    if value and not patterns.is_valid_pattern(value):
        raise RulesError(f"{where}: {value!r} is not a valid pattern")
    return value


#: Every placeholder a text or error template may use.
PLACEHOLDERS = {k: "x" for k in ("key", "keys", "noun", "nouns", "Noun", "Nouns", "what", "past", "count", "source",
                                 "destination", "syscall", "value")}


def fill(template: str, **values: Any) -> str:
    """A text or error template with its placeholders filled (those not given are empty)."""
    return template.format(**{**{k: "" for k in PLACEHOLDERS}, **values})


def _template(where: str, template: str) -> None:
    try:
        template.format(**PLACEHOLDERS)
    except (KeyError, IndexError, ValueError) as e:
        raise RulesError(f"{where}: {template!r} uses an unknown placeholder or bad braces ({e}); known: "
                         f"{', '.join('{' + k + '}' for k in PLACEHOLDERS)}") from None


def build(data: dict[str, Any], origin: str = "rules") -> Rules:
    """Rules from a merged mapping; raises RulesError naming the bad key."""
    known = {"verbs", "verb_sets", "past", "nouns", "collections", "stop_words", "keys", *_PATTERNS, "replace_pairs",
             "latest", "newest_first", "reference", "fields", "texts", "errors"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RulesError(f"{origin}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")

    def mapping(key: str, values: type | tuple[type, ...] = str) -> dict[str, Any]:
        value = data.get(key) or {}
        if not isinstance(value, dict) or not all(isinstance(v, values) for v in value.values()):
            raise RulesError(f"{origin}: '{key}' must map words to {getattr(values, '__name__', 'values')}")
        return {str(k).lower(): v for k, v in value.items()}

    verbs = mapping("verbs")
    bad = sorted({op for op in verbs.values() if op not in OPS})
    if bad:
        raise RulesError(f"{origin}: 'verbs' names unknown operation(s) {', '.join(bad)}; "
                         f"known: {', '.join(sorted(OPS))}")
    for key in _LISTS_OF_STRINGS:
        if not isinstance(data.get(key) or [], list) or not all(isinstance(v, str) for v in data.get(key) or []):
            raise RulesError(f"{origin}: '{key}' must be a list of strings")
    keys = tuple(_pattern(f"{origin}: keys[{i}]", p) for i, p in enumerate(data.get("keys") or []))
    fields = []
    for i, entry in enumerate(data.get("fields") or []):
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            raise RulesError(f"{origin}: fields[{i}] must be [kind, pattern]")
        fields.append((entry[0], _pattern(f"{origin}: fields[{i}]", entry[1])))
    errors = []
    for i, entry in enumerate(data.get("errors") or []):
        if not (isinstance(entry, list) and len(entry) == 3 and all(isinstance(x, str) for x in entry)
                and entry[0] in _ERROR_KINDS):
            raise RulesError(f"{origin}: errors[{i}] must be [kind, pattern, text] with kind one of "
                             f"{', '.join(sorted(_ERROR_KINDS))}")
        errors.append((entry[0], _pattern(f"{origin}: errors[{i}]", entry[1]), entry[2]))
    pairs = []
    for i, entry in enumerate(data.get("replace_pairs") or []):
        if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(x, str) for x in entry)):
            raise RulesError(f"{origin}: replace_pairs[{i}] must be [find field, put field]")
        pairs.append((snake(entry[0]), snake(entry[1])))
    texts = mapping("texts")
    for name, template in texts.items():
        _template(f"{origin}: texts.{name}", template)
    for i, (_, _, template) in enumerate(errors):
        _template(f"{origin}: errors[{i}]", template)
    verb_sets = mapping("verb_sets", dict)
    return Rules(
        verbs=verbs, verb_sets=verb_sets, past=mapping("past"), nouns=mapping("nouns"),
        collections=frozenset(data.get("collections") or []), stop_words=frozenset(data.get("stop_words") or []),
        keys=keys, **{key: _pattern(f"{origin}: {key}", data.get(key) or "") for key in _PATTERNS},
        replace_pairs=tuple(pairs), latest=frozenset(data.get("latest") or []),
        newest_first=frozenset(data.get("newest_first") or []), reference=frozenset(data.get("reference") or []),
        fields=tuple(fields),
        texts=texts, errors=tuple(errors))


def default_data() -> dict[str, Any]:
    text = (resources.files("gtm_mcp.backends.schema") / "rules.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@lru_cache(maxsize=16)
def load_rules(path: str | None = None) -> Rules:
    """The default rules, with the file at `path` merged over them when given."""
    data = default_data()
    if path:
        data = merge(data, _read(path))
    return build(data, origin=f"world rules {path}" if path else "world rules")
