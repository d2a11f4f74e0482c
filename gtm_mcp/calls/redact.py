"""Secrets out of recordings: values under secret-looking keys, and secret-looking text anywhere.

A key is secret when its words contain a configured key's words in a row (`token` covers
`access_token`, `githubToken` and `X-Auth-Token`, not `max_tokens`); its string values become
`[REDACTED]`. Patterns (RE2 syntax: linear time on any input) are searched in every string,
keys' values and free text alike; a match is replaced, or only its group named `secret` when the
pattern has one (so `Bearer [REDACTED]` keeps its scheme).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import re2

REDACTED = "[REDACTED]"

DEFAULT_KEYS = ("api_key", "apikey", "token", "password", "passwd", "passphrase", "authorization", "secret",
                "private_key", "credential", "credentials", "cookie", "session_key", "x_api_key")
DEFAULT_PATTERNS = (
    r"(?i)\b(?:bearer|basic|token)\s+(?P<secret>[A-Za-z0-9._~+/=-]{8,})",
    r"\bsk-[A-Za-z0-9_-]{16,}",  # OpenAI, Anthropic (sk-ant-...)
    r"\bgh[pousr]_[A-Za-z0-9]{20,}",  # GitHub tokens
    r"\bgithub_pat_[A-Za-z0-9_]{20,}",
    r"\bxox[abprs]-[A-Za-z0-9-]{10,}",  # Slack
    r"\bA(?:KIA|SIA)[0-9A-Z]{16}\b",  # AWS access key ids
    r"\bAIza[0-9A-Za-z_-]{35}",  # Google API keys
    r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",  # JWTs
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
    r"(?i)[?&](?:api_?key|access_token|token|key|secret|password|sig|signature)=(?P<secret>[^&\s\"'#]+)",
)

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NAMED = re.compile(r"\(\?P<[A-Za-z_][A-Za-z0-9_]*>")
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


def key_words(key: str) -> tuple[str, ...]:
    """'X-Api-Key' / 'apiKey' / 'api_key' -> ('x', 'api', 'key') / ('api', 'key') / ('api', 'key')."""
    spaced = _CAMEL.sub("_", key[:200])  # keys are short: Python re on a bounded, simple split is safe
    return tuple(w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w)


class Redactor:
    """Redacts secret keys' values and secret patterns in JSON values and text."""

    def __init__(self, keys: Iterable[str] = (), patterns: Iterable[str] = (), *, defaults: bool = True) -> None:
        all_keys = [*(DEFAULT_KEYS if defaults else ()), *keys]
        self.keys = tuple(dict.fromkeys(key_words(k) for k in all_keys if key_words(k)))
        self.patterns = []
        sources = [*(DEFAULT_PATTERNS if defaults else ()), *patterns]
        for pattern in sources:
            try:
                compiled = re2.compile(pattern, options=_OPTIONS)
            except Exception as e:
                raise ValueError(f"redact pattern {pattern!r} is not a regular expression RE2 accepts: {e}") from None
            self.patterns.append((compiled, compiled.groupindex.get("secret")))
        # One search for all patterns first: most strings hold no secret, and one C++ search is far
        # cheaper than a substitution per pattern (group names dropped: they may repeat).
        self._any = re2.compile("|".join(f"(?:{_NAMED.sub('(', p)})" for p in sources), options=_OPTIONS) \
            if sources else None
        self._secret_keys: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.keys or self.patterns)

    def is_secret_key(self, key: str) -> bool:
        found = self._secret_keys.get(key)
        if found is None:
            words = key_words(key)
            found = any(_contains(words, k) for k in self.keys)
            if len(self._secret_keys) < 10_000:
                self._secret_keys[key] = found
        return found

    def text(self, value: str) -> str:
        if self._any is None or self._any.search(value) is None:
            return value
        for pattern, group in self.patterns:
            if group is None:
                value = pattern.sub(REDACTED, value)
            else:
                value = pattern.sub(lambda m, g=group: _keep_around(m, g), value)
        return value

    def value(self, value: Any) -> Any:
        """A copy of a JSON value with secrets redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: (_blank(v) if self.is_secret_key(str(k)) else self.value(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value


def _contains(words: tuple[str, ...], key: tuple[str, ...]) -> bool:
    n = len(key)
    return any(words[i:i + n] == key for i in range(len(words) - n + 1))


def _blank(value: Any) -> Any:
    """A secret key's value: strings (also inside lists and objects) become [REDACTED]."""
    if isinstance(value, str):
        return REDACTED
    if isinstance(value, list):
        return [_blank(v) for v in value]
    if isinstance(value, dict):
        return {k: _blank(v) for k, v in value.items()}
    return value


def _keep_around(match: Any, group: int) -> str:
    whole = match.group(0)
    start, end = match.start(group) - match.start(0), match.end(group) - match.start(0)
    return whole[:start] + REDACTED + whole[end:]
