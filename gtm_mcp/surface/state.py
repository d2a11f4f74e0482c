"""What one session (episode) holds about its resources and prompts: the content each URI read or
was written with (so that the same URI reads the same until a simulated call changes it), URIs a
call deleted, and argument values seen (for completion).

It lives in the session's state as plain JSON (`state["surface"]`), so that it travels with the
session to a shared store (Redis) like the rest of the episode, and dies with it (`Session.reset`,
expiry, eviction). `SessionSurface` is a view over that JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STATE_KEY = "surface"
#: URIs whose content a session keeps (least recently used dropped first).
MAX_URIS = 1000
#: Bytes of resource content a session keeps in all.
MAX_BYTES = 8 * 1024 * 1024
#: Values remembered per argument name (for completion).
MAX_VALUES = 100


@dataclass(frozen=True)
class StoredContent:
    """One resource's content in a session: `text`, or `blob` (base64), of `mime_type`.
    `origin` says where it came from: "recorded" (the definition's), "simulated", "written" (by a
    simulated call) or "media" (a generated file)."""

    uri: str
    mime_type: str
    text: str | None = None
    blob: str | None = None
    origin: str = "simulated"
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.text.encode("utf-8", "replace")) if self.text is not None else len(self.blob or "")

    def wire(self) -> dict[str, Any]:
        """The `resources/read` contents entry."""
        entry: dict[str, Any] = {"uri": self.uri, "mimeType": self.mime_type}
        entry["text" if self.text is not None else "blob"] = self.text if self.text is not None else self.blob
        return entry


class SessionSurface:
    """A view over `state["surface"]`: {"contents": {uri: content}, "deleted": [uri],
    "seen": {name: [value]}, "bytes": n}; contents are kept least recently used first."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.contents: dict[str, dict[str, Any]] = data.setdefault("contents", {})
        self.deleted: list[str] = data.setdefault("deleted", [])
        self.seen: dict[str, list[str]] = data.setdefault("seen", {})
        data.setdefault("bytes", 0)

    @staticmethod
    def of(state: dict[str, Any]) -> SessionSurface:
        found = state.get(STATE_KEY)
        if not isinstance(found, dict):
            found = state[STATE_KEY] = {}
        return SessionSurface(found)

    def get(self, uri: str) -> StoredContent | None:
        found = self.contents.pop(uri, None)
        if found is None:
            return None
        self.contents[uri] = found  # now the most recently used
        return StoredContent(**found)

    def put(self, content: StoredContent) -> None:
        self.forget(content.uri)
        self.contents[content.uri] = asdict(content)
        self.data["bytes"] += content.size
        if content.uri in self.deleted:
            self.deleted.remove(content.uri)
        while self.contents and (len(self.contents) > MAX_URIS or self.data["bytes"] > MAX_BYTES):
            self.forget(next(iter(self.contents)))
        self.remember(content.variables)

    def forget(self, uri: str) -> bool:
        """Drop what the session holds for a URI (it reads afresh next time)."""
        old = self.contents.pop(uri, None)
        if old is not None:
            self.data["bytes"] -= StoredContent(**old).size
        return old is not None

    def delete(self, uri: str) -> None:
        self.forget(uri)
        if uri not in self.deleted:
            self.deleted.append(uri)
            del self.deleted[:-MAX_URIS]

    def variables_of(self, uri: str) -> dict[str, str]:
        found = self.contents.get(uri)
        return dict(found.get("variables") or {}) if found else {}

    def remember(self, values: dict[str, Any]) -> None:
        """Remember string argument values by name (completion offers them later)."""
        for name, value in values.items():
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                text = str(value)
                if not 0 < len(text) <= 200:
                    continue
                bucket = self.seen.setdefault(name, [])
                if text in bucket:
                    bucket.remove(text)
                bucket.append(text)
                del bucket[:-MAX_VALUES]
