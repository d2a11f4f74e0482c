"""The calls that compare a real MCP server's argument checking with its `gtm-mcp serve --mirror`:
the same tools in a Python server (pydantic_server.py) and a TypeScript server (zod_server.mjs), and
calls for the pre-installed real servers of tests/real_servers.py. Shared by the tests and by
`benchmarks/profile_agreement.py`.

Kinds: `valid` (what the schema asks for), `borderline` (what lax servers take and a strict API
refuses: numeric strings, "true"/"True"/"yes"/1 for booleans, 2.0 for integers, extra keys, null for
optional parameters, a list or object sent as its JSON string) and `invalid` (wrong whatever the
checker).
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

SERVERS = Path(__file__).resolve().parent
REPO = SERVERS.parents[1]
NODE_MODULES = REPO / ".mcp-servers" / "node_modules"


@dataclass(frozen=True)
class Call:
    tool: str
    arguments: dict[str, Any]
    kind: Literal["valid", "borderline", "invalid"]


def python_server_command() -> list[str]:
    return [sys.executable, str(SERVERS / "pydantic_server.py")]


def typescript_server_command() -> list[str]:
    return ["node", str(SERVERS / "zod_server.mjs")]


def spec(argv: list[str]) -> str:
    return shlex.join(argv)


# The same calls for both test servers (same tools, same parameters; each SDK writes its own schema).
TEST_SERVER_CALLS: list[Call] = [
    Call("book", {"count": 2}, "valid"),
    Call("book", {"count": 3, "vip": True, "seat": "window", "tags": ["a", "b"], "guest": {"name": "Ann", "age": 30},
                  "note": "aisle please"}, "valid"),
    Call("search", {"query": "lamp", "limit": 5, "sort": "newest", "filters": {"categories": ["home"],
                                                                               "in_stock": True}}, "valid"),
    Call("set_flags", {"dark_mode": True, "volume": 0.5, "labels": {"a": 1}}, "valid"),
    Call("book", {"count": "2"}, "borderline"),
    Call("book", {"count": 2, "vip": "true"}, "borderline"),
    Call("book", {"count": 2, "vip": "True"}, "borderline"),
    Call("book", {"count": 2, "vip": "yes"}, "borderline"),
    Call("book", {"count": 2, "vip": 1}, "borderline"),
    Call("book", {"count": 2.0}, "borderline"),
    Call("book", {"count": 2, "extra": "x"}, "borderline"),
    Call("book", {"count": 2, "note": None}, "borderline"),
    Call("book", {"count": 2, "tags": None}, "borderline"),
    Call("book", {"count": 2, "tags": '["a", "b"]'}, "borderline"),
    Call("book", {"count": 2, "guest": {"name": "Ann", "age": "30", "nickname": "A"}}, "borderline"),
    Call("search", {"query": "lamp", "limit": "5"}, "borderline"),
    Call("search", {"query": "lamp", "filters": '{"in_stock": false}'}, "borderline"),
    Call("search", {"query": "lamp", "ids": ["1", 2]}, "borderline"),
    Call("set_flags", {"dark_mode": "false", "volume": "0.5"}, "borderline"),
    Call("set_flags", {"dark_mode": 0, "volume": 1}, "borderline"),
    Call("set_flags", {"dark_mode": True, "volume": 1, "retries": "4", "mode": "x"}, "borderline"),
    Call("book", {"count": "two"}, "invalid"),
    Call("book", {}, "invalid"),
    Call("book", {"count": 2, "seat": "middle"}, "invalid"),
    Call("book", {"count": 2, "vip": "maybe"}, "invalid"),
    Call("book", {"count": 2.5}, "invalid"),
    Call("book", {"count": 2, "guest": {"name": "Ann"}}, "invalid"),
    Call("book", {"count": 2, "tags": [1, 2]}, "invalid"),
    Call("search", {"query": "lamp", "limit": 0}, "invalid"),
    Call("search", {"query": "lamp", "sort": "oldest"}, "invalid"),
    Call("search", {"query": "lamp", "ids": ["x"]}, "invalid"),
    Call("set_flags", {"dark_mode": "maybe", "volume": "loud"}, "invalid"),
    Call("set_flags", {"dark_mode": True, "volume": 1, "labels": {"a": "x"}}, "invalid"),
]


@dataclass(frozen=True)
class RealServerCalls:
    """Calls for one pre-installed real server; `{root}` in a string argument is its world's folder."""

    name: str
    calls: list[Call] = field(default_factory=list)


def preinstalled_calls(root: Path) -> dict[str, list[Call]]:
    """Calls whose outcome depends on the arguments only (the world exists: the file, the repo)."""
    repo, files = str(root / "repo"), str(root / "files")
    return {
        "time": [
            Call("get_current_time", {"timezone": "UTC"}, "valid"),
            Call("convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "UTC"}, "valid"),
            Call("get_current_time", {"timezone": "UTC", "verbose": True}, "borderline"),
            Call("get_current_time", {"timezone": 5}, "invalid"),
            Call("get_current_time", {}, "invalid"),
        ],
        "git": [
            Call("git_status", {"repo_path": repo}, "valid"),
            Call("git_log", {"repo_path": repo, "max_count": 1}, "valid"),
            Call("git_log", {"repo_path": repo, "max_count": "1"}, "borderline"),
            Call("git_log", {"repo_path": repo, "max_count": 1.0}, "borderline"),
            Call("git_status", {"repo_path": repo, "extra": 1}, "borderline"),
            Call("git_log", {"repo_path": repo, "max_count": "many"}, "invalid"),
            Call("git_status", {}, "invalid"),
        ],
        "filesystem": [
            Call("read_text_file", {"path": f"{files}/notes.txt"}, "valid"),
            Call("read_text_file", {"path": f"{files}/notes.txt", "head": 1}, "valid"),
            Call("read_text_file", {"path": f"{files}/notes.txt", "head": "1"}, "borderline"),
            Call("read_text_file", {"path": f"{files}/notes.txt", "head": 1.0}, "borderline"),
            Call("read_text_file", {"path": f"{files}/notes.txt", "encoding": "utf8"}, "borderline"),
            Call("list_directory", {"path": files, "recursive": "yes"}, "borderline"),
            Call("read_text_file", {"path": 5}, "invalid"),
            Call("read_multiple_files", {"paths": []}, "invalid"),
        ],
        "memory": [
            Call("read_graph", {}, "valid"),
            Call("search_nodes", {"query": "x"}, "valid"),
            Call("search_nodes", {"query": "x", "limit": "3"}, "borderline"),
            Call("open_nodes", {"names": '["a"]'}, "borderline"),
            Call("search_nodes", {"query": 3}, "invalid"),
            Call("create_entities", {"entities": [{"name": "a"}]}, "invalid"),
        ],
    }
