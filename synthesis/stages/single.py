"""Stage 4: single-turn calls. For each tool the teacher writes (domain context, arguments, output);
each sample passes the three-level check (`synthesis.checks`) or is rejected. Tools whose pass rate
stays below `min_pass_rate` get `retry_rounds` more rounds with a refined prompt that names what
went wrong before. Pass rates per tool and per check land in `single.stats.json`."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from gtm_mcp.contract import CallRecord, EpisodeRecord, ToolDefinition
from synthesis import prompts
from synthesis.checks import concrete_check, judge, schema_check
from synthesis.config import SingleConfig
from synthesis.jsonl import read_jsonl
from synthesis.seeding import derive, rng_for
from synthesis.stages.base import Item, Run, StageFiles, run_items, stage_stats, timed
from synthesis.teacher import json_object
from synthesis.toolfile import ToolEntry


def _rates(files: StageFiles) -> tuple[dict[str, list[int]], dict[str, list[str]]]:
    """Per tool: [accepted, rejected], and the distinct reasons it was rejected for."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    reasons: dict[str, list[str]] = defaultdict(list)
    for record in read_jsonl(files.accepted):
        counts[record["calls"][0]["tool"]][0] += 1
    for record in read_jsonl(files.rejected):
        counts[record.get("tool", "")][1] += 1
        text = f"{record.get('reason')}: {record.get('detail', '')}".strip(": ")[:200]
        if text not in reasons[record.get("tool", "")]:
            reasons[record.get("tool", "")].append(text)
    return counts, reasons


async def run_single(run: Run, tools: list[ToolEntry], cfg: SingleConfig) -> dict[str, Any]:
    files = StageFiles(run, "single")
    by_name = {e.tool.name: e.tool for e in tools}
    teacher = run.teacher

    async def work(item: Item) -> str:
        tool: ToolDefinition = by_name[item.tool]
        round_, index, feedback = item.payload
        rng = rng_for(run.seed, "single", tool.name, round_, index)
        angle = rng.choice(prompts.ANGLES)
        reply = await teacher.complete(prompts.single_call(tool, angle, feedback), purpose="single",
                                       schema=prompts.sample_schema(tool), schema_name="call",
                                       seed=derive(run.seed, "single-teacher", tool.name, round_, index))
        sample = json_object(reply.text, truncated=reply.truncated, required=("context", "arguments", "output"))
        context = sample["context"] if isinstance(sample["context"], str) else ""
        checks: dict[str, bool] = {}
        output = schema_check(tool, sample["arguments"], sample["output"], checks, reply.text)
        concrete_check(sample["arguments"], output, checks, reply.text, context=context)
        if cfg.judge:
            await judge(teacher, tool, ("parameters", "coherence"), sample["arguments"], output, checks,
                        context=context, seed=derive(run.seed, "single-judge", tool.name, round_, index))
        hidden = context if rng.random() < cfg.hidden_context_share else None
        episode = EpisodeRecord(id=item.key, tools=[tool], hidden_context=hidden,
                                seed=derive(run.seed, item.key) % 2**31,
                                calls=[CallRecord(tool.name, sample["arguments"], output, False, "simulated")],
                                source="carg:single",
                                meta={"kind": "single", "context": context, "angle": angle, "round": round_,
                                      "checks": checks, "teacher": teacher.config.model})
        return episode.to_json_line()

    async with timed() as clock:
        names = [e.tool.name for e in tools]
        items = [Item(f"single:{n}:0:{k}", n, (0, k, ())) for n in names for k in range(cfg.samples_per_tool)]
        if run.limit:
            items = items[:run.limit]
        counts = await run_items(run, files, items, work, desc="single-turn")
        for round_ in range(1, cfg.retry_rounds + 1):
            rates, reasons = _rates(files)
            weak = [n for n in names if sum(rates[n]) and rates[n][0] / sum(rates[n]) < cfg.min_pass_rate]
            retry = [Item(f"single:{n}:{round_}:{k}", n, (round_, k, tuple(reasons[n][:5])))
                     for n in weak for k in range(cfg.samples_per_tool)]
            if not retry:
                break
            counts += await run_items(run, files, retry, work, desc=f"single-turn retry {round_}")
    return stage_stats(files, seconds=clock[0], extra={"this_run": dict(counts)})
