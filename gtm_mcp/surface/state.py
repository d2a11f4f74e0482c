"""What one session (episode) holds about its resources and prompts: the content each URI read or
was written with (so that the same URI reads the same until a simulated call changes it), URIs a
call deleted, and argument values seen (for completion). Lives in the session's state and dies
with it (`Session.reset`, expiry, eviction)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
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
    def __init__(self) -> None:
        self.contents: OrderedDict[str, StoredContent] = OrderedDict()
        self.deleted: set[str] = set()
        self.seen: dict[str, list[str]] = {}
        self.bytes = 0

    @staticmethod
    def of(state: dict[str, Any]) -> SessionSurface:
        found = state.get(STATE_KEY)
        if not isinstance(found, SessionSurface):
            found = state[STATE_KEY] = SessionSurface()
        return found

    def get(self, uri: str) -> StoredContent | None:
        found = self.contents.get(uri)
        if found is not None:
            self.contents.move_to_end(uri)
        return found

    def put(self, content: StoredContent) -> None:
        old = self.contents.pop(content.uri, None)
        if old is not None:
            self.bytes -= old.size
        self.contents[content.uri] = content
        self.bytes += content.size
        self.deleted.discard(content.uri)
        while self.contents and (len(self.contents) > MAX_URIS or self.bytes > MAX_BYTES):
            _, dropped = self.contents.popitem(last=False)
            self.bytes -= dropped.size
        self.remember(content.variables)

    def forget(self, uri: str) -> bool:
        """Drop what the session holds for a URI (it reads afresh next time)."""
        old = self.contents.pop(uri, None)
        if old is not None:
            self.bytes -= old.size
        return old is not None

    def delete(self, uri: str) -> None:
        self.forget(uri)
        self.deleted.add(uri)

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
