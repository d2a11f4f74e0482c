"""The schema backend's session world on real tool lists (LiveMCPBench's filesystem, memory, git,
time and basic-memory servers): read-after-write, refusals in the tool's own terms, declared
worlds, values that mean what field names say, text answers, and rules given as data."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import EXAMPLE_TOOLS, LIVEMCPBENCH, need

from gtm_mcp.backends.schema import SchemaBackend, World, load_rules
from gtm_mcp.backends.schema.rules import RulesError
from gtm_mcp.calls.pipeline import CallResult, Outcome, Simulator
from gtm_mcp.config import ConfigError, load_settings
from gtm_mcp.contract import ToolDefinition
from gtm_mcp.server.runtime import build_simulator
from gtm_mcp.sessions.store import SessionStore
from gtm_mcp.tools.catalog import ToolCatalog
from gtm_mcp.tools.loader import load_tools

ROOT = "/home/ada"
WORLD = {"files": {f"{ROOT}/": None, f"{ROOT}/todo.md": "- buy milk\n"}}


@pytest.fixture(scope="module")
def livemcpbench() -> list[ToolDefinition]:
    return load_tools([need(LIVEMCPBENCH)])


def server_tools(tools: list[ToolDefinition], server: str) -> list[ToolDefinition]:
    """One LiveMCPBench server's tools, under their plain names."""
    picked = [t for t in tools if t.server == server]
    return [t.model_copy(update={"name": t.name.split("__", 1)[-1]}) for t in picked]


