"""A string that matches a regular expression (for `pattern` in JSON Schemas), from Python's own
regex parser. Covers literals, classes, repeats, groups, alternation and anchors. Written strings
are capped in length, and checked with the contract's safe matcher (no catastrophic backtracking)."""

from __future__ import annotations

import random
import re
import string
from typing import Any

from gtm_mcp.contract import patterns

try:  # Python 3.11+
    from re import _constants as sre_c  # type: ignore[attr-defined]
    from re import _parser as sre_p  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as sre_c  # type: ignore[no-redef]
    import sre_parse as sre_p  # type: ignore[no-redef]

_CATEGORIES = {
    sre_c.CATEGORY_DIGIT: string.digits,
    sre_c.CATEGORY_NOT_DIGIT: string.ascii_letters,
    sre_c.CATEGORY_SPACE: " ",
    sre_c.CATEGORY_NOT_SPACE: string.ascii_letters + string.digits,
    sre_c.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    sre_c.CATEGORY_NOT_WORD: "-.,:",
}
_PRINTABLE = string.ascii_letters + string.digits


def _class_chars(items: list[tuple[Any, Any]]) -> str:
    negate = False
    chars: list[str] = []
    for op, av in items:
        if op is sre_c.NEGATE:
            negate = True
        elif op is sre_c.LITERAL:
            chars.append(chr(av))
        elif op is sre_c.RANGE:
            lo, hi = av
            chars.extend(chr(c) for c in range(lo, min(hi, lo + 200) + 1))
        elif op is sre_c.CATEGORY:
            chars.extend(_CATEGORIES.get(av, _PRINTABLE))
    if negate:
        return "".join(c for c in _PRINTABLE if c not in chars) or "~"
    return "".join(chars) or "a"


class _TooLong(Exception):
    pass


def _emit(parsed: Any, rng: random.Random, groups: dict[int, str], budget: list[int]) -> str:
    out = []
    for op, av in parsed:
        if op is sre_c.LITERAL:
            out.append(chr(av))
        elif op is sre_c.NOT_LITERAL:
            out.append(next(c for c in _PRINTABLE if ord(c) != av))
        elif op is sre_c.ANY:
            out.append(rng.choice(_PRINTABLE))
        elif op is sre_c.IN:
            out.append(rng.choice(_class_chars(av)))
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", None)):
            lo, hi, sub = av
            hi = lo + 3 if hi is sre_c.MAXREPEAT else hi
            count = rng.randint(lo, max(lo, min(hi, lo + 3)))
            budget[0] -= count
            if budget[0] < 0:
                raise _TooLong
            out.extend(_emit(sub, rng, groups, budget) for _ in range(count))
        elif op is sre_c.SUBPATTERN:
            group, _, _, sub = av
            text = _emit(sub, rng, groups, budget)
            if group:
                groups[group] = text
            out.append(text)
        elif op is sre_c.BRANCH:
            out.append(_emit(rng.choice(av[1]), rng, groups, budget))
        elif op is sre_c.GROUPREF:
            out.append(groups.get(av, ""))
        elif op is getattr(sre_c, "ATOMIC_GROUP", None):
            out.append(_emit(av, rng, groups, budget))
        elif op in (sre_c.AT, sre_c.ASSERT, sre_c.ASSERT_NOT):
            continue
        elif op is sre_c.CATEGORY:
            out.append(rng.choice(_CATEGORIES.get(av, _PRINTABLE)))
    return "".join(out)


def string_matching(pattern: str, rng: random.Random, attempts: int = 8, max_chars: int = 10_000) -> str | None:
    """A string the pattern matches (JSON Schema `pattern` semantics), at most `max_chars` long, or
    None when none was found."""
    try:
        parsed = sre_p.parse(pattern)
    except (re.error, ValueError, TypeError, RecursionError):
        return None
    for _ in range(attempts):
        try:
            text = _emit(parsed, rng, {}, [max(max_chars, 0)])
        except (StopIteration, ValueError, IndexError, RecursionError, _TooLong):
            return None
        try:
            if len(text) <= max_chars and patterns.search(pattern, text):
                return text
        except ValueError:  # the pattern times out or neither engine reads it
            return None
    return None
