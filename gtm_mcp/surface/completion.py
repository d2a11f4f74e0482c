"""`completion/complete` for prompt arguments and resource-template variables.

Candidates, in this order: the definition's values (enums, or what a mirrored server completed at
mirror time), values of that name seen in the session (tool-call arguments, prompt arguments,
template variables of resources read), and identifiers the session's world handed out under that
name. They are filtered by the typed prefix (case-insensitive; then by substring), deduplicated and
capped at 100 (`total` and `hasMore` say how many matched). Substrings count from two typed characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gtm_mcp.sessions.store import Session
from gtm_mcp.surface.catalog import SurfaceCatalog
from gtm_mcp.surface.resources import INVALID_PARAMS, SurfaceError
from gtm_mcp.surface.state import SessionSurface

MAX_VALUES = 100  # the spec's cap per response


def world_values(state: Mapping[str, Any], name: str) -> list[str]:
    """What the session world (the schema backend's) holds under this argument name, newest
    first: the ids it handed out, then the values things it holds have in a field of that name."""
    data = state.get("world")
    if not isinstance(data, dict):
        return []
    from gtm_mcp.backends.schema.world import World

    try:
        world = World(data)
        found = [str(v) for v in world.ids_for(name)]
        found += [str(fields[name]) for _, fields in reversed(world.list())
                  if isinstance(fields.get(name), (str, int)) and not isinstance(fields.get(name), bool)]
        return found
    except (KeyError, TypeError, AttributeError):  # a world of another shape: completion goes without it
        return []


def session_values(session: Session | None, name: str) -> list[str]:
    """Values of this name the session has seen, newest first."""
    if session is None:
        return []
    seen = list(reversed(SessionSurface.of(session.state).seen.get(name, [])))
    for record in reversed(session.history):
        value = record.arguments.get(name) if isinstance(record.arguments, dict) else None
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and 0 < len(str(value)) <= 200:
            seen.append(str(value))
    return seen + world_values(session.state, name)


def rank(candidates: Iterable[str], typed: str) -> tuple[list[str], int]:
    """Candidates starting with `typed` (case-insensitive), then containing it (from two characters);
    (first 100, total)."""
    low = typed.lower()
    unique = list(dict.fromkeys(c for c in candidates if isinstance(c, str)))
    matched = [c for c in unique if c.lower().startswith(low)] + [
        c for c in unique if len(low) >= 2 and low in c.lower() and not c.lower().startswith(low)]
    return matched[:MAX_VALUES], len(matched)


def complete(catalog: SurfaceCatalog, ref: Mapping[str, Any], argument: str, typed: str,
             session: Session | None, context: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The `completion` object (wire form) for one request; raises `SurfaceError` for unknown refs."""
    kind = ref.get("type")
    if kind == "ref/prompt":
        prompt = catalog.prompt(str(ref.get("name")))
        if prompt is None:
            raise SurfaceError(INVALID_PARAMS, f"Unknown prompt {ref.get('name')!r}; prompts/list lists the "
                               f"{len(catalog.prompts())} prompts of this server.")
        declared = prompt.argument(argument)
        if declared is None:
            names = ", ".join(a.name for a in prompt.arguments) or "none"
            raise SurfaceError(INVALID_PARAMS, f"Prompt '{prompt.name}' has no argument {argument!r} "
                               f"(its arguments: {names}).")
        candidates: list[str] = list(declared.values)
    elif kind == "ref/resource":
        uri = str(ref.get("uri"))
        template = catalog.template(uri)
        if template is None:
            raise SurfaceError(INVALID_PARAMS, f"Unknown resource template {uri!r}; resources/templates/list "
                               f"lists the {len(catalog.templates())} templates of this server.")
        if argument not in template.variables:
            raise SurfaceError(INVALID_PARAMS, f"Resource template {uri!r} has no variable {argument!r} "
                               f"(its variables: {', '.join(template.variables)}).")
        candidates = list(template.values.get(argument, ()))
    else:
        raise SurfaceError(INVALID_PARAMS, f"Unknown completion reference type {kind!r} (ref/prompt or ref/resource)")
    values, total = rank(candidates + session_values(session, argument), typed or "")
    return {"values": values, "total": total, "hasMore": total > len(values)}