class Session:
    """One episode against a Simulator over the given tools."""

    def __init__(self, tools: list[ToolDefinition], world: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self.simulator = Simulator(ToolCatalog(tools), SchemaBackend(seed=kwargs.pop("seed", 1)),
                                   SessionStore(world=kwargs.pop("store_world", None)), **kwargs)
        self.meta: dict[str, Any] = {} if world is None else {"gtm-mcp/world": world}
        self.key = "episode"

    def __call__(self, tool: str, arguments: dict[str, Any], **meta: Any) -> CallResult:
        return anyio.run(lambda: self.simulator.call(tool, arguments, session_key=self.key, meta={**self.meta, **meta}))

    @property
    def state(self) -> dict[str, Any]:
        return self.simulator.sessions.get(self.key).state


def ok(result: CallResult) -> str:
    assert result.outcome is Outcome.OK, result.text
    return result.text


def refused(result: CallResult) -> str:
    assert result.outcome is Outcome.TOOL_ERROR and result.is_error, result.text
    return result.text


def test_filesystem_read_after_write_move_and_not_found_in_a_declared_world(livemcpbench) -> None:
    fs = Session(server_tools(livemcpbench, "filesystem"), WORLD)
    assert "ENOENT" in refused(fs("read_file", {"path": f"{ROOT}/a.txt"})) and f"'{ROOT}/a.txt'" in \
        refused(fs("read_file", {"path": f"{ROOT}/a.txt"}))
    assert ok(fs("read_file", {"path": f"{ROOT}/todo.md"})) == "- buy milk\n"  # declared before the agent came
    content = "héllo\nwörld"
    written = fs("write_file", {"path": f"{ROOT}/a.txt", "content": content})
    assert ok(written) == f"Successfully wrote to {ROOT}/a.txt" and written.structured is None  # text, no schema
    assert ok(fs("read_file", {"path": f"{ROOT}/./a.txt"})) == content
    info = ok(fs("get_file_info", {"path": f"{ROOT}/a.txt"}))
    assert f"size: {len(content.encode())}" in info and "isFile: true" in info
    listing = ok(fs("list_directory", {"path": ROOT}))
    assert "[FILE] a.txt" in listing and "[FILE] todo.md" in listing
    ok(fs("create_directory", {"path": f"{ROOT}/sub"}))
    ok(fs("move_file", {"source": f"{ROOT}/a.txt", "destination": f"{ROOT}/sub/b.txt"}))
    assert "ENOENT" in refused(fs("read_file", {"path": f"{ROOT}/a.txt"}))
    assert ok(fs("read_file", {"path": f"{ROOT}/sub/b.txt"})) == content
    after = ok(fs("list_directory", {"path": ROOT}))
    assert "a.txt" not in after and "[DIR] sub" in after
    assert ok(fs("search_files", {"path": ROOT, "pattern": "*.txt"})) == f"{ROOT}/sub/b.txt"
    diff = ok(fs("edit_file", {"path": f"{ROOT}/sub/b.txt", "edits": [{"oldText": "wörld", "newText": "there"}]}))
    assert "-wörld" in diff and "+there" in diff
    assert ok(fs("read_file", {"path": f"{ROOT}/sub/b.txt"})) == "héllo\nthere"
    assert "exact match" in refused(fs("edit_file", {"path": f"{ROOT}/sub/b.txt",
                                                      "edits": [{"oldText": "absent", "newText": "x"}]}))
    assert "scandir" in refused(fs("list_directory", {"path": "/nowhere"}))
    both = ok(fs("read_multiple_files", {"paths": [f"{ROOT}/sub/b.txt", f"{ROOT}/gone.txt"]}))
    assert "héllo\nthere" in both and f"{ROOT}/gone.txt: Error - ENOENT" in both


def test_memory_graph_follows_names_and_deletes(livemcpbench) -> None:
    mem = Session(server_tools(livemcpbench, "memory"), {})
    ok(mem("create_entities", {"entities": [{"name": "Ada", "entityType": "person", "observations": ["likes tea"]},
                                            {"name": "Acme", "entityType": "company", "observations": []}]}))
    ok(mem("create_relations", {"relations": [{"from": "Ada", "to": "Acme", "relationType": "works_at"}]}))
    ok(mem("add_observations", {"observations": [{"entityName": "Ada", "contents": ["speaks French"]}]}))
    assert refused(mem("add_observations", {"observations": [{"entityName": "Bob", "contents": ["x"]}]})) == \
        "Entity with name Bob not found"
    graph = ok(mem("read_graph", {}))
    assert "likes tea, speaks French" in graph and "Acme" in graph and "works_at" in graph
    found = ok(mem("search_nodes", {"query": "tea"}))
    assert "Ada" in found and "Acme" not in found
    assert "speaks French" in ok(mem("open_nodes", {"names": ["Ada"]}))
    ok(mem("delete_observations", {"deletions": [{"entityName": "Ada", "observations": ["likes tea"]}]}))
    ok(mem("delete_entities", {"entityNames": ["Acme"]}))
    graph = ok(mem("read_graph", {}))
    assert "Acme" not in graph and "works_at" not in graph and "likes tea" not in graph and "speaks French" in graph


def test_git_hashes_handed_out_are_accepted_back(livemcpbench) -> None:
    init = "248d4e49c4caa1d97314fb1393bf7c6ae541f306"
    git = Session(server_tools(livemcpbench, "git"), {"commits": [{"hash": init, "message": "init"}],
                                                       "branches": [{"name": "main"}]})
    repo = {"repo_path": "/repo"}
    commit = ok(git("git_commit", {**repo, "message": "add readme"}))
    sha = re.search(r"\b[0-9a-f]{40}\b", commit).group(0)
    for revision in (sha, sha[:7], "HEAD"):
        assert "add readme" in ok(git("git_show", {**repo, "revision": revision}))
    assert "init" in ok(git("git_show", {**repo, "revision": init[:7]}))
    log = ok(git("git_log", {**repo, "max_count": 5}))
    assert log.index(sha) < log.index(init)  # newest first
    assert "did not resolve" in refused(git("git_show", {**repo, "revision": "deadbeef"}))
    assert "did not resolve" in refused(git("git_checkout", {**repo, "branch_name": "feature"}))
    ok(git("git_create_branch", {**repo, "branch_name": "feature"}))
    ok(git("git_checkout", {**repo, "branch_name": "feature"}))
    branches = ok(git("git_branch", {**repo, "branch_type": "local"}))
    assert "main" in branches and "feature" in branches


def test_open_world_invents_once_keeps_it_and_forgets_deleted_things(livemcpbench) -> None:
    notes = Session(server_tools(livemcpbench, "basic-memory"))  # no declared world: open
    invented = ok(notes("read_note", {"identifier": "Travel plans"}))
    assert invented and ok(notes("read_note", {"identifier": "Travel plans"})) == invented
    ok(notes("write_note", {"title": "Groceries", "content": "milk and eggs", "folder": "notes"}))
    assert ok(notes("read_note", {"identifier": "Groceries"})) == "milk and eggs"
    assert "Groceries" in ok(notes("search_notes", {"query": "eggs"}))
    ok(notes("delete_note", {"identifier": "Groceries"}))
    assert "not found" in refused(notes("read_note", {"identifier": "Groceries"}))  # the session saw it go
    assert ok(notes("search_notes", {"query": "eggs"})) == "No matches found"
    closed = Session(server_tools(livemcpbench, "basic-memory"), {})  # declared empty: nothing exists
    assert refused(closed("delete_note", {"identifier": "Travel plans"})) == "Note 'Travel plans' not found"
    assert refused(closed("read_note", {"identifier": "Travel plans"})) == "Note 'Travel plans' not found"


def test_declared_world_is_read_back_and_reset_starts_again_from_it(livemcpbench) -> None:
    tools = server_tools(livemcpbench, "filesystem") + server_tools(livemcpbench, "time") + \
        server_tools(livemcpbench, "memory")
    world = {**WORLD, "clock": "2026-03-02T09:00:00Z", "entities": [{"name": "Ada", "entityType": "person",
                                                                     "observations": ["likes tea"]}]}
    s = Session(tools, world)
    assert "likes tea" in ok(s("open_nodes", {"names": ["Ada"]}))
    now = ok(s("get_current_time", {"timezone": "UTC"}))
    assert "datetime: 2026-03-02T09:" in now and "day_of_week: Monday" in now
    ok(s("write_file", {"path": f"{ROOT}/new.txt", "content": "x"}))
    ok(s("write_file", {"path": f"{ROOT}/todo.md", "content": "changed"}))
    later = ok(s("get_current_time", {"timezone": "UTC"}))
    assert later > now  # one session clock, moving forward
    reset = s("read_file", {"path": f"{ROOT}/todo.md"}, **{"gtm-mcp/reset": True})
    assert ok(reset) == "- buy milk\n"  # the declared world again
    assert "ENOENT" in refused(s("read_file", {"path": f"{ROOT}/new.txt"}))
    assert "datetime: 2026-03-02T09:0" in ok(s("get_current_time", {"timezone": "UTC"}))  # the clock restarted
    # Declaring another world starts the episode from that one.
    s.meta = {"gtm-mcp/world": {"files": {f"{ROOT}/other.txt": "other"}}}
    assert ok(s("read_file", {"path": f"{ROOT}/other.txt"})) == "other"
    assert "ENOENT" in refused(s("read_file", {"path": f"{ROOT}/todo.md"}))
    bad = s("read_file", {"path": "/x"}, **{"gtm-mcp/world": ["not", "an", "object"]})
    assert bad.outcome is Outcome.BAD_ARGUMENTS and "gtm-mcp/world" in bad.text and "JSON object" in bad.text


def test_times_follow_the_time_zone_asked_for_and_unknown_ones_are_refused(livemcpbench) -> None:
    clock = Session(server_tools(livemcpbench, "time"))
    tokyo = ok(clock("get_current_time", {"timezone": "Asia/Tokyo"}))
    stamp = datetime.fromisoformat(re.search(r"datetime: (\S+)", tokyo).group(1))
    assert stamp.utcoffset().total_seconds() == 9 * 3600 and "timezone: Asia/Tokyo" in tokyo
    assert f"day_of_week: {stamp.strftime('%A')}" in tokyo
    assert "Mars/Olympus" in refused(clock("get_current_time", {"timezone": "Mars/Olympus"}))
    converted = ok(clock("convert_time", {"source_timezone": "Europe/London", "time": "16:30",
                                          "target_timezone": "America/New_York"}))
    assert ("T16:30:00+00:00" in converted and "T11:30:00-05:00" in converted) or \
        ("T16:30:00+01:00" in converted and "T11:30:00-04:00" in converted)  # winter or summer time
    assert "HH:MM" in refused(clock("convert_time", {"source_timezone": "UTC", "time": "25:61",
                                                     "target_timezone": "UTC"}))


MEANINGFUL = ToolDefinition(
    name="get_build_report", description="Report on a build.",
    input_schema={"type": "object", "properties": {"timezone": {"type": "string"}, "path": {"type": "string"}}},
    output_schema={"type": "object", "required": ["success", "build", "artifacts", "count"], "properties": {
        "success": {"type": "boolean"}, "count": {"type": "integer"},
        "artifacts": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "build": {"type": "object", "required": ["datetime", "dayOfWeek", "timezone", "utc_offset", "commit_sha",
                                                 "short_sha", "sha256", "duration_ms", "updated_at", "is_dst"],
                  "properties": {k: {"type": "string"} for k in ("datetime", "dayOfWeek", "timezone", "utc_offset",
                                                                "commit_sha", "short_sha", "sha256", "updated_at")}
                  | {"duration_ms": {"type": "integer"}, "is_dst": {"type": "boolean"}}}}})


def test_values_mean_what_their_names_say_at_any_depth() -> None:
    s = Session([MEANINGFUL])
    for _ in range(3):
        out = s("get_build_report", {"timezone": "Asia/Kolkata", "path": "/src"}).structured
        build = out["build"]
        moment = datetime.fromisoformat(build["datetime"])
        assert build["timezone"] == "Asia/Kolkata" and build["utc_offset"] == "+05:30" and not build["is_dst"]
        assert moment.utcoffset().total_seconds() == 5.5 * 3600 and build["dayOfWeek"] == moment.strftime("%A")
        assert re.fullmatch(r"[0-9a-f]{40}", build["commit_sha"]) and re.fullmatch(r"[0-9a-f]{7}", build["short_sha"])
        assert re.fullmatch(r"[0-9a-f]{64}", build["sha256"]) and build["duration_ms"] >= 0
        assert datetime.fromisoformat(build["updated_at"])
        assert out["success"] is True and out["count"] == len(out["artifacts"])


def test_text_answers_without_an_output_schema_and_the_old_json_behind_a_flag() -> None:
    tools = load_tools([EXAMPLE_TOOLS])
    text = Session(tools)("send_email", {"to": "ann@example.com", "subject": "Hi", "body": "Hello"})
    assert text.structured is None and text.text.startswith("Successfully sent") and "ann@example.com" in text.text
    legacy = Session(tools, invent_json=True)("send_email", {"to": "ann@example.com", "subject": "Hi", "body": "Hello"})
    assert legacy.structured["success"] is True and legacy.structured["to"] == "ann@example.com"
    assert json.loads(legacy.text) == legacy.structured


def test_session_state_is_json_and_survives_a_round_trip(livemcpbench) -> None:
    """A store that keeps sessions as JSON (e.g. Redis) gets the same world back."""
    fs = Session(server_tools(livemcpbench, "filesystem"), WORLD)
    ok(fs("write_file", {"path": f"{ROOT}/kept.txt", "content": "kept"}))
    session = fs.simulator.sessions.get(fs.key)
    restored = json.loads(json.dumps(session.state))
    session.state.clear()
    session.state.update(restored)
    assert ok(fs("read_file", {"path": f"{ROOT}/kept.txt"})) == "kept"
    assert "ENOENT" in refused(fs("read_file", {"path": f"{ROOT}/never.txt"}))


def test_world_api_reads_and_writes_what_tools_see(livemcpbench) -> None:
    fs = Session(server_tools(livemcpbench, "filesystem"), WORLD)
    ok(fs("write_file", {"path": f"{ROOT}/by-tool.txt", "content": "from a tool"}))
    session = fs.simulator.sessions.get(fs.key)
    world = World.of(session.state, session.world)
    assert world.read(f"file://{ROOT}/by-tool.txt")["content"] == "from a tool"
    world.write(f"{ROOT}/by-api.txt", {"path": f"{ROOT}/by-api.txt", "content": "from the API"}, kind="file")
    assert ok(fs("read_file", {"path": f"{ROOT}/by-api.txt"})) == "from the API"
    assert {k for k, _ in world.list(prefix=f"{ROOT}/")} >= {f"{ROOT}/by-tool.txt", f"{ROOT}/by-api.txt"}
    assert world.delete(f"{ROOT}/by-api.txt") and world.read(f"{ROOT}/by-api.txt") is None
    assert "ENOENT" in refused(fs("read_file", {"path": f"{ROOT}/by-api.txt"}))


def test_rules_are_data_a_user_file_extends_them(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("verbs: {stash: write, peek: read}\n"
                     "fields: [[weekday, '^jour$']]\n"
                     "texts: {write: 'Stashed {key} ({past})'}\n"
                     "errors: [[not_found, 'blob', 'no blob at {key}']]\n")
    stash = ToolDefinition(name="stash_blob", input_schema={"type": "object", "properties": {
        "path": {"type": "string"}, "content": {"type": "string"}}})
    peek = ToolDefinition(name="peek_blob", input_schema={"type": "object", "properties": {"path": {"type": "string"}}},
                          output_schema={"type": "object", "properties": {"content": {"type": "string"},
                                                                          "jour": {"type": "string"}},
                                         "required": ["content", "jour"]})
    s = Session([stash, peek], {})
    s.simulator.backend = SchemaBackend(seed=1, rules=load_rules(str(rules)))
    assert ok(s("stash_blob", {"path": "/b", "content": "data"})) == "Stashed /b (stashed)"
    read = s("peek_blob", {"path": "/b"}).structured
    assert read["content"] == "data" and read["jour"] in {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                                         "Saturday", "Sunday"}
    assert refused(s("peek_blob", {"path": "/missing"})) == "no blob at /missing"
    for broken, message in (("verbs: {stash: teleport}", "unknown operation"),
                            ("texts: {write: 'Saved {nope}'}", "unknown placeholder"),
                            ("fields: [[weekday, '(']]", "not a valid pattern"), ("colours: {}", "unknown key")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(broken)
        with pytest.raises(RulesError, match=message):
            load_rules(str(bad))
        with pytest.raises(ConfigError, match=message):
            load_settings({"world_rules": str(bad)}, env={})


def test_world_file_setting_declares_every_new_session(tmp_path: Path, livemcpbench) -> None:
    world = tmp_path / "world.yaml"
    world.write_text(f"files:\n  {ROOT}/todo.md: '- buy milk'\n")
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps([t.to_gtm() for t in server_tools(livemcpbench, "filesystem")]))
    simulator = build_simulator(load_settings({"tools": [str(tools)], "world": str(world)}, env={}))
    for session in ("a", "b"):
        read = anyio.run(lambda s=session: simulator.call("read_file", {"path": f"{ROOT}/todo.md"}, session_key=s))
        assert read.text == "- buy milk"
        missing = anyio.run(lambda s=session: simulator.call("read_file", {"path": "/x"}, session_key=s))
        assert missing.is_error and "ENOENT" in missing.text
    world.write_text("files: [1, 2]")
    with pytest.raises(ConfigError, match="files must map paths"):
        load_settings({"tools": [str(tools)], "world": str(world)}, env={})
