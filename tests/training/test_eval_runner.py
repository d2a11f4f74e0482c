"""`gtm-eval`'s way through the server, without a judge: simulator specs, episodes whose tools clash
by name (tau-bench's retail and airline both define `get_user_details`, differently) played through
one server whose tools are swapped between groups, and the reference metrics on real outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from real_exports import replay, run_calls, tau_task

from training.evaluation import EvalOptions, SimulatorSpec, evaluate
from training.evaluation.samples import tool_groups


def test_simulator_specs() -> None:
    assert SimulatorSpec.parse("schema") == SimulatorSpec("schema", "schema")
    assert SimulatorSpec.parse("gtm=local:gtm-smollm2") == SimulatorSpec("gtm", "local", "gtm-smollm2")
    vllm = SimulatorSpec.parse("v=openai:gtm@http://127.0.0.1:8000/v1")
    assert (vllm.model, vllm.base_url) == ("gtm", "http://127.0.0.1:8000/v1")
    flags = vllm.serve_flags(["--timeout", "5"])
    assert flags[:6] == ["--backend", "openai", "--model", "gtm", "--base-url", "http://127.0.0.1:8000/v1"]
    assert flags.count("--timeout") == 1 and "--call-timeout" in flags  # the user's limit wins, ours fill in
    for bad, message in (("x=local", "needs a model"), ("x=openai:gtm", "@BASE_URL"), ("x=llama:m", "schema, local")):
        with pytest.raises(ValueError, match=message):
            SimulatorSpec.parse(bad)


def test_clashing_tool_definitions_are_played_in_groups_through_one_server(tmp_path: Path) -> None:
    retail = replay(5, "retail")
    booking = tau_task("airline", 0)  # the agent looks the user up first, then books
    airline = run_calls("airline", [("get_user_details", {"user_id": booking.user_id}),
                                    *((a.name, a.kwargs) for a in booking.actions)], "tau-airline-test-0")
    assert {"get_user_details"} <= {t.name for t in retail.tools} & {t.name for t in airline.tools}
    assert retail.tool("get_user_details") != airline.tool("get_user_details")
    groups = tool_groups([retail, airline, replay(6, "retail")])
    assert [[e.id for e in g] for g in groups] == [["tau-retail-test-5", "tau-retail-test-6"], ["tau-airline-test-0"]]

    result = evaluate(EvalOptions(episodes={"file": [retail, airline]}, simulators=[SimulatorSpec.parse("schema")],
                                  out=tmp_path / "eval", progress=False))
    samples = [json.loads(line) for line in (tmp_path / "eval" / "samples.jsonl").open()]
    assert len(samples) == len(retail.calls) + len(airline.calls)
    answers = [s["observed"]["value"] for s in samples]
    assert not [a for a in answers if isinstance(a, str) and a.startswith(("Unknown tool", "No result"))]
    airline_only = [s for s in samples if s["tool"] not in {t.name for t in retail.tools}]
    assert airline_only and all(not s["observed"]["is_error"] or s["reference"]["is_error"] for s in airline_only)
    assert result["servers"]["schema"]["backend"]["name"] == "schema"
    (row,) = result["fidelity"]
    assert row["calls"] == len(samples) and row["simulator_failures"] == 0
    # tau-bench's user lookups answer with a bare user id in text (the tool declares no output schema);
    # shape agreement follows what the simulator answered: text agrees, a JSON object would not
    lookup = next(s for s in samples if s["tool"].startswith("find_user_id"))
    assert lookup["reference"]["value"] == "mei_kovacs_8020"
    assert lookup["metrics"]["shape_agree"] is isinstance(lookup["observed"]["value"], str)


def test_episodes_with_tool_fields_from_a_newer_contract_are_read(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """A recorder on a newer contract may add tool fields (here `future_field`); the episodes stay
    readable, the unknown field is reported, and anything else malformed is still refused by line."""
    from training.data import ExportError, read_episodes

    episode = json.loads(replay(5).to_json_line())
    for tool in episode["tools"]:
        tool["future_field"] = "pydantic"
    path = tmp_path / "episodes.jsonl"
    path.write_text(json.dumps(episode) + "\n")
    (read,) = read_episodes(path)
    assert read.calls == replay(5).calls and "future_field" in caplog.text
    path.write_text(json.dumps(episode) + "\n" + json.dumps({**episode, "calls": "nope"}) + "\n")
    with pytest.raises(ExportError, match="line 2: calls"):
        read_episodes(path)


def test_cli_scores_an_export_split_and_an_episode_file_together(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from real_exports import write_export

    from training.evaluation.cli import main

    export = write_export(tmp_path / "export", [5, 6, 17], heldout_tasks=(5, 6))
    extra = tmp_path / "airline.jsonl"
    extra.write_text(replay(1, "airline").to_json_line() + "\n")
    out = tmp_path / "eval"
    assert main(["--data", str(export), "--split", "heldout", "--episodes", str(extra), "--limit", "1",
                 "--out", str(out), "-q"]) == 0
    rows = {r["split"]: r for r in json.loads((out / "summary.json").read_text())["fidelity"]}
    assert set(rows) == {"heldout", "airline"} and rows["airline"]["calls"] == len(replay(1, "airline").calls)
    assert rows["heldout"]["calls"] == len(replay(5).calls)  # --limit 1: one episode of the split
    assert "| schema | airline |" in capsys.readouterr().out
    assert main(["--split", "heldout", "--out", str(out)]) == 2
    assert main(["--data", str(export), "--sim", "x=openai:gtm", "--out", str(out)]) == 2
