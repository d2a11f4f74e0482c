"""Stage 5: multi-turn episodes over groups of related tools. Every tool is embedded; groups grow
greedily from random seed tools (`synthesis.grouping`, coherence kept, never across export splits);
the teacher writes episodes in which values returned earlier flow into later calls and later outputs
stay consistent; every call passes check (a), at least one value must flow from an earlier output
into a later call, and the judge checks the last call ((b), (c) and consistency with the history)."""

from __future__ import annotations

from typing import Any

from gtm_mcp.contract import CallRecord, EpisodeRecord
from synthesis import prompts
from synthesis.checks import concrete_check, judge, schema_check
from synthesis.config import MultiConfig
from synthesis.flow import flowed_values
from synthesis.grouping import greedy_groups
from synthesis.jsonl import write_jsonl
from synthesis.seeding import derive, rng_for
from synthesis.splits import tool_split
from synthesis.stages.base import Item, Rejected, Run, StageFiles, run_items, stage_stats, timed
from synthesis.teacher import json_object
from synthesis.toolfile import ToolEntry


async def run_multi(run: Run, tools: list[ToolEntry], cfg: MultiConfig, shares: dict[str, float]) -> dict[str, Any]:
    files = StageFiles(run, "multi")
    teacher = run.teacher
    defs = [e.tool for e in tools]
    async with timed() as clock:
        import anyio

        vectors = await anyio.to_thread.run_sync(run.embedder.embed_tools, defs)
        labels = [tool_split(t.name, run.seed, shares) for t in defs]
        groups = await anyio.to_thread.run_sync(lambda: greedy_groups(
            vectors, rng_for(run.seed, "groups"), groups=cfg.groups, size=cfg.group_size,
            threshold=cfg.relevance_threshold, labels=labels))
        write_jsonl(run.path("groups.jsonl"), ({"id": f"group:{i}", "tools": [defs[m].name for m in g.members],
                                                "coherence": round(g.coherence, 4), "split": labels[g.members[0]]}
                                               for i, g in enumerate(groups)))

        async def work(item: Item) -> str:
            index, e = item.payload
            group = groups[index]
            members = [defs[m] for m in group.members]
            by_name = {t.name: t for t in members}
            rng = rng_for(run.seed, "multi", index, e)
            calls_wanted = rng.randint(*cfg.calls)
            angle = rng.choice(prompts.ANGLES)
            reply = await teacher.complete(prompts.episode(members, calls_wanted, angle), purpose="multi",
                                           schema=prompts.episode_schema(members), schema_name="episode",
                                           seed=derive(run.seed, "multi-teacher", index, e))
            answer = json_object(reply.text, truncated=reply.truncated, required=("context", "calls"))
            context = answer["context"] if isinstance(answer["context"], str) else ""
            raw_calls = answer["calls"] if isinstance(answer["calls"], list) else []
            checks: dict[str, bool] = {}
            if len(raw_calls) < 2 or not all(isinstance(c, dict) and c.get("tool") in by_name for c in raw_calls):
                checks["schema"] = False
                raise Rejected("check: schema", "an episode needs 2+ calls of the group's tools", checks, reply.text)
            calls: list[CallRecord] = []
            for call in raw_calls:
                tool = by_name[call["tool"]]
                output = schema_check(tool, call.get("arguments"), call.get("output"), checks, reply.text)
                calls.append(CallRecord(tool.name, call["arguments"], output, False, "simulated"))
            for index, call in enumerate(calls):
                concrete_check(call.arguments, call.result, checks, reply.text, context=context if index == 0 else None)
            flows = flowed_values([c.to_json() for c in calls])
            checks["flow"] = bool(flows)
            if not flows:
                raise Rejected("check: flow", "no value returned by an earlier call is used by a later one",
                               checks, reply.text)
            if cfg.judge:
                last = calls[-1]
                await judge(teacher, by_name[last.tool], ("parameters", "coherence", "consistency"), last.arguments,
                            last.result, checks, context=context, history=[c.to_json() for c in calls[:-1]],
                            seed=derive(run.seed, "multi-judge", index, e))
            used = [t for t in members if any(c.tool == t.name for c in calls)]
            hidden = context if rng.random() < cfg.hidden_context_share else None
            episode = EpisodeRecord(
                id=item.key, tools=used, calls=calls, hidden_context=hidden, seed=derive(run.seed, item.key) % 2**31,
                source="carg:multi",
                meta={"kind": "multi", "context": context, "group": [t.name for t in members],
                      "coherence": round(group.coherence, 4), "flows": len(flows), "checks": checks,
                      "teacher": teacher.config.model})
            return episode.to_json_line()

        items = [Item(f"multi:{i}:{e}", "", (i, e)) for i in range(len(groups)) for e in range(cfg.episodes_per_group)]
        if run.limit:
            items = items[:run.limit]
        counts = await run_items(run, files, items, work, desc="multi-turn")
    coherence = [g.coherence for g in groups]
    return stage_stats(files, seconds=clock[0], extra={
        "this_run": dict(counts), "groups": len(groups),
        "group_sizes": {str(n): sum(len(g.members) == n for g in groups) for n in range(cfg.group_size[0],
                                                                                     cfg.group_size[1] + 1)},
        "coherence_mean": round(sum(coherence) / len(coherence), 4) if coherence else None,
        "groups_file": str(run.path("groups.jsonl"))})
