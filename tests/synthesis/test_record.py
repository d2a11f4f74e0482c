"""Recording real traffic: the shipped config (synthesis/configs/record_offline_servers.yaml) drives
the real MCP servers that scripts/setup_mcp_servers.sh installs, and the tau-bench wrapper drives
tau-bench's real tools. Each recorded output is then compared with what the real thing returns when
the test itself calls it again: the same server, a fresh world at the same place, the official `mcp`
client (for tau-bench: the tool's own `invoke` on a fresh copy of its data)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import anyio
import pytest
from conftest import DATA, REPO
from synth_data import need

from gtm_mcp.contract import EpisodeRecord
from synthesis.record.config import load_record_config
from synthesis.record.recorder import record
from synthesis.record.tau import load_domain

pytestmark = pytest.mark.slow
CONFIG = REPO / "synthesis" / "configs" / "record_offline_servers.yaml"
#: outputs that differ between two runs by nature: clocks and today's date, file times, commit hashes and dates
VOLATILE = {"get_current_time", "convert_time", "get_file_info", "git_log", "git_show", "git_commit"}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for tool in (REPO / ".venv-mcp-servers", REPO / ".mcp-servers", REPO / ".venv-mcp-sqlite"):
        if not tool.exists():
            pytest.fail(f"{tool} is missing: run `bash scripts/setup_mcp_servers.sh` (make test does)")
    out = tmp_path_factory.mktemp("recorded")
    cfg = load_record_config(CONFIG)
    cfg = cfg.model_copy(update={"world_root": str(out / "worlds"), "concurrency": 3})
    stats = anyio.run(lambda: record(cfg, out, root=REPO, limit=1, progress=False))
    assert set(stats["servers"]) == {"time", "git", "sqlite", "memory", "filesystem", "everything"}
    for name, figures in stats["servers"].items():
        assert "error" not in figures, (name, figures)
        assert figures["episodes"] == 1 and figures["calls"] >= 2, (name, figures)
    return out


def episodes(folder: Path) -> list[EpisodeRecord]:
    return [EpisodeRecord.from_json_line(line) for path in sorted((folder / "episodes").glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]


async def replay(episode: EpisodeRecord) -> list[tuple[object, bool]]:
    """Calls the real server again (a fresh world rebuilt at the same path) with the official client."""
    from mcp import Client, StdioServerParameters

    world = episode.world or {}
    folder = Path(world["dir"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for command in world["setup"]:
        subprocess.run(["bash", "-c", command], cwd=folder, check=True, capture_output=True)
    argv = world["target"].split()
    if argv[0] == "env":  # the shipped config passes variables through `env`, the recorder through env=
        argv = argv[1:]
    params = StdioServerParameters(command=argv[0], args=argv[1:], env=world.get("env") or None)
    answers = []
    with open(os.devnull, "w") as quiet:
        from mcp.client.stdio import stdio_client

        async with Client(stdio_client(params, errlog=quiet)) as client:
            for call in episode.calls:
                try:
                    result = await client.call_tool(call.tool, call.arguments)
                except Exception as e:  # a JSON-RPC error answer
                    answers.append((str(getattr(e, "message", e)), True))
                    continue
                text = "\n".join(b.text for b in result.content if getattr(b, "type", "") == "text")
                structured = result.structured_content
                value = structured if isinstance(structured, dict) and not result.is_error else text
                answers.append((value, bool(result.is_error)))
    return answers


def test_recorded_outputs_are_what_the_real_servers_return(recorded: Path) -> None:
    eps = episodes(recorded)
    assert len(eps) == 6
    compared = 0
    for episode in eps:
        assert episode.source.startswith("recorded:") and all(c.origin == "real" for c in episode.calls)
        assert len(episode.meta["intents"]) == len(episode.calls)
        again = anyio.run(replay, episode)
        for call, (value, is_error) in zip(episode.calls, again, strict=True):
            if call.tool in VOLATILE:
                continue
            assert (call.result, call.is_error) == (value, is_error), (episode.id, call.tool, call.arguments)
            compared += 1
    assert compared >= 15


def test_recorded_corpus_has_errors_content_blocks_tools_and_figures(recorded: Path) -> None:
    stats = json.loads((recorded / "stats.json").read_text())
    assert stats["total"]["episodes"] == 6 and stats["total"]["calls"] >= 15
    tools = {p.stem: [json.loads(x) for x in p.read_text().splitlines()] for p in (recorded / "tools").glob("*.jsonl")}
    # each server's tools carry how it checks arguments (detected as gtm-mcp --mirror does)
    assert tools["time"][0]["check_profile"] == "pydantic" and tools["memory"][0]["check_profile"] == "zod"
    assert {t["name"] for t in tools["memory"]} >= {"create_entities", "open_nodes", "delete_entities"}
    assert "get-env" not in {t["name"] for t in tools["everything"]}  # excluded: it would record this machine
    eps = episodes(recorded)
    assert len({e.meta["kind"] for e in eps}) >= 2
    # what a record's result cannot carry (text beside structured content, images) is kept as MCP blocks
    blocks = [b for e in eps for c in (e.meta.get("calls") or {}).values() for b in c.get("content", [])]
    assert blocks and all("type" in b for b in blocks)
    # a second run resumes: nothing new is recorded
    cfg = load_record_config(CONFIG).model_copy(update={"world_root": str(recorded / "worlds")})
    again = anyio.run(lambda: record(cfg, recorded, root=REPO, limit=1, only=["time"], progress=False))
    assert again["servers"]["time"]["episodes"] == 1


def test_tau_bench_episodes_replay_the_real_tools(tmp_path: Path) -> None:
    root = need(DATA / "tau-bench")
    cfg = load_record_config(REPO / "synthesis" / "configs" / "record_tau_bench.yaml")
    cfg = cfg.model_copy(update={"world_root": str(tmp_path / "worlds"), "concurrency": 1})
    stats = anyio.run(lambda: record(cfg, tmp_path, root=REPO, limit=2, progress=False))
    assert stats["servers"]["tau-retail"]["episodes"] == 2 and stats["servers"]["tau-airline"]["episodes"] == 2
    for name, domain_name in (("tau-retail", "retail"), ("tau-airline", "airline")):
        domain = load_domain(root, domain_name)
        lines = (tmp_path / "episodes" / f"{name}.jsonl").read_text().splitlines()
        for line in lines:
            episode = EpisodeRecord.from_json_line(line)
            assert episode.source == f"tau-bench:{domain_name}"
            data = domain.load_data()  # a fresh copy per episode, as the wrapper keeps one per session
            gold = [c for c, i in zip(episode.calls, episode.meta["intents"], strict=True) if i == "gold"]
            assert gold, episode.id
            for call in episode.calls:
                try:
                    text = domain.tools[call.tool].invoke(data=data, **call.arguments)
                except Exception as e:  # tau-bench's environment reports exceptions as "Error: ..."
                    text = f"Error: {e}"
                expected = (text[len("Error: "):], True) if text.startswith("Error: ") else (text, False)
                assert (call.result, call.is_error) == expected, (episode.id, call.tool)
    retail = [json.loads(x) for x in (tmp_path / "episodes" / "tau-retail.jsonl").read_text().splitlines()]
    assert {e["meta"]["split"] for e in retail} == {"train"}  # the first tasks are tau-bench's train split
