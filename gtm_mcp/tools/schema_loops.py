"""`$ref` loops that never read deeper into the value: a schema such as `{"$ref": "#"}` at its own
root, or `{"properties": {"a": {"$ref": "#/properties/a"}}}`, sends every validator (and every
generator) round in circles without end, whatever the value. A loop is fine when it passes through a
keyword that descends into the value (`properties`, `items`, ...: each round reads one level deeper
and ends with the value); it is refused at load time when it goes only through keywords that stay on
the same value (`$ref`, `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

#: Keywords whose subschemas apply to the same value (no descent).
_SAME_VALUE_LISTS = ("allOf", "anyOf", "oneOf")
_SAME_VALUE_ONE = ("not", "if", "then", "else")


def _resolve(root: Any, ref: str) -> tuple[str, Any] | None:
    """(pointer, subschema) for a local `#/...` reference, None for anything else."""
    if not ref.startswith("#"):
        return None
    pointer = unquote(ref[1:])
    if pointer and not pointer.startswith("/"):
        return None  # an anchor (`#name`): not followed here
    node = root
    for part in pointer.split("/")[1:] if pointer else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return pointer, node


def _same_value_edges(root: Any, pointer: str, node: Any) -> list[tuple[str, Any]]:
    edges: list[tuple[str, Any]] = []
    if not isinstance(node, dict):
        return edges
    ref = node.get("$ref")
    if isinstance(ref, str) and (target := _resolve(root, ref)) is not None:
        edges.append(target)
    for key in _SAME_VALUE_LISTS:
        items = node.get(key)
        if isinstance(items, list):
            edges.extend((f"{pointer}/{key}/{i}", sub) for i, sub in enumerate(items))
    for key in _SAME_VALUE_ONE:
        if key in node:
            edges.append((f"{pointer}/{key}", node[key]))
    return edges


def _all_subschemas(root: Any) -> list[tuple[str, Any]]:
    """Every dict inside the schema with its pointer (a superset of the subschemas: cheap and safe)."""
    found: list[tuple[str, Any]] = []
    stack: list[tuple[str, Any]] = [("", root)]
    while stack:
        pointer, node = stack.pop()
        if isinstance(node, dict):
            found.append((pointer, node))
            for key, sub in node.items():
                if key not in ("enum", "const", "default", "examples"):
                    stack.append((f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}", sub))
        elif isinstance(node, list):
            stack.extend((f"{pointer}/{i}", sub) for i, sub in enumerate(node))
    return found


def same_value_loop(schema: Any) -> str | None:
    """The pointer of a subschema on a loop that never descends into the value, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start, node in _all_subschemas(schema):
        if state.get(start):
            continue
        # iterative depth-first search over same-value edges
        path: list[tuple[str, list[tuple[str, Any]]]] = [(start, _same_value_edges(schema, start, node))]
        state[start] = 1
        while path:
            pointer, edges = path[-1]
            if not edges:
                state[pointer] = 2
                path.pop()
                continue
            target, sub = edges.pop()
            mark = state.get(target)
            if mark == 1:
                return target or "/"
            if mark is None:
                state[target] = 1
                path.append((target, _same_value_edges(schema, target, sub)))
    return None
