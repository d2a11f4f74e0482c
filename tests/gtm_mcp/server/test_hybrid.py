"""Hybrid serving against real MCP servers started here (filesystem, time, everything): which side
answered (the result's `_meta` and the real side effect), the warm-up schedule, recording real
calls then replaying them with no real server, and real servers that die, hang or restart."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from conftest import run_server
from mcp import Client
from real_servers import everything_server, filesystem_server, time_server

from gtm_mcp import cli
from gtm_mcp.calls.cassette import load_episodes
from gtm_mcp.launch import free_port, spawned
from gtm_mcp.upstream import UpstreamError, UpstreamPool

ORIGIN = "gtm-mcp/origin"


async def calls(url: str, session: str, script: list[tuple[str, dict]]) -> list[Any]:
    async with Client(url) as client:
        return [await client.call_tool(name, args, meta={"gtm-mcp/session": session}) for name, args in script]


def history(server: Any, session: str) -> list[dict]:
    return httpx.get(f"{server.base}/admin/sessions/{session}", timeout=10).json()["history"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("world")


RULES = """
real:
  - tools: [get_current_time]   # simulated for the first 2 calls of each session, then real
    warmup: 2
    per: session
  - tools: [convert_time]       # simulated for the first call of the whole server, then real
    warmup: 1
    per: global
