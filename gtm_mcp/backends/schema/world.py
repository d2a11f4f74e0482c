"""The schema backend's memory of a session: identifiers it handed out and the objects they named."""

from __future__ import annotations

import random
import uuid
from typing import Any

from gtm_mcp.backends.schema import vocabulary as vocab

MAX_IDS_PER_FIELD = 50
MAX_ENTITIES = 2000


class World:
    """Lives in the session's backend state (`SimulationRequest.state["schema"]`), dies with it."""

    def __init__(self) -> None:
        self.ids: dict[str, list[Any]] = {}  # field name -> ids handed out, newest last
        self.entities: dict[str, dict[str, Any]] = {}  # json(id) -> scalar fields of its object
        self.counter = 0

    @staticmethod
    def of(state: dict[str, Any]) -> World:
        world = state.get("schema")
        if not isinstance(world, World):
            world = state["schema"] = World()
        return world

    def fresh_id(self, name: str, rng: random.Random, *, integer: bool = False, as_uuid: bool = False) -> Any:
        self.counter += 1
        if integer:
            return 1000 + self.counter * 7 + rng.randint(0, 6)
        if as_uuid:
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return f"{vocab.id_prefix(name)}_{rng.getrandbits(32):08x}"

    def ids_for(self, name: str) -> list[Any]:
        """Ids handed out under this field name (or a name with the same stem), newest first."""
        exact = self.ids.get(name)
        if exact:
            return list(reversed(exact))
        stem = vocab.id_prefix(name)
        for key, values in self.ids.items():
            if vocab.id_prefix(key) == stem:
                return list(reversed(values))
        return []

    def entity(self, value: Any) -> dict[str, Any]:
        return self.entities.get(_key(value), {}) if isinstance(value, (str, int)) else {}

    def known_objects(self, item_schema: dict[str, Any], ctx: Any) -> list[dict[str, Any]]:
        """Remembered objects whose id field the item schema has (for list_* style answers)."""
        props = item_schema.get("properties") or {}
        for key in props:
            if vocab.is_id_field(key):
                return [self.entity(v) or {key: v} for v in self.ids_for(key)][:5]
        return []

    def remember(self, value: Any, arguments: dict[str, Any]) -> None:
        """Record the ids in an answer and the objects that carry them (arguments included, so that
        get_x(id) later returns what create_x(name=...) was given)."""
        self._walk(value, arguments, top=True)

    def _walk(self, value: Any, arguments: dict[str, Any], top: bool) -> None:
        if isinstance(value, dict):
            scalars = {k: v for k, v in value.items() if isinstance(v, (str, int, float, bool)) or v is None}
            if top:
                scalars = {**{k: v for k, v in arguments.items() if isinstance(v, (str, int, float, bool))},
                           **scalars}
            for key, item in value.items():
                if vocab.is_id_field(key) and isinstance(item, (str, int)) and not isinstance(item, bool):
                    bucket = self.ids.setdefault(key, [])
                    if item not in bucket:
                        bucket.append(item)
                        del bucket[:-MAX_IDS_PER_FIELD]
                    known = self.entities.setdefault(_key(item), {})
                    known.update(scalars)
                    if len(self.entities) > MAX_ENTITIES:
                        self.entities.pop(next(iter(self.entities)))
            for item in value.values():
                self._walk(item, {}, top=False)
        elif isinstance(value, list):
            for item in value[:50]:
                self._walk(item, {}, top=False)


def _key(value: Any) -> str:
    return f"{type(value).__name__}:{value}"
