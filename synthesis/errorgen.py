"""The four kinds of bad call (CARG), made deterministically from valid arguments:

- `wrong_type`: a parameter gets a value of another JSON type (a number for a name, words for a count);
- `missing_required`: a required parameter is left out;
- `unexpected_parameter`: a parameter the tool does not declare is added (a near-miss spelling of a
  real one, or a plausible option the tool lacks);
- `invalid_value`: a value of the right type that breaks a constraint (enum, format, range, length,
  pattern).

Each bad call is kept only when the server's own argument check (`synthesis.argcheck`) reports an
error of that kind at that parameter: the error really exists. Used by stage 6 (the teacher then
writes the tool's message) and by the recorder (the real server answers it)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gtm_mcp.contract import ToolDefinition
from synthesis.argcheck import Problem, argument_problems

KINDS = ("wrong_type", "missing_required", "unexpected_parameter", "invalid_value")
#: Options many APIs take; added to a tool that does not declare them.
PLAUSIBLE_EXTRAS = ("verbose", "format", "api_version", "callback_url", "page_token", "debug", "locale",
                    "include_metadata", "timeout", "dry_run", "sort_order", "fields")


@dataclass(frozen=True)
class BadCall:
    kind: str
    arguments: dict[str, Any]
    parameter: str
    problems: tuple[Problem, ...]  # what the server's check says about it


def _type_of(schema: Any) -> list[str]:
    if not isinstance(schema, dict):
        return []
    t = schema.get("type")
    if isinstance(t, str):
        return [t]
    if isinstance(t, list):
        return [x for x in t if isinstance(x, str)]
    return []


def _other_type_values(types: list[str], current: Any, rng: random.Random) -> list[Any]:
    """Values of a JSON type that `types` does not allow, most natural mistakes first."""
    text = str(current) if not isinstance(current, (dict, list)) else "value"
    options: list[Any] = []
    if "string" not in types:
        if types and types[0] in ("integer", "number"):
            options += [rng.choice(["ten", "a few", "twenty-five", "many", "unlimited"]), f"{current} units"]
        elif types and types[0] == "boolean":
            options += [rng.choice(["yes", "no", "maybe", "enabled", "off"])]
        elif types and types[0] == "array":
            options += [text if not isinstance(current, list) or not current else str(current[0])]
        else:
            options += [text]
    if "integer" not in types and "number" not in types:
        options.append(rng.choice([0, 1, 42, 2024, 12345, 3.5]))
    if "boolean" not in types:
        options.append(rng.choice([True, False]))
    if "array" not in types:
        options.append([current] if not isinstance(current, list) else current)
    if "object" not in types:
        options.append({"value": current} if not isinstance(current, dict) else current)
    return options


def _near_miss(name: str, rng: random.Random) -> str:
    """A spelling of `name` a careless caller might use."""
    if "_" in name:
        parts = name.split("_")
        variants = ["".join(p.capitalize() if i else p for i, p in enumerate(parts)), name.replace("_", ""),
                    name + "s" if not name.endswith("s") else name[:-1]]
    else:
        camel = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
        variants = [camel if camel != name else name + "_name", name + "s" if not name.endswith("s") else name[:-1],
                    name.lower() if name.lower() != name else name.capitalize()]
    return rng.choice(variants)


def _invalid_values(schema: dict[str, Any], current: Any, rng: random.Random) -> list[Any]:
    out: list[Any] = []
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        sample = rng.choice(enum)
        if isinstance(sample, str):
            out += [sample.upper() if sample.upper() != sample else sample.lower() + "x", sample + "_other", "other"]
        elif isinstance(sample, (int, float)) and not isinstance(sample, bool):
            out.append(max(v for v in enum if isinstance(v, (int, float))) + 1)
    fmt = schema.get("format")
    bad_formats = {"date": ["31/02/2024", "tomorrow", "2024-13-45"],
                   "date-time": ["yesterday at noon", "2024-02-30 25:00"],
                   "email": ["bob-at-example", "alice@", "not an email"], "uri": ["not a url", "htp//broken"],
                   "url": ["not a url"], "uuid": ["1234", "not-a-uuid"], "ipv4": ["999.1.1.1", "10.0.0"],
                   "time": ["25:61", "noon"], "hostname": ["-bad_host-"]}
    if isinstance(fmt, str) and fmt in bad_formats:
        out += bad_formats[fmt]
    for key, sign in (("minimum", -1), ("exclusiveMinimum", -1), ("maximum", 1), ("exclusiveMaximum", 1)):
        bound = schema.get(key)
        if isinstance(bound, (int, float)) and not isinstance(bound, bool):
            step = rng.choice([1, 5, 100]) if key.startswith(("min", "max")) else 0
            value = bound + sign * step if step else bound
            out.append(int(value) if "integer" in _type_of(schema) else value)
    if isinstance(schema.get("minLength"), int) and schema["minLength"] > 0:
        out.append("")
    if isinstance(schema.get("maxLength"), int):
        out.append("x" * (schema["maxLength"] + rng.randint(1, 20)))
    if isinstance(schema.get("pattern"), str):
        out += ["not matching!", "???"]
    if isinstance(schema.get("minItems"), int) and schema["minItems"] > 0:
        out.append([])
    if isinstance(schema.get("maxItems"), int) and isinstance(current, list) and current:
        out.append(current * (schema["maxItems"] + 1))
    return out


def _confirmed(tool: ToolDefinition, kind: str, parameter: str, arguments: dict[str, Any]) -> BadCall | None:
    problems = tuple(argument_problems(tool, arguments))
    if any(p.kind == kind and (p.parameter == parameter or p.parameter.split(".")[0] == parameter)
           for p in problems):
        return BadCall(kind, arguments, parameter, problems)
    return None


def _props(tool: ToolDefinition) -> dict[str, Any]:
    props = tool.input_schema.get("properties")
    return props if isinstance(props, dict) else {}


def wrong_type(tool: ToolDefinition, valid: dict[str, Any], rng: random.Random) -> BadCall | None:
    props = _props(tool)
    names = [k for k in valid if _type_of(props.get(k))]
    rng.shuffle(names)
    for name in names:
        for value in _other_type_values(_type_of(props[name]), valid[name], rng):
            found = _confirmed(tool, "wrong_type", name, {**valid, name: value})
            if found:
                return found
    return None


def missing_required(tool: ToolDefinition, valid: dict[str, Any], rng: random.Random) -> BadCall | None:
    required = [r for r in tool.input_schema.get("required") or [] if r in valid]
    rng.shuffle(required)
    for name in required:
        found = _confirmed(tool, "missing_required", name, {k: v for k, v in valid.items() if k != name})
        if found:
            return found
    return None


def unexpected_parameter(tool: ToolDefinition, valid: dict[str, Any], rng: random.Random) -> BadCall | None:
    props = _props(tool)
    candidates: dict[str, str | None] = {}  # undeclared name -> the declared parameter it misspells
    for key in props:
        candidates.setdefault(_near_miss(key, rng), key)
    for extra in PLAUSIBLE_EXTRAS:
        candidates.setdefault(extra, None)
    names = [c for c in candidates if c not in props and c not in valid]
    rng.shuffle(names)
    for name in names[:6]:
        source = candidates[name]
        value = valid[source] if source in valid else rng.choice([True, "json", 30, "en-US", "desc"])
        found = _confirmed(tool, "unexpected_parameter", name, {**valid, name: value})
        if found:
            return found
    return None


def invalid_value(tool: ToolDefinition, valid: dict[str, Any], rng: random.Random) -> BadCall | None:
    props = _props(tool)
    names = [k for k in props if isinstance(props[k], dict)]
    rng.shuffle(names)
    for name in names:
        for value in _invalid_values(props[name], valid.get(name), rng):
            found = _confirmed(tool, "invalid_value", name, {**valid, name: value})
            if found:
                return found
    return None


GENERATORS: dict[str, Callable[[ToolDefinition, dict[str, Any], random.Random], BadCall | None]] = {
    "wrong_type": wrong_type, "missing_required": missing_required,
    "unexpected_parameter": unexpected_parameter, "invalid_value": invalid_value,
}


def bad_call(kind: str, tool: ToolDefinition, valid: dict[str, Any], rng: random.Random) -> BadCall | None:
    """A bad call of `kind` made from `valid` arguments, confirmed by the server's check; None when
    this tool admits none of that kind (e.g. no required parameter, no constrained value)."""
    return GENERATORS[kind](tool, dict(valid), rng)