"""


@pytest.fixture(scope="module")
def hybrid(world: Path):
    """filesystem + time mirrored; writes and reads real, the time real after a warm-up, the rest
    simulated; every call recorded."""
    (world / "rules.yaml").write_text(RULES)
    with run_server("--mirror", filesystem_server(world).spec, "--mirror", time_server().spec,
                    "--real", "write_file", "read_text_file", "--rules", str(world / "rules.yaml"),
                    "--record", str(world / "cassette.jsonl"), tmp_path=world) as server:
        yield server


def test_chosen_tools_go_to_the_real_server_the_rest_are_simulated(hybrid, world: Path) -> None:
    note = world / "files" / "note.txt"
    folder = world / "files" / "made-up"
    results = anyio.run(calls, hybrid.url, "h1", [
        ("write_file", {"path": str(note), "content": "hello real"}),
        ("read_text_file", {"path": str(note)}),
        ("create_directory", {"path": str(folder)}),
        ("get_current_time", {"timezone": "Mars/Olympus"}),
        ("get_current_time", {"timezone": "Mars/Olympus"}),
        ("get_current_time", {"timezone": "Mars/Olympus"}),
    ])
    write, read, mkdir, warm1, warm2, bad_zone = results
    assert write.meta[ORIGIN] == "real" and note.read_text() == "hello real"  # really written
    assert read.meta[ORIGIN] == "real" and "hello real" in read.content[0].text
    assert mkdir.meta[ORIGIN] == "simulated" and not mkdir.is_error and not folder.exists()  # nothing happened
    assert [warm1.meta[ORIGIN], warm2.meta[ORIGIN]] == ["simulated"] * 2  # warm-up
    # (the simulated clock refuses the unknown zone too, as the real one does: only the origin tells them apart)
    assert warm1.is_error and warm2.is_error
    assert bad_zone.meta[ORIGIN] == "real" and bad_zone.is_error and "Invalid timezone" in bad_zone.content[0].text
    # the session history (what later simulated calls are shown) holds the real answers, marked real
    assert [(c["tool"], c["origin"]) for c in history(hybrid, "h1")] == [
        ("write_file", "real"), ("read_text_file", "real"), ("create_directory", "simulated"),
        ("get_current_time", "simulated"), ("get_current_time", "simulated"), ("get_current_time", "real")]
    assert "Invalid timezone" in history(hybrid, "h1")[-1]["result"]
    health = hybrid.healthz()
    assert {s["server"]: s["state"] for s in health["real_servers"]} == {"mcp-server-filesystem": "up",
                                                                        "mcp-server-time": "up"}


def test_record_real_calls_then_replay_them_without_the_real_server(hybrid, world: Path) -> None:
    path = world / "files" / "draft.txt"
    script = [("write_file", {"path": str(path), "content": "v1"}), ("read_text_file", {"path": str(path)}),
              ("write_file", {"path": str(path), "content": "v2"}), ("read_text_file", {"path": str(path)}),
              ("list_directory", {"path": str(world / "files")})]
    recorded = anyio.run(calls, hybrid.url, "rec", script)
    assert [r.meta[ORIGIN] for r in recorded] == ["real"] * 4 + ["simulated"]
    assert recorded[1].content[0].text != recorded[3].content[0].text  # the same call, two real answers
    path.unlink()
    # The recording server still runs: its open episode is read from the journal.
    with run_server("--replay", str(world / "cassette.jsonl"), tmp_path=world) as replay:
        replayed = anyio.run(calls, replay.url, "rec", [*script, ("read_text_file", {"path": "/etc/hostname"})])
    for before, after in zip(recorded, replayed, strict=False):
        assert (after.content[0].text, after.is_error) == (before.content[0].text, before.is_error)
        assert after.meta[ORIGIN] == "replayed"
    assert not path.exists()  # nothing real happened during the replay
    miss = replayed[-1]
    assert miss.is_error and miss.content[0].text.startswith(
        'Replay: the call read_text_file {"path":"/etc/hostname"} was never recorded')
    assert f'read_text_file {{"path":"{path}"}}' in miss.content[0].text  # the closest recorded call
    episode = next(e for e in load_episodes(world / "cassette.jsonl") if e.meta["session"] == "rec")
    assert [c.origin for c in episode.calls] == ["real"] * 4 + ["simulated"]
    assert {t.name for t in episode.tools} == {"write_file", "read_text_file", "list_directory"}


def test_warmup_counts_per_session_or_server_wide(hybrid) -> None:
    zone = {"timezone": "Mars/Olympus"}
    convert = {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}
    a = anyio.run(calls, hybrid.url, "warm-a", [("get_current_time", zone), ("convert_time", convert)])
    b = anyio.run(calls, hybrid.url, "warm-b", [("get_current_time", zone), ("convert_time", convert)])
    assert [r.meta[ORIGIN] for r in a] == ["simulated", "simulated"]
    assert [r.meta[ORIGIN] for r in b] == ["simulated", "real"]  # per session starts over; global does not
    assert "21:00" in b[1].content[0].text


def test_a_dead_or_slow_real_server_is_an_error_and_serving_goes_on(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    everything = [*everything_server().argv, "streamableHttp"]

    def real_server():
        return spawned(everything, url, env={"PORT": str(port)}, log=tmp_path / "everything.log")

    with real_server() as upstream, run_server("--mirror", url, "--real", "echo", "get-tiny-image",
                                               "trigger-long-running-operation", "--upstream-timeout", "3",
                                               tmp_path=tmp_path) as server:
        first = anyio.run(calls, server.url, "s", [
            ("echo", {"message": "hi"}), ("get-tiny-image", {}),
            ("trigger-long-running-operation", {"duration": 10, "steps": 1}), ("get-sum", {"a": 1, "b": 2})])
        assert first[0].meta[ORIGIN] == "real" and "Echo: hi" in first[0].content[0].text
        assert "[image: image/png" in first[1].content[0].text
        slow = first[2]
        assert slow.is_error and "did not answer within 3 s" in slow.content[0].text
        assert first[3].meta[ORIGIN] == "simulated" and not first[3].is_error
        upstream.terminate()
        upstream.wait(10)
        down = anyio.run(calls, server.url, "s", [("echo", {"message": "anyone?"}), ("get-sum", {"a": 2, "b": 3})])
        assert down[0].is_error and "The real tool 'echo' could not be called" in down[0].content[0].text
        assert not down[1].is_error  # simulated tools are unaffected
        with real_server():  # back on the same port: a later call reconnects
            for _ in range(40):
                again = anyio.run(calls, server.url, "s", [("echo", {"message": "back"})])[0]
                if not again.is_error:
                    break
                anyio.run(anyio.sleep, 0.25)
            assert again.meta[ORIGIN] == "real" and "Echo: back" in again.content[0].text
            assert server.healthz()["calls"]["upstream_failed"] >= 2


def test_a_killed_stdio_server_is_restarted_on_the_next_call() -> None:
    spec = time_server().spec

    def children() -> list[int]:
        found = subprocess.run(["pgrep", "-P", str(os.getpid())], capture_output=True, text=True).stdout
        return [int(pid) for pid in found.split()]

    async def main() -> list[str]:
        outcomes = []
        async with UpstreamPool([spec], call_timeout_s=10) as pool:
            upstream = pool.get(spec)
            assert (await upstream.call("get_current_time", {"timezone": "UTC"})).value["timezone"] == "UTC"
            for pid in children():
                os.kill(pid, signal.SIGKILL)
            await anyio.sleep(0.2)
            for _ in range(3):
                try:
                    outcomes.append(str((await upstream.call("get_current_time", {"timezone": "UTC"})).value))
                except UpstreamError as e:
                    outcomes.append(f"error: {e}")
            assert upstream.connects == 2
        return outcomes

    first, *after = anyio.run(main)
    # the call that finds the pipe broken fails (unless the death was noticed before it); the next reconnect
    assert first.startswith("error: the connection to the real server mcp-server-time was lost") or \
        "'timezone': 'UTC'" in first
    assert all("'timezone': 'UTC'" in o for o in after)


def test_real_tools_must_be_mirrored(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--real", "get_weather"]) == 2
    assert "refusing to start, real: 'get_weather' matches no tool mirrored from a live server" in \
        capsys.readouterr().err
