"""JavaScript's view of JSON values, as zod sees them: `undefined`, numbers as doubles, `String(n)`."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any


class _Undefined:
    """JavaScript's `undefined`: an absent key."""

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Any = _Undefined()


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parsed_type(value: Any) -> str:
    """zod's `util.parsedType` (the "received ..." of a message)."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if is_number(value):
        return "nan" if isinstance(value, float) and math.isnan(value) else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def js_number(value: float | int) -> str:
    """JavaScript's `String(number)` (Number::toString): the shortest round-trip digits, in plain
    notation from 1e-7 up to 1e21 and in exponent notation outside."""
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) < 10**21:
            return str(value)
        value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    exact = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, exact.digits))
    n = len(digits) + int(exact.exponent)  # value = 0.<digits> x 10^n
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{sign}{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"


def stringify_primitive(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return js_number(value)
    if value is UNDEFINED:
        return "undefined"
    return "[object Object]" if isinstance(value, dict) else ",".join(str(v) for v in value)


def same_value(a: Any, b: Any) -> bool:
    """`Set.has` equality (SameValueZero) for JSON values: objects and arrays only equal themselves."""
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) and is_number(b):
        return a == b
    return type(a) is type(b) and a == b
