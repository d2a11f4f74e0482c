"""Plausible values by field name (the schema backend's small world knowledge)."""

from __future__ import annotations

import random
import re
from functools import lru_cache

FIRST = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Radia", "Tim", "Frances", "Guido"]
LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Perlman", "Lee"]
CITIES = ["Berlin", "Tokyo", "Lisbon", "Toronto", "Nairobi", "Seoul", "Austin", "Oslo", "Lima", "Sydney"]
COUNTRIES = ["Germany", "Japan", "Portugal", "Canada", "Kenya", "South Korea", "United States", "Norway", "Peru"]
WORDS = ["alpha", "harbor", "quartz", "meadow", "signal", "vector", "cobalt", "summit", "orbit", "lantern", "delta",
         "prism", "falcon", "ember", "atlas", "nimbus"]
STATUSES = ["ok", "active", "completed", "pending", "success"]
CONDITIONS = ["sunny", "partly cloudy", "overcast", "light rain", "clear"]
CURRENCIES = ["USD", "EUR", "JPY", "GBP", "CHF"]

_ID_SUFFIX = re.compile(r"(^id$|_id$|Id$|_ids?$|^uuid$|_uuid$|^key$|_key$|^slug$|^token$)")


def words(name: str) -> list[str]:
    """snake_case / camelCase / kebab-case name → lower-case words."""
    return list(_words(name)) if len(name) <= 200 else _split(name)


@lru_cache(maxsize=16384)
def _words(name: str) -> tuple[str, ...]:
    return tuple(_split(name))


def _split(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


@lru_cache(maxsize=16384)
def is_id_field(name: str) -> bool:
    return bool(_ID_SUFFIX.search(name)) or name.lower() in {"id", "uid", "guid"}


def id_prefix(name: str) -> str:
    parts = [w for w in words(name) if w not in {"id", "ids", "uuid", "key", "slug", "token"}]
    stem = singular(parts[-1]) if parts else "id"
    return (stem if len(stem) <= 8 else stem[:4]).lower()


_INVARIANT = {"news", "series", "species", "physics", "analytics", "mathematics", "data", "canvas", "alias", "atlas",
              "chaos", "bias", "gas", "lens", "status", "bus", "its", "this", "has", "was", "is", "does"}


def singular(word: str) -> str:
    if word in _INVARIANT:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "tuses", "zzes")) and len(word) > 4:
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def sentence(rng: random.Random, topic: str, name: str = "") -> str:
    """A short, neutral text about the topic for a free-text field (no invented claims: no counts,
    no "last updated ... ago")."""
    topic = topic.strip() or rng.choice(WORDS)
    label = next((w for w in words(name) if w in _LABELLED), "")
    if label:
        return f"{label.title()} of {topic}."
    return f"{topic[:1].upper()}{topic[1:]}."


_LABELLED = {"description", "summary", "details", "explanation", "analysis", "conclusion", "note", "notes",
             "comment", "overview", "report"}


def string_for(name: str, rng: random.Random, topic: str) -> str:
    """A string that fits a field called `name` (best effort; the schema decides validity)."""
    w = set(words(name))
    if w & {"email", "mail"}:
        return f"{rng.choice(FIRST).lower()}.{rng.choice(LAST).lower()}@example.com"
    if w & {"url", "link", "href", "uri", "website", "homepage"}:
        return f"https://example.com/{rng.choice(WORDS)}/{rng.randint(100, 999)}"
    if w & {"phone", "mobile", "tel"}:
        return f"+1-555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
    if w & {"author", "user", "username", "owner", "person", "customer", "sender", "recipient"} or (name == "name" \
            and "user" in topic):
        return person(rng)
    if w & {"city", "location", "place"}:
        return rng.choice(CITIES)
    if "country" in w:
        return rng.choice(COUNTRIES)
    if w & {"currency"}:
        return rng.choice(CURRENCIES)
    if w & {"status", "state"}:
        return rng.choice(STATUSES)
    if w & {"condition", "conditions", "weather", "forecast"}:
        return rng.choice(CONDITIONS)
    if w & {"date", "day", "birthday"}:
        return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if w & {"time", "timestamp", "created", "updated", "modified", "at"}:
        return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:" \
               f"{rng.randint(0, 59):02d}:00Z"
    if w & {"path", "file", "filename", "directory", "dir"}:
        return f"/home/user/{rng.choice(WORDS)}/{rng.choice(WORDS)}.txt"
    if w & {"title", "name", "label", "subject", "headline"}:
        return f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()}"
    if w & {"description", "summary", "content", "text", "body", "message", "snippet", "result", "answer",
            "output", "details", "note", "notes", "analysis", "conclusion", "explanation", "comment"}:
        return sentence(rng, topic, name)
    if w & {"language", "lang", "locale"}:
        return rng.choice(["en", "de", "ja", "pt", "fr"])
    if w & {"type", "category", "kind", "format", "unit"}:
        return rng.choice(WORDS)
    if w & {"version"}:
        return f"{rng.randint(0, 4)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
    if w & {"code"}:
        return f"{rng.choice(WORDS)[:3].upper()}-{rng.randint(100, 999)}"
    return f"{rng.choice(WORDS)} {rng.choice(WORDS)}"


def number_for(name: str, rng: random.Random, integer: bool) -> float | int:
    w = set(words(name))
    if w & {"lat", "latitude"}:
        return round(rng.uniform(-60, 70), 4)
    if w & {"lon", "lng", "longitude"}:
        return round(rng.uniform(-170, 170), 4)
    if w & {"temperature", "temp"}:
        value: float = rng.uniform(-5, 32)
    elif w & {"price", "amount", "cost", "balance", "total", "revenue", "salary", "fee", "value"}:
        value = rng.uniform(5, 500)
    elif w & {"percent", "percentage", "rate", "ratio", "probability", "score", "confidence", "humidity"}:
        value = rng.uniform(0, 1) if "percent" not in w and "humidity" not in w else rng.uniform(0, 100)
    elif w & {"year"}:
        value = rng.randint(1990, 2026)
    elif w & {"count", "num", "number", "size", "length", "quantity", "page", "pages", "limit", "items", "results"}:
        value = rng.randint(1, 50)
    else:
        value = rng.uniform(1, 100)
    return round(value) if integer else round(value, 2)
