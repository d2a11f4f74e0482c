"""A real MCP server with real side effects: notes kept in a JSON file ($NOTES_FILE, default
./notes.json). It stands for "your team's own tool server" in the testing-workflow example.

    python notes_server.py          # speaks MCP over stdio
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel

server = MCPServer("notes", version="1.0")


class Note(BaseModel):
    id: str
    title: str
    body: str
    tags: list[str]


class Found(BaseModel):
    notes: list[Note]
    total: int


def _path() -> Path:
    return Path(os.environ.get("NOTES_FILE", "notes.json"))


def _load() -> list[dict]:
    path = _path()
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


@server.tool()
def add_note(title: str, body: str, tags: list[str] | None = None) -> Note:
    """Save a note and return it with its id."""
    if not title.strip():
        raise ValueError("a note needs a title")
    note = {"id": f"note_{uuid.uuid4().hex[:8]}", "title": title, "body": body, "tags": tags or []}
    notes = [*_load(), note]
    _path().write_text(json.dumps(notes, indent=1), encoding="utf-8")
    return Note(**note)


@server.tool()
def search_notes(query: str) -> Found:
    """Notes whose title or body contains the query (case-insensitive)."""
    hits = [Note(**n) for n in _load() if query.lower() in (n["title"] + " " + n["body"]).lower()]
    return Found(notes=hits, total=len(hits))


if __name__ == "__main__":
    server.run("stdio")
