"""Stages 1 (taxonomy) and 2 (tools) and the dedup after them, against a real OpenAI-compatible HTTP
endpoint scripted to answer one fixed JSON (the backends' `FakeEndpoint`: a real model cannot be made
to repeat a near-duplicate field or write a broken tool on demand). Names are merged with the
packaged embedding model; broken tools are rejected with the reason; repeated names are dropped."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
from synth_data import FakeEndpoint, seal_sample

from synthesis.config import DedupConfig, RunConfig, TaxonomyConfig, TeacherConfig, ToolsConfig
from synthesis.stages.base import Run
from synthesis.stages.dedup import run_dedup
from synthesis.stages.taxonomy import run_taxonomy
from synthesis.stages.tools import run_tools
from synthesis.toolfile import ToolEntry, read_tools, write_tools

GOOD = {"name": "get_forecast", "description": "Get the weather forecast for a city and a day.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
                                                          "day": {"type": "string", "format": "date"}},
                         "required": ["city"]},
        "output_schema": {"type": "object", "properties": {"summary": {"type": "string"},
                                                           "high_c": {"type": "number"}},
                          "required": ["summary", "high_c"]}}
UNDECLARED = {**GOOD, "name": "get_alerts", "input_schema": {**GOOD["input_schema"], "required": ["region"]}}
BROKEN = {**GOOD, "name": "get_radar", "input_schema": {"type": "object", "properties": {"zoom": {"type": "huge"}}}}
ANSWER = json.dumps({"fields": ["Weather", "Sport", "Logistics", "1. Space Travel"],
                     "subfields": ["Forecasts", "Alerts"], "tools": [GOOD, UNDECLARED, BROKEN]})


def test_taxonomy_tools_and_dedup(tmp_path: Path) -> None:
    with FakeEndpoint(ANSWER) as endpoint:
        config = RunConfig(seed=2, out=str(tmp_path / "run"), teacher=TeacherConfig(
            base_url=endpoint.url, model="ok", cache_dir=str(tmp_path / "cache")))
        run = Run(config, progress=False)

        async def go() -> tuple[dict, dict, dict]:
            try:
                taxonomy = await run_taxonomy(run, TaxonomyConfig(seed_fields=["Sports", "Finance"], target_fields=5,
                                                                  subfields_per_field=2, per_request=4))
                tools = await run_tools(run, ToolsConfig(per_subfield=3))
                imported = tmp_path / "run" / "imported_tools.jsonl"
                write_tools(imported, [ToolEntry(t, "import:seal-tools") for t in seal_sample()[:40]])
                dedup = await run_dedup(run, DedupConfig(), [imported, tmp_path / "run" / "generated_tools.jsonl"])
                return taxonomy, tools, dedup
            finally:
                await run.close()

        taxonomy, tools, dedup = anyio.run(go)
    fields = [json.loads(x) for x in (tmp_path / "run" / "taxonomy.jsonl").read_text().splitlines()]
    names = [f["field"] for f in fields]
    assert names == ["Sports", "Finance", "Weather", "Logistics", "Space Travel"]  # "Sport" merged, "1. " cleaned
    assert taxonomy["merged_examples"] == {"Sport": "Sports"}
    assert [f["origin"] for f in fields] == ["seed", "seed", "teacher", "teacher", "teacher"]
    assert all(f["subfields"] == ["Forecasts", "Alerts"] for f in fields)
    # one request per subfield; each wrote one usable tool and two that are refused with their reason
    assert tools["accepted"] == 10 and tools["rejected"] == 20
    assert tools["rejections"] == {"check: schema": 20}
    rejected = [json.loads(x) for x in (tmp_path / "run" / "generated_tools.rejected.jsonl").read_text().splitlines()]
    assert any("region" in r["detail"] for r in rejected) and any("huge" in r["detail"] for r in rejected)
    generated = read_tools([tmp_path / "run" / "generated_tools.jsonl"])
    assert generated[0].tool.domains == ("Sports/Forecasts",) and generated[0].source == "carg:generated"
    # dedup: imported tools come first and win; the repeated generated name is kept once
    kept = read_tools([tmp_path / "run" / "tools.jsonl"])
    assert dedup["tools_in"] == 50 and dedup["same_name"] == 9
    assert [k.tool.name for k in kept].count("get_forecast") == 1
    imported = {t.name for t in seal_sample()[:40]}
    assert all(pair["kept"] in imported for pair in dedup["examples"])  # a near twin never displaces an import
    assert sum(k.source == "import:seal-tools" for k in kept) == 40 - dedup["near_duplicates"]
