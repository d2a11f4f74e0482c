"""`gtm-synth` as users run it (`python -m synthesis`, which is the console script's entry point):
help, a clean one-line error without the `synthesis` extra, clear config errors, and the stage
commands reading and writing JSONL in a run folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO, SEAL_TOOLS
from synth_data import need


def gtm_synth(*args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "synthesis", *args]
    return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def test_help_lists_every_stage() -> None:
    done = gtm_synth("--help")
    assert done.returncode == 0
    for command in ("run", "taxonomy", "tools", "import", "dedup", "single", "multi", "errors", "record", "export"):
        assert command in done.stdout


def test_without_the_extra_one_line_names_it() -> None:
    blocked = "import sys; sys.modules['openai'] = None; from synthesis.cli import main; sys.exit(main(sys.argv[1:]))"
    done = gtm_synth("export", "x", "-o", "y", code=blocked)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "gtm-synth: needs the 'synthesis' extra (openai not installed): pip install 'gtm-mcp[synthesis]'"]


def test_config_mistakes_are_named_with_their_key(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("seed: 1\nteacher: {modle: x}\nsingle: {samples_per_tool: 0}\n")
    done = gtm_synth("run", str(config))
    assert done.returncode == 2
    assert "teacher.modle: Extra inputs are not permitted" in done.stderr
    assert "single.samples_per_tool" in done.stderr and "Traceback" not in done.stderr
    missing = gtm_synth("export", str(tmp_path / "nowhere"), "-o", str(tmp_path / "out"))
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr


def test_import_and_dedup_commands_write_jsonl_and_resume(tmp_path: Path) -> None:
    run = tmp_path / "run"
    seal = tmp_path / "seal-tools" / "tool.jsonl"  # 300 real Seal-Tools records, imported by the real importer
    seal.parent.mkdir()
    seal.write_text("\n".join(need(SEAL_TOOLS).read_text().splitlines()[:300]) + "\n")
    args = ("import", str(seal), "--sample", "30", "--no-fill", "--out", str(run), "--seed", "4",
            "--no-progress")
    done = gtm_synth(*args)
    assert done.returncode == 0, done.stderr
    first = (run / "imported_tools.jsonl").read_text().splitlines()
    assert len(first) == 30 and all(json.loads(x)["source"] == "import:seal-tools" for x in first)
    assert gtm_synth(*args).returncode == 0
    assert (run / "imported_tools.jsonl").read_text().splitlines() == first  # resumed: nothing twice
    other = gtm_synth("import", str(seal), "--sample", "30", "--no-fill", "--out", str(tmp_path / "b"),
                      "--seed", "4", "--no-progress")
    assert other.returncode == 0
    assert (tmp_path / "b" / "imported_tools.jsonl").read_text().splitlines() == first  # same seed, same sample
    done = gtm_synth("dedup", "--out", str(run), "--no-progress")
    assert done.returncode == 0, done.stderr
    kept = (run / "tools.jsonl").read_text().splitlines()
    assert 0 < len(kept) <= 30
    assert json.loads((run / "dedup.stats.json").read_text())["tools_in"] == 30


def test_export_split_flags_hold_out_servers_and_set_shares(tmp_path: Path) -> None:
    from gtm_mcp.contract import CallRecord, EpisodeRecord, ToolDefinition

    def recorded(server: str, name: str) -> str:
        tool = ToolDefinition(name=name, description=f"{name} of {server}.", server=server,
                              input_schema={"type": "object", "properties": {}})
        return "".join(EpisodeRecord(id=f"{server}:{k}", tools=[tool], source=f"recorded:{server}",
                                     meta={"split": split}, calls=[CallRecord(name, {}, f"{k}", origin="real")])
                       .to_json_line() + "\n" for k, split in enumerate(("train", "heldout")))

    episodes = tmp_path / "episodes.jsonl"
    episodes.write_text(recorded("memory", "read_graph") + recorded("git", "git_log") + recorded("time", "now"))
    out = tmp_path / "out"
    done = gtm_synth("export", str(episodes), "-o", str(out), "--no-progress", "--holdout", "test=git",
                     "--holdout", "validation=memory", "--shares", "train=0.6,validation=0.2,test=0.2")
    assert done.returncode == 0, done.stderr
    card = json.loads((out / "card.json").read_text())
    assert card["settings"]["holdout_servers"] == {"test": ["git"], "validation": ["memory"]}
    assert card["settings"]["shares"] == {"train": 0.6, "validation": 0.2, "test": 0.2}
    assert {s: card["splits"][s]["servers"] for s in ("train", "validation", "test", "heldout_episodes")} == {
        "train": ["time"], "validation": ["memory"], "test": ["git"], "heldout_episodes": ["time"]}
    bad = gtm_synth("export", str(episodes), "-o", str(out), "--holdout", "train=git")
    assert bad.returncode == 2 and "validation=SERVER" in bad.stderr


def test_import_from_a_live_mcp_server(tmp_path: Path) -> None:
    """Stage 3's live source: `mcp:<command>` lists a real MCP server's tools (mcp-server-time, over
    stdio, through the mirror code) and imports them as they are; an unreachable one is named."""
    from real_servers import time_server

    run = tmp_path / "run"
    done = gtm_synth("import", f"mcp:{time_server().spec}", "mcp:http://127.0.0.1:9/mcp", "--no-fill",
                     "--out", str(run), "--no-progress")
    assert done.returncode == 0, done.stderr
    tools = {json.loads(x)["name"]: json.loads(x) for x in (run / "imported_tools.jsonl").read_text().splitlines()}
    assert set(tools) == {"get_current_time", "convert_time"}
    assert tools["get_current_time"]["input_schema"]["required"] == ["timezone"]
    assert "127.0.0.1:9" in done.stderr + (run / "imported_tools.stats.json").read_text()
