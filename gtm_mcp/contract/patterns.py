"""Regular expressions from tool schemas (`pattern`, `patternProperties`) matched without the risk of
catastrophic backtracking: an agent's string must never stall the server.

A pattern is compiled with RE2 (google-re2: linear time, no backtracking) when RE2 accepts it; the
few that RE2 refuses (lookarounds, backreferences) fall back to the `regex` module with a time limit
per match. A match that runs out of time raises `PatternTimeout`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import re2
import regex

#: Seconds one fallback match may take.
MATCH_TIMEOUT_S = 0.05
#: Largest repetition count the fallback engine compiles (its compile time grows with the count;
#: RE2 itself stops at 1000).
MAX_REPEAT = 10_000
_REPEAT = regex.compile(r"\{\s*(\d+)\s*(?:,\s*(\d*)\s*)?\}")
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is expected (we fall back), not an error to log


class PatternTimeout(ValueError):
    """Matching a string against a pattern took longer than the limit."""

    def __init__(self, pattern: str) -> None:
        shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
        super().__init__(f"matching against the pattern {shown!r} took longer than {MATCH_TIMEOUT_S:g} s")
        self.pattern = pattern


class PatternError(ValueError):
    """The pattern is not a regular expression either engine understands."""


@lru_cache(maxsize=4096)
def compiled(pattern: str) -> Callable[[str], bool]:
    """A `search(text) -> bool` for `pattern` (cached). Raises PatternError for a broken pattern."""
    try:
        fast = re2.compile(pattern, options=_RE2_OPTIONS)
    except Exception:  # re2 refuses lookarounds and backreferences: the timed engine takes those
        fast = None
    if fast is not None:
        return lambda text: fast.search(text) is not None
    counts = [int(n) for m in _REPEAT.finditer(pattern[:100_000]) for n in m.groups() if n]
    if any(n > MAX_REPEAT for n in counts):
        raise PatternError(f"pattern {pattern[:60]!r} repeats more than {MAX_REPEAT} times: too large to match safely")
    try:
        slow = regex.compile(pattern)
    except (regex.error, TypeError, ValueError) as e:
        raise PatternError(f"invalid pattern {pattern!r}: {e}") from None

    def search(text: str) -> bool:
        try:
            return slow.search(text, timeout=MATCH_TIMEOUT_S) is not None
        except TimeoutError:
            raise PatternTimeout(pattern) from None

    return search


def search(pattern: str, text: str) -> bool:
    """Whether `pattern` matches somewhere in `text` (JSON Schema's `pattern` semantics)."""
    return compiled(pattern)(text)


def is_valid_pattern(pattern: str) -> bool:
    try:
        compiled(pattern)
    except PatternError:
        return False
    return True
