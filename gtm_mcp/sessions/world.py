"""A session's declared initial world: what exists before the agent starts (JSON).

    {"clock": "2026-03-02T09:00:00Z",           # the session clock starts here (ISO 8601)
     "timezone": "Europe/Berlin",               # the default time zone of answers
     "files": {"/home/ada/notes.txt": "milk", "/home/ada/photos/": null},   # content; null or "/": a directory
     "entities": [{"name": "Ada", "entityType": "person", "observations": ["likes tea"]}],
     "records": {"ord_1": {"kind": "order", "product": "lamp"}},
     "open": false}                             # optional: true keeps inventing what it does not hold

Any other top-level key is a collection of things of that kind (`"commits"` → commit, `"branches"`
→ branch): a list of objects, each found by its identifying field (id, path, name, title, email,
url ...), or a mapping from key to object. A declared world is closed: what it does not hold does
not exist (reads of it are not-found errors), unless it says `"open": true`. `{}` is an empty,
closed world.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

MAX_WORLD_BYTES = 4 * 1024 * 1024
RESERVED = {"clock": str, "timezone": str, "open": bool}


class WorldError(ValueError):
    """A declared world that cannot be used; the message says where and why."""


def check_world(value: Any, where: str = "world") -> dict[str, Any]:
    """The declared world, checked: a JSON object of collections (see the module); raises WorldError."""
    if not isinstance(value, dict):
        raise WorldError(f"{where} must be a JSON object (e.g. {{\"files\": {{\"/a.txt\": \"hello\"}}}}), "
                         f"got {type(value).__name__}")
    try:
        size = len(json.dumps(value, ensure_ascii=False))
    except (TypeError, ValueError) as e:
        raise WorldError(f"{where} is not JSON data: {e}") from None
    if size > MAX_WORLD_BYTES:
        raise WorldError(f"{where} is {size} bytes, over the limit of {MAX_WORLD_BYTES}")
    for key, kind in RESERVED.items():
        if key in value and not isinstance(value[key], kind):
            raise WorldError(f"{where}.{key} must be a {kind.__name__}")
    if isinstance(value.get("clock"), str):
        try:
            datetime.fromisoformat(value["clock"])
        except ValueError:
            raise WorldError(f"{where}.clock must be an ISO 8601 date-time such as 2026-03-02T09:00:00Z, "
                             f"got {value['clock']!r}") from None
    files = value.get("files")
    if files is not None:
        if not isinstance(files, dict):
            raise WorldError(f"{where}.files must map paths to contents (text, null for a directory, or an object)")
        for path, content in files.items():
            if content is not None and not isinstance(content, str | dict):
                raise WorldError(f"{where}.files[{path!r}] must be text, null (a directory) or an object")
    for name, collection in value.items():
        if name in RESERVED or name == "files":
            continue
        if isinstance(collection, list):
            for i, item in enumerate(collection):
                if not isinstance(item, dict):
                    raise WorldError(f"{where}.{name}[{i}] must be an object")
        elif not isinstance(collection, dict):
            raise WorldError(f"{where}.{name} must be a list of objects or a mapping from key to object")
    return value


def load_world_file(path: str) -> dict[str, Any]:
    """A declared world from a JSON or YAML file; raises WorldError naming the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as e:
        raise WorldError(f"world file {path}: {e}") from None
    return check_world({} if data is None else data, where=f"world file {path}")
