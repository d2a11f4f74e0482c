"""The default (schema) backend against real MCP servers: `gtm-mcp serve --mirror` copies the tool
lists of the real filesystem, memory, git and time servers, and the official client drives the same
stateful sequences through the real server and through the simulator. The isError pattern and
what reads return must agree."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import anyio
import httpx
import pytest
from conftest import run_server
from mcp import Client, StdioServerParameters
from real_servers import RealServer, filesystem_server, git_server, memory_server, time_server

Call = tuple[str, dict[str, Any]]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("real")
    real = {"filesystem": filesystem_server(root), "memory": memory_server(root), "git": git_server(root),
            "time": time_server()}
    args = [a for server in real.values() for a in ("--mirror", server.spec)]
    with run_server(*args, "--seed", "3", tmp_path=root) as simulated:
        yield {"real": real, "sim": simulated, "files": root / "files", "repo": root / "repo"}


async def _drive(client: Client, calls: list[Call], meta: dict[str, Any] | None = None) -> list[Any]:
    out = []
    for name, arguments in calls:
        result = await client.call_tool(name, arguments, meta=meta)
        out.append(result)
    return out


def run_real(server: RealServer, calls: list[Call]) -> list[Any]:
    async def main() -> list[Any]:
        async with Client(StdioServerParameters(command=server.argv[0], args=server.argv[1:])) as client:
            return await _drive(client, calls)

    return anyio.run(main)


def run_sim(url: str, calls: list[Call], session: str, world: dict[str, Any] | None = None) -> list[Any]:
    async def main() -> list[Any]:
        async with Client(url) as client:
            meta: dict[str, Any] = {"gtm-mcp/session": session}
            if world is not None:
                meta["gtm-mcp/world"] = world
            return await _drive(client, calls, meta)

    return anyio.run(main)


def text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def test_filesystem_sequence_agrees_with_the_real_server(servers) -> None:
    files = str(servers["files"])
    a, sub = f"{files}/a.txt", f"{files}/sub"
    calls: list[Call] = [
        ("read_text_file", {"path": a}), ("write_file", {"path": a, "content": "hello\nworld"}),
        ("read_text_file", {"path": a}), ("list_directory", {"path": files}), ("get_file_info", {"path": a}),
        ("create_directory", {"path": sub}), ("move_file", {"source": a, "destination": f"{sub}/b.txt"}),
        ("read_text_file", {"path": a}), ("read_text_file", {"path": f"{sub}/b.txt"}),
        ("list_directory", {"path": files}), ("list_directory", {"path": f"{files}/missing"}),
    ]
    real = run_real(servers["real"]["filesystem"], calls)
    sim = run_sim(servers["sim"].url, calls, "fs", {"files": {f"{files}/": None}})
    assert [r.is_error for r in sim] == [r.is_error for r in real], [text(r)[:80] for r in sim]
    assert sim[0].is_error and "ENOENT" in text(sim[0]) and a in text(sim[0])
    for i in (2, 8):  # reads return what was written, as the real server's do
        assert sim[i].structured_content == real[i].structured_content == {"content": "hello\nworld"}
    # (the text block of a structured answer is its JSON, as the MCP spec recommends; the real
    # filesystem server puts the bare text there instead)
    assert sim[3].structured_content == real[3].structured_content == {"content": "[FILE] a.txt"}
    assert "size: 11" in sim[4].structured_content["content"] and "size: 11" in text(real[4])
    assert sim[9].structured_content == real[9].structured_content == {"content": "[DIR] sub"}


def test_memory_sequence_agrees_with_the_real_server(servers) -> None:
    ada = {"name": "Ada", "entityType": "person", "observations": ["likes tea"]}
    calls: list[Call] = [
        ("create_entities", {"entities": [ada, {"name": "Acme", "entityType": "company", "observations": []}]}),
        ("create_relations", {"relations": [{"from": "Ada", "to": "Acme", "relationType": "works_at"}]}),
        ("add_observations", {"observations": [{"entityName": "Ada", "contents": ["speaks French"]}]}),
        ("add_observations", {"observations": [{"entityName": "Bob", "contents": ["x"]}]}),
        ("read_graph", {}), ("search_nodes", {"query": "tea"}), ("open_nodes", {"names": ["Ada", "Nobody"]}),
        ("delete_entities", {"entityNames": ["Acme"]}), ("read_graph", {}), ("create_entities", {"entities": [ada]}),
    ]
    real = run_real(servers["real"]["memory"], calls)
    sim = run_sim(servers["sim"].url, calls, "memory", {})
    assert [r.is_error for r in sim] == [r.is_error for r in real]
    assert text(sim[3]) == text(real[3]) == "Entity with name Bob not found"
    for i in (0, 1, 2, 4, 5, 6, 8, 9):  # the whole graph, as the real server keeps it
        assert sim[i].structured_content == real[i].structured_content, calls[i]


def test_git_hashes_come_back_and_unknown_refs_are_refused(servers) -> None:
    repo = {"repo_path": str(servers["repo"])}
    declared = {"commits": [{"hash": "0" * 40, "message": "init"}], "branches": [{"name": "main"}]}
    first = run_sim(servers["sim"].url, [("git_commit", {**repo, "message": "add readme"})], "git", declared)[0]
    assert first.structured_content is None and not first.is_error  # git's tools declare no output schema: text
    sha = re.search(r"\b[0-9a-f]{40}\b", text(first)).group(0)
    later = run_sim(servers["sim"].url, [
        ("git_show", {**repo, "revision": sha[:7]}), ("git_log", {**repo, "max_count": 5}),
        ("git_show", {**repo, "revision": "deadbeef"}), ("git_checkout", {**repo, "branch_name": "nope"}),
        ("git_create_branch", {**repo, "branch_name": "feat"}), ("git_branch", {**repo, "branch_type": "local"}),
    ], "git", declared)
    assert "add readme" in text(later[0]) and "add readme" in text(later[1]) and "init" in text(later[1])
    assert later[2].is_error and later[3].is_error and "did not resolve" in text(later[2])
    assert "feat" in text(later[5]) and "main" in text(later[5])
    real = run_real(servers["real"]["git"], [("git_show", {**repo, "revision": "deadbeef"}),
                                             ("git_checkout", {**repo, "branch_name": "nope"})])
    assert all(r.is_error for r in real) and "did not resolve" in text(real[0])


def test_time_zones_asked_for_are_the_ones_reported(servers) -> None:
    calls: list[Call] = [
        ("get_current_time", {"timezone": "Asia/Tokyo"}), ("get_current_time", {"timezone": "Mars/Olympus"}),
        ("convert_time", {"source_timezone": "Europe/London", "time": "16:30", "target_timezone": "Asia/Kolkata"}),
        ("convert_time", {"source_timezone": "UTC", "time": "25:30", "target_timezone": "UTC"}),
    ]
    real = run_real(servers["real"]["time"], calls)
    sim = run_sim(servers["sim"].url, calls, "time")
    assert [r.is_error for r in sim] == [r.is_error for r in real] == [False, True, False, True]
    now = sim[0].structured_content
    assert set(now) == set(real[0].structured_content) and now["timezone"] == "Asia/Tokyo"
    moment = datetime.fromisoformat(now["datetime"])
    assert moment.utcoffset().total_seconds() == 9 * 3600 and now["day_of_week"] == moment.strftime("%A")
    converted = sim[2].structured_content
    assert converted["source"]["timezone"] == "Europe/London" and converted["target"]["timezone"] == "Asia/Kolkata"
    source, target = (datetime.fromisoformat(converted[k]["datetime"]) for k in ("source", "target"))
    assert source == target and source.strftime("%H:%M") == "16:30"  # the same instant, in each zone
    assert target.utcoffset().total_seconds() == 5.5 * 3600
    hours = (target.utcoffset() - source.utcoffset()).total_seconds() / 3600
    assert converted["time_difference"] == f"{hours:+.1f}h"  # the real server's format, for the sim's date
    assert re.fullmatch(r"[+-]\d+\.\dh", real[2].structured_content["time_difference"])


def test_admin_declared_world_is_read_back_and_reset_restarts_from_it(servers) -> None:
    files = str(servers["files"])
    notes = f"{files}/notes.txt"
    world = {"files": {f"{files}/": None, notes: "declared"}}
    response = httpx.put(f"{servers['sim'].base}/admin/sessions/admin-world", json={"world": world}, timeout=10)
    assert response.status_code == 200 and response.json()["world"] == world
    bad = httpx.put(f"{servers['sim'].base}/admin/sessions/admin-world", json={"world": {"files": [1]}}, timeout=10)
    assert bad.status_code == 400 and "files must map paths" in bad.json()["error"]

    async def main() -> list[Any]:
        async with Client(servers["sim"].url) as client:
            meta = {"gtm-mcp/session": "admin-world"}
            return [await client.call_tool("read_text_file", {"path": notes}, meta=meta),
                    await client.call_tool("write_file", {"path": notes, "content": "changed"}, meta=meta),
                    await client.call_tool("read_text_file", {"path": notes}, meta=meta),
                    await client.call_tool("read_text_file", {"path": notes}, meta={**meta, "gtm-mcp/reset": True})]

    first, _, changed, after_reset = anyio.run(main)
    assert first.structured_content["content"] == "declared" and changed.structured_content["content"] == "changed"
    assert after_reset.structured_content["content"] == "declared"
    summary = httpx.get(f"{servers['sim'].base}/admin/sessions/admin-world", timeout=10).json()
    assert summary["world"] == world and json.dumps(summary)
