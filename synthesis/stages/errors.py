"""Stage 6: errors.

- Bad arguments: the four deterministic generators (`synthesis.errorgen`) turn valid arguments
  (from the tool's accepted single-turn samples, else made from its schema) into bad ones; each is
  kept only when the server's own argument check reports that error. The teacher writes the message
  the tool returns; it must name the parameter at fault (deterministic) and is judged for
  helpfulness.
- Semantic errors: valid arguments the world refuses (not found, conflict, out of range,
  forbidden): the teacher writes the world state (kept as the episode's hidden context, since it is
  what makes the call fail) and the message; judged for coherence and helpfulness.

Both become isError outputs (`Error: <message>` in the prompt format)."""

from __future__ import annotations

import re
from typing import Any

from gtm_mcp.contract import CallRecord, EpisodeRecord, ToolDefinition
from synthesis import prompts
from synthesis.checks import arguments_problem, is_placeholder, judge
from synthesis.config import ErrorsConfig
from synthesis.errorgen import bad_call
from synthesis.jsonl import read_jsonl
from synthesis.seeding import derive, rng_for
from synthesis.stages.base import Item, Rejected, Run, StageFiles, run_items, stage_stats, timed
from synthesis.teacher import json_object
from synthesis.toolfile import ToolEntry
from synthesis.values import sample_arguments

MAX_MESSAGE_CHARS = 600


def valid_arguments_by_tool(run: Run) -> dict[str, list[dict[str, Any]]]:
    """Accepted single-turn arguments per tool (realistic values written by the teacher)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for record in read_jsonl(run.path("single.jsonl")):
        call = record["calls"][0]
        found.setdefault(call["tool"], []).append(call["arguments"])
    return found


def mentions(message: str, parameter: str) -> bool:
    """Does the message name the parameter (as written, or with its words split)?"""
    leaf = parameter.split(".")[-1].split("[")[0]
    spaced = re.sub(r"(?<!^)(?=[A-Z])", " ", leaf).replace("_", " ").lower()
    low = message.lower()
    return leaf.lower() in low or spaced in low


def _message(answer: dict[str, Any], checks: dict[str, bool], text: str) -> str:
    message = answer.get("message")
    ok = isinstance(message, str) and 0 < len(message.strip()) <= MAX_MESSAGE_CHARS
    checks["schema"] = ok
    if not ok:
        raise Rejected("check: schema", "the message must be non-empty text of at most "
                       f"{MAX_MESSAGE_CHARS} characters", checks, text)
    message = message.strip().removeprefix("Error:").strip()
    if len(message.split()) < 3 or is_placeholder(message):
        checks["concrete"] = False
        raise Rejected("check: concrete", f"the message says nothing ({message[:60]!r})", checks, text)
    checks["concrete"] = True
    return message


async def run_errors(run: Run, tools: list[ToolEntry], cfg: ErrorsConfig) -> dict[str, Any]:
    files = StageFiles(run, "errors")
    teacher = run.teacher
    by_name = {e.tool.name: e.tool for e in tools}
    samples = valid_arguments_by_tool(run)
    not_applicable: dict[str, int] = {}

    def valid_for(tool: ToolDefinition, index: int, *parts: object) -> tuple[dict[str, Any] | None, str]:
        known = [a for a in samples.get(tool.name, []) if arguments_problem(tool, a) is None]
        if known:
            return known[index % len(known)], "single-turn sample"
        return sample_arguments(tool, rng_for(run.seed, "errors-args", tool.name, *parts)), "schema"

    # The deterministic part decides which items exist: generated once, up front.
    items: list[Item] = []
    for name, tool in by_name.items():
        for kind in cfg.kinds:
            for i in range(cfg.per_kind):
                valid, origin = valid_for(tool, i, kind, i)
                rng = rng_for(run.seed, "errors", name, kind, i)
                bad = bad_call(kind, tool, valid, rng) if valid is not None else None
                if bad is None:
                    not_applicable[kind] = not_applicable.get(kind, 0) + 1
                    continue
                items.append(Item(f"error:{name}:{kind}:{i}", name, ("bad", bad, origin)))
        for i in range(cfg.semantic_per_tool):
            valid, origin = valid_for(tool, i + 1, "semantic", i)
            if valid is None:
                not_applicable["semantic"] = not_applicable.get("semantic", 0) + 1
                continue
            kind = rng_for(run.seed, "semantic-kind", name, i).choice(sorted(prompts.SEMANTIC_KINDS))
            items.append(Item(f"error:{name}:semantic:{i}", name, ("semantic", (kind, valid), origin)))
    if run.limit:
        items = items[:run.limit]

    async def work(item: Item) -> str:
        tool = by_name[item.tool]
        what, detail, origin = item.payload
        checks: dict[str, bool] = {}
        seed = derive(run.seed, "errors-teacher", item.key)
        if what == "bad":
            problem = "; ".join(p.message for p in detail.problems)
            reply = await teacher.complete(prompts.bad_arguments_message(tool, detail.arguments, problem),
                                           purpose="errors", schema=prompts.MESSAGE_SCHEMA, schema_name="error",
                                           seed=seed)
            message = _message(json_object(reply.text, truncated=reply.truncated, required=("message",)),
                               checks, reply.text)
            checks["names_parameter"] = mentions(message, detail.parameter)
            if not checks["names_parameter"]:
                raise Rejected("check: names_parameter", f"the message does not name '{detail.parameter}'",
                               checks, reply.text)
            arguments, hidden, context = detail.arguments, None, None
            meta = {"kind": "error", "error_kind": detail.kind, "parameter": detail.parameter,
                    "server_check": [p.message for p in detail.problems]}
            judged = ("helpfulness",)
        else:
            kind, arguments = detail
            reply = await teacher.complete(prompts.semantic_error(tool, arguments, kind), purpose="errors",
                                           schema=prompts.SEMANTIC_SCHEMA, schema_name="error", seed=seed)
            answer = json_object(reply.text, truncated=reply.truncated, required=("context", "message"))
            message = _message(answer, checks, reply.text)
            context = answer["context"] if isinstance(answer["context"], str) and answer["context"].strip() else None
            if context is None:
                checks["schema"] = False
                raise Rejected("check: schema", "the world state (context) is empty", checks, reply.text)
            if len(re.findall(r"\w+", context)) < 3:  # ", " or "N/A": no world state a model could learn from
                checks["concrete"] = False
                raise Rejected("check: concrete", f"the world state says nothing ({context[:60]!r})", checks,
                               reply.text)
            hidden = context
            meta = {"kind": "error", "error_kind": f"semantic:{kind}", "context": context}
            judged = ("coherence", "helpfulness")
        if cfg.judge:
            await judge(teacher, tool, judged, arguments, message, checks, context=context, is_error=True,
                        seed=derive(run.seed, "errors-judge", item.key))
        meta.update(checks=checks, arguments_from=origin, teacher=teacher.config.model)
        episode = EpisodeRecord(id=item.key, tools=[tool], hidden_context=hidden,
                                seed=derive(run.seed, item.key) % 2**31,
                                calls=[CallRecord(tool.name, arguments, message, True, "simulated")],
                                source="carg:error", meta=meta)
        return episode.to_json_line()

    async with timed() as clock:
        counts = await run_items(run, files, items, work, desc="errors")
    return stage_stats(files, seconds=clock[0], extra={"this_run": dict(counts), "not_applicable": not_applicable,
                                                      "planned": len(items)})
