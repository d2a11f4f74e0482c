"""zod schemas (`v4/core/schemas.js`): a type parse, then the checks, with zod's abort rules."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

from gtm_mcp.calls.profiles.zod.checks import Check, has_length
from gtm_mcp.calls.profiles.zod.issues import Issue, Payload, aborted, explicitly_aborted, prefix_issues
from gtm_mcp.calls.profiles.zod.js import UNDEFINED, is_number, js_number, same_value


class Node:
    """A zod schema: a type parse, then its checks."""

    optin: str | None = None  # "optional" | "defaulted": absence is allowed
    optout: str | None = None  # "optional": the output may be absent

    def __init__(self, checks: list[Check] | None = None) -> None:
        self.checks = checks or []

    def parse(self, p: Payload) -> Payload:
        return p

    def run(self, p: Payload) -> Payload:
        p = self.parse(p)
        if not self.checks:
            return p
        is_aborted = aborted(p)
        for check in self.checks:
            if check.when is not None:
                if explicitly_aborted(p) or not check.when(p):
                    continue
            elif is_aborted:
                continue
            before = len(p.issues)
            check.run(p)
            if len(p.issues) != before and not is_aborted:
                is_aborted = aborted(p, before)
        return p


def _invalid_type(p: Payload, expected: str, **extra: Any) -> Payload:
    p.issues.append(Issue("invalid_type", detail={"expected": expected, "input": p.value, **extra}))
    return p


class String(Node):
    def parse(self, p: Payload) -> Payload:
        return p if isinstance(p.value, str) else _invalid_type(p, "string")


class Number(Node):
    def parse(self, p: Payload) -> Payload:
        v = p.value
        if is_number(v) and not (isinstance(v, float) and not math.isfinite(v)):
            return p
        received = ("NaN" if math.isnan(v) else js_number(v)) if isinstance(v, float) else None
        return _invalid_type(p, "number", **({"received": received} if received else {}))


class Boolean(Node):
    def parse(self, p: Payload) -> Payload:
        return p if isinstance(p.value, bool) else _invalid_type(p, "boolean")


class Null(Node):
    def parse(self, p: Payload) -> Payload:
        return p if p.value is None else _invalid_type(p, "null")


class AnyNode(Node):
    pass


class Never(Node):
    def parse(self, p: Payload) -> Payload:
        return _invalid_type(p, "never")


class Values(Node):
    """`z.enum` and `z.literal`: the value must be one of these (SameValueZero)."""

    def __init__(self, values: list[Any]) -> None:
        super().__init__()
        self.values = values

    def parse(self, p: Payload) -> Payload:
        if any(same_value(p.value, v) for v in self.values):
            return p
        p.issues.append(Issue("invalid_value", detail={"values": self.values, "input": p.value}))
        return p


class Array(Node):
    def __init__(self, element: Node, checks: list[Check] | None = None) -> None:
        super().__init__(checks)
        self.element = element
        caps = []
        for check in self.checks:  # zod's capSize: the leading size checks
            if check.when is not has_length:
                break
            if check.size_cap is not None:
                caps.append(check)
        self.caps = caps

    def parse(self, p: Payload) -> Payload:
        if not isinstance(p.value, list):
            return _invalid_type(p, "array")
        for cap in self.caps:  # an oversized array fails its size check before any item is parsed
            if cap.size_cap is not None and len(p.value) > cap.size_cap:
                start = len(p.issues)
                cap.run(p)
                p.issues[start].cont = False
                return p
        items = p.value
        p.value = []
        for index, item in enumerate(items):
            result = self.element.run(Payload(item))
            if result.issues:
                p.issues.extend(prefix_issues(index, result.issues))
            p.value.append(result.value)
        return p


class Tuple(Node):
    def __init__(self, items: list[Node], rest: Node | None, checks: list[Check] | None = None) -> None:
        super().__init__(checks)
        self.items, self.rest = items, rest

    def parse(self, p: Payload) -> Payload:
        if not isinstance(p.value, list):
            return _invalid_type(p, "tuple")
        values = p.value
        optin_start = next((i + 1 for i in range(len(self.items) - 1, -1, -1) if self.items[i].optin is None), 0)
        optout_start = next((i + 1 for i in range(len(self.items) - 1, -1, -1)
                             if self.items[i].optout != "optional"), 0)
        if self.rest is None:
            if len(values) < optin_start:
                p.issues.append(Issue("too_small", detail={"minimum": optin_start, "inclusive": True,
                                                           "origin": "array", "input": values}))
                return p
            if len(values) > len(self.items):
                p.issues.append(Issue("too_big", detail={"maximum": len(self.items), "inclusive": True,
                                                         "origin": "array", "input": values}))
        out: list[Any] = []
        results = [item.run(Payload(values[i] if i < len(values) else UNDEFINED))
                   for i, item in enumerate(self.items)]
        rest_issues: list[Issue] = []
        rest_values: list[Any] = []
        if self.rest is not None:
            for index in range(len(self.items), len(values)):
                result = self.rest.run(Payload(values[index]))
                rest_issues.extend(prefix_issues(index, result.issues))
                rest_values.append(result.value)
        for i, result in enumerate(results):
            present = i < len(values)
            if not present and i >= optout_start and self.items[i].optin == "optional":
                break
            if result.issues:
                if not present and i >= optout_start:
                    break
                p.issues.extend(prefix_issues(i, result.issues))
            out.append(result.value)
        p.issues.extend(rest_issues)
        p.value = out + rest_values
        return p


class Object(Node):
    """`z.object` (strip), `.strict()` (unknown keys refused) or `.catchall(schema)` (checked)."""

    def __init__(self, shape: dict[str, Node], mode: str = "strip", catchall: Node | None = None) -> None:
        super().__init__()
        self.shape, self.mode, self.catchall = shape, mode, catchall

    def parse(self, p: Payload) -> Payload:
        data = p.value
        if not isinstance(data, dict):
            return _invalid_type(p, "object")
        p.value = {}
        for key, node in self.shape.items():
            if key == "__proto__":
                continue
            result = node.run(Payload(data.get(key, UNDEFINED)))
            _handle_property(result, p, key, data, node.optin, node.optout)
        if self.mode == "strip":
            return p
        unrecognized = []
        for key, value in data.items():
            if key in self.shape:
                continue
            if self.mode == "strict":
                unrecognized.append(key)
                continue
            if key == "__proto__":
                continue
            if self.catchall is None:  # passthrough
                p.value[key] = value
                continue
            result = self.catchall.run(Payload(value))
            _handle_property(result, p, key, data, self.catchall.optin, self.catchall.optout)
        if unrecognized:
            p.issues.append(Issue("unrecognized_keys", cont=True, detail={"keys": unrecognized, "input": data}))
        return p


def _handle_property(result: Payload, final: Payload, key: str, data: dict[str, Any], optin: str | None,
                     optout: str | None) -> None:
    present = key in data
    optional_out = optout == "optional"
    if not present and optional_out and optin == "optional":
        return
    if result.issues:
        if optin is not None and optional_out and not present:
            return
        final.issues.extend(prefix_issues(key, result.issues))
    if not present and optin is None:
        if not result.issues:
            final.issues.append(Issue("invalid_type", [key], detail={"expected": "nonoptional",
                                                                     "input": UNDEFINED}))
        return
    if result.value is not UNDEFINED:
        final.value[key] = result.value


class Union(Node):
    def __init__(self, options: list[Node], *, exclusive: bool = False) -> None:
        super().__init__()
        self.options, self.exclusive = options, exclusive
        self.optin = ("defaulted" if any(o.optin == "defaulted" for o in options)
                      else "optional" if any(o.optin is not None for o in options) else None)
        self.optout = "optional" if any(o.optout == "optional" for o in options) else None

    def parse(self, p: Payload) -> Payload:
        if len(self.options) == 1:
            return self.options[0].run(p)
        results = []
        for option in self.options:
            result = option.run(Payload(copy.deepcopy(p.value)))
            if not result.issues and not self.exclusive:
                p.value = result.value
                return p
            results.append(result)
        if self.exclusive:
            matches = [r for r in results if not r.issues]
            if len(matches) == 1:
                p.value = matches[0].value
                return p
            p.issues.append(Issue("invalid_union", detail={"inclusive": False} if matches else {}))
            return p
        standing = [r for r in results if not aborted(r)]
        if len(standing) == 1:
            p.value = standing[0].value
            p.issues.extend(standing[0].issues)
            return p
        p.issues.append(Issue("invalid_union"))
        return p


class Intersection(Node):
    def __init__(self, left: Node, right: Node) -> None:
        super().__init__()
        self.left, self.right = left, right

    def parse(self, p: Payload) -> Payload:
        left = self.left.run(Payload(copy.deepcopy(p.value)))
        right = self.right.run(Payload(copy.deepcopy(p.value)))
        rejected: dict[str, set[str]] = {}
        first_unrecognized = None
        for side, result in (("l", left), ("r", right)):
            for issue in result.issues:
                if issue.code == "unrecognized_keys" and not issue.path:
                    first_unrecognized = first_unrecognized or issue
                    for key in issue.detail["keys"]:
                        rejected.setdefault(key, set()).add(side)
                else:
                    p.issues.append(issue)
        both = [k for k, sides in rejected.items() if sides == {"l", "r"}]
        if both and first_unrecognized is not None:
            p.issues.append(Issue("unrecognized_keys", cont=True, detail={"keys": both}))
        merged, ok = _merge(left.value, right.value)
        if not ok and not aborted(p):
            p.issues.append(Issue("custom", detail={"message": "Unmergable intersection"}))
        p.value = merged if ok else p.value
        return p


def _merge(a: Any, b: Any) -> tuple[Any, bool]:
    if a is b or (type(a) is type(b) and not isinstance(a, (dict, list)) and a == b):
        return a, True
    if isinstance(a, dict) and isinstance(b, dict):
        out = {**a, **b}
        for key in set(a) & set(b):
            value, ok = _merge(a[key], b[key])
            if not ok:
                return None, False
            out[key] = value
        return out, True
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        merged = [_merge(x, y) for x, y in zip(a, b, strict=True)]
        if all(ok for _, ok in merged):
            return [v for v, _ in merged], True
    return None, False


class Optional(Node):
    optout = "optional"

    def __init__(self, inner: Node) -> None:
        super().__init__()
        self.inner = inner
        self.optin = "defaulted" if inner.optin == "defaulted" else "optional"

    def parse(self, p: Payload) -> Payload:
        if p.value is UNDEFINED:
            if self.inner.optin != "defaulted":
                return p
            result = self.inner.run(Payload(UNDEFINED))
            p.value = result.value
            p.issues.extend(result.issues)
            return p
        return self.inner.run(p)


class Nullable(Node):
    def __init__(self, inner: Node) -> None:
        super().__init__()
        self.inner = inner
        self.optin, self.optout = inner.optin, inner.optout

    def parse(self, p: Payload) -> Payload:
        return p if p.value is None else self.inner.run(p)


class Default(Node):
    optin = "defaulted"

    def __init__(self, inner: Node, value: Any) -> None:
        super().__init__()
        self.inner, self.value = inner, value

    def parse(self, p: Payload) -> Payload:
        if p.value is UNDEFINED:
            p.value = copy.deepcopy(self.value)
            return p
        p = self.inner.run(p)
        if p.value is UNDEFINED:
            p.value = copy.deepcopy(self.value)
        return p


class Lazy(Node):
    """A `$ref` being built (recursive schemas)."""

    def __init__(self, resolve: Callable[[], Node]) -> None:
        super().__init__()
        self.resolve = resolve

    def parse(self, p: Payload) -> Payload:
        return self.resolve().run(p)
