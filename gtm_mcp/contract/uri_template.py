"""URI templates (RFC 6570, the forms MCP resource templates use): parse, expand and match.

`UriTemplate("test://template/{id}/data").match("test://template/123/data") == {"id": "123"}`.
Supported expressions: `{var}` (one segment), `{+var}` and `{#var}` (may span `/`), `{/var}`,
`{.var}`, `{;var}`, and the query forms `{?a,b}` / `{&a}`. Matching runs on RE2 (linear time): a
client's URI can never make the server backtrack.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

import re2

#: Longest URI matched against templates (longer ones are refused before any matching).
MAX_URI_LENGTH = 4096
_OPERATORS = "+#/.;?&"
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


class UriTemplateError(ValueError):
    """A template that is not a usable RFC 6570 template."""


@dataclass(frozen=True)
class _Expression:
    operator: str  # "" or one of _OPERATORS
    names: tuple[str, ...]


def _parse(template: str) -> list[str | _Expression]:
    parts: list[str | _Expression] = []
    pos = 0
    while pos < len(template):
        start = template.find("{", pos)
        if start < 0:
            parts.append(template[pos:])
            break
        if template.find("}", pos, start) >= 0:
            raise UriTemplateError(f"unbalanced '}}' at {template.find('}', pos, start)}")
        if start > pos:
            parts.append(template[pos:start])
        end = template.find("}", start)
        if end < 0:
            raise UriTemplateError(f"'{{' at {start} is never closed")
        body = template[start + 1:end]
        operator = body[0] if body and body[0] in _OPERATORS else ""
        names = tuple(n.strip().rstrip("*").split(":")[0] for n in body[len(operator):].split(","))
        if not names or any(not n or "{" in n for n in names):
            raise UriTemplateError(f"empty or malformed expression {{{body}}} at {start}")
        parts.append(_Expression(operator, names))
        pos = end + 1
    return parts


class UriTemplate:
    """One parsed template; `variables` lists its variable names in order."""

    def __init__(self, template: str) -> None:
        self.template = template
        self._parts = _parse(template)

    @property
    def variables(self) -> list[str]:
        return list(dict.fromkeys(n for p in self._parts if isinstance(p, _Expression) for n in p.names))

    @cached_property
    def _matcher(self) -> tuple[Any, list[tuple[str, str]]]:
        pattern = ["^"]
        groups: list[tuple[str, str]] = []  # (group, variable or "?query")
        for part in self._parts:
            if isinstance(part, str):
                pattern.append(re2.escape(part))
                continue
            op = part.operator
            if op in ("?", "&"):
                group = f"g{len(groups)}"
                groups.append((group, "?" + ",".join(part.names)))
                lead = re2.escape(op)
                pattern.append(f"(?:{lead}(?P<{group}>[^#]*))?")
                continue
            for i, name in enumerate(part.names):
                group = f"g{len(groups)}"
                groups.append((group, name))
                value = ".+" if op in ("+", "#") else "[^/?#]+"
                if op in ("/", ".", ";"):
                    prefix = re2.escape(op) + (re2.escape(name + "=") if op == ";" else "")
                    pattern.append(f"(?:{prefix}(?P<{group}>{value if op != '.' else '[^/?#.]+'}))?")
                else:
                    lead = re2.escape("#") if op == "#" and i == 0 else (re2.escape(",") if i else "")
                    pattern.append(f"{lead}(?P<{group}>{value})")
        pattern.append("$")
        return re2.compile("".join(pattern), options=_RE2_OPTIONS), groups

    def match(self, uri: str) -> dict[str, str] | None:
        """The variables of a URI this template produces, or None when it does not match."""
        if len(uri) > MAX_URI_LENGTH:
            return None
        compiled, groups = self._matcher
        found = compiled.fullmatch(uri)
        if found is None:
            return None
        values: dict[str, str] = {}
        for group, name in groups:
            raw = found.group(group)
            if raw is None:
                continue
            if name.startswith("?"):
                wanted = set(name[1:].split(","))
                values.update({k: v for k, v in parse_qsl(raw, keep_blank_values=True) if k in wanted})
            else:
                values[name] = unquote(raw)
        return values

    def expand(self, values: dict[str, Any]) -> str:
        """The URI for these variable values (missing variables expand to nothing)."""
        out: list[str] = []
        for part in self._parts:
            if isinstance(part, str):
                out.append(part)
                continue
            op = part.operator
            present = [(n, str(values[n])) for n in part.names if values.get(n) is not None]
            if not present:
                continue
            safe = ":/?#[]@!$&'()*+,;=" if op in ("+", "#") else ""
            if op in ("?", "&"):
                out.append(op + "&".join(f"{n}={quote(v, safe='')}" for n, v in present))
            elif op == ";":
                out.append("".join(f";{n}={quote(v, safe='')}" for n, v in present))
            else:
                joined = ("," if op in ("", "+", "#") else op).join(quote(v, safe=safe) for _, v in present)
                out.append(("" if op in ("", "+") else op) + joined)
        return "".join(out)

    def __repr__(self) -> str:
        return f"UriTemplate({self.template!r})"


def parse_template(template: str) -> UriTemplate:
    """A parsed template; raises `UriTemplateError` naming the problem."""
    if not isinstance(template, str) or not template:
        raise UriTemplateError("a URI template must be a non-empty string")
    return UriTemplate(template)
