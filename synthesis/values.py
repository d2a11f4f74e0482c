"""Realistic argument values made from a tool's input schema, without a model: the schema backend's
name-guided generator (`gtm_mcp.backends.schema.generate`: ids look like ids, emails like emails,
cities like cities), with a share of optional parameters left out as real callers do. Every set of
arguments handed out passes the server's argument check (`synthesis.argcheck`)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from gtm_mcp.backends.schema.generate import Context, generate
from gtm_mcp.backends.schema.vocabulary import words
from gtm_mcp.backends.schema.world import World
from gtm_mcp.contract import ToolDefinition, validator_class_for
from synthesis.argcheck import argument_problems


@lru_cache(maxsize=4096)
def _validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    cls = validator_class_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _validator_for(schema: Any) -> Any:
    return _validator(json.dumps(schema, sort_keys=True))


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    try:
        return bool(_validator_for(schema).is_valid(value))
    except Exception:  # a schema the validator cannot compile: let the full check decide
        return True


def sample_arguments(tool: ToolDefinition, rng: random.Random, *, optional_share: float = 0.5,
                     fixed: Mapping[str, Any] | None = None,
                     pick: Callable[[str, dict[str, Any]], tuple[bool, Any]] | None = None,
                     attempts: int = 4) -> dict[str, Any] | None:
    """Arguments the server accepts for `tool`, or None when none were found in `attempts` tries.

    `fixed` pins parameters; `pick(name, schema)` may supply a value (returns (found, value)), as the
    recorder does to make values flow from earlier outputs."""
    schema = tool.input_schema
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = set(schema.get("required") or [])
    for _ in range(attempts):
        ctx = Context(rng=rng, root=schema, world=World(World.fresh(None)), arguments={},
                      topic=" ".join(words(tool.name)),
                      creates=False, validator_for=_validator_for)
        try:
            value = generate(schema, tool.name, ctx)
        except (RecursionError, ValueError, TypeError, KeyError):
            value = None
        if not isinstance(value, dict):
            value = {}
        args = {k: v for k, v in value.items() if k in required or k not in props or rng.random() < optional_share}
        if pick is not None:
            for name, sub in props.items():
                if name in args or name in required or rng.random() < optional_share:
                    sub = sub if isinstance(sub, dict) else {}
                    found, chosen = pick(name, sub)
                    if found and _fits(chosen, sub):
                        args[name] = chosen
        if fixed:
            args.update(fixed)
        if not argument_problems(tool, args):
            return args
    return None
