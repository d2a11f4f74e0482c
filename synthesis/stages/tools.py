"""Stage 2: tool definitions per (field, subfield), written by the teacher in the contract's format.
A tool is rejected when its schemas are not valid JSON Schema, a required parameter is not declared,
or it says nothing about what it does (`synthesis.toolcheck`). Near duplicates (of each other and of
imported tools) and repeated names are removed by the `dedup` stage, which puts imported tools first.

Writes `generated_tools.jsonl` (tool lines, `source: carg:generated`, domains `Field/Subfield`)."""

from __future__ import annotations

from typing import Any

from synthesis import prompts
from synthesis.config import ToolsConfig
from synthesis.jsonl import read_jsonl
from synthesis.seeding import derive
from synthesis.stages.base import Batch, Item, Run, StageFiles, run_items, stage_stats, timed
from synthesis.teacher import json_object
from synthesis.toolcheck import tool_from_fields
from synthesis.toolfile import ToolEntry


async def run_tools(run: Run, cfg: ToolsConfig) -> dict[str, Any]:
    files = StageFiles(run, "generated_tools")
    taxonomy = list(read_jsonl(run.path("taxonomy.jsonl")))
    pairs = [(t["field"], s) for t in taxonomy for s in (t["subfields"] or [t["field"]])]
    teacher = run.teacher

    async def work(item: Item) -> Batch:
        field, subfield = item.payload
        reply = await teacher.complete(prompts.new_tools(field, subfield, cfg.per_subfield, ()), purpose="tools",
                                       schema=prompts.TOOLS_SCHEMA, schema_name="tools",
                                       seed=derive(run.seed, "tools", field, subfield))
        got = json_object(reply.text, truncated=reply.truncated, required=("tools",))["tools"]
        batch = Batch()
        if not isinstance(got, list) or not got:
            batch.rejected.append({"reason": "junk: no tools", "detail": reply.text[:300]})
            return batch
        for fields in got[:cfg.per_subfield * 2]:
            tool, problems = tool_from_fields(fields)
            name = fields.get("name") if isinstance(fields, dict) else None
            if tool is None:
                batch.rejected.append({"tool": str(name or "?"), "reason": "check: schema", "checks": {"schema": False},
                                       "detail": f"{problems[0][0]} {problems[0][1]}"})
                continue
            tool = tool.model_copy(update={"domains": (f"{field}/{subfield}",)})
            batch.accepted.append(ToolEntry(tool, "carg:generated").to_json())
        return batch

    async with timed() as clock:
        items = [Item(f"tools:{f}/{s}", "", (f, s)) for f, s in pairs]
        if run.limit:
            items = items[:run.limit]
        counts = await run_items(run, files, items, work, desc="tools")
    return stage_stats(files, seconds=clock[0], check_of=lambda r: {"schema": True},
                       extra={"this_run": dict(counts), "subfields": len(pairs)})
