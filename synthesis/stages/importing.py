"""Stage 3: import existing tool sets through the server's importers (MCP dumps, OpenAI functions,
Seal-Tools, StableToolBench, LiveMCPBench, the toolsdk registry, GTM files; `mcp:<URL or command>`
mirrors a live server), then let the teacher fill what they lack: a JSON type for untyped
parameters, and an output schema (or the decision that the tool answers in text). A fill that does
not give a usable definition is rejected and the tool is kept as it was imported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gtm_mcp.contract import ToolDefinition
from gtm_mcp.tools.loader import files_under, load_lenient, resolve_names
from synthesis import prompts
from synthesis.config import ImportConfig, expand_path
from synthesis.jsonl import JsonlWriter, read_jsonl
from synthesis.seeding import derive, rng_for
from synthesis.stages.base import Run, StageFiles, bar, stage_stats, timed
from synthesis.teacher import Junk, TeacherUnavailable, json_object
from synthesis.toolcheck import tool_problems
from synthesis.toolfile import ToolEntry

JSON_TYPES = {"string", "integer", "number", "boolean", "array", "object", "null"}


def source_label(tool: ToolDefinition) -> str:
    origin = tool.origin
    if origin is None:
        return "import"
    if origin.kind == "mirror":
        return f"import:{origin.file}"
    path = Path(origin.file)
    return f"import:{path.parent.name or path.stem}"


async def load_sources(sources: list[str], fmt: str | None) -> tuple[list[ToolDefinition], list[str]]:
    """Every usable tool of the sources (names made unique as the server does), and the problems."""
    from gtm_mcp.tools.mirror import mirror_tools

    tools: list[ToolDefinition] = []
    problems: list[str] = []
    for source in sources:
        source = expand_path(source) if not source.startswith("mcp:") else source
        if source.startswith("mcp:"):
            try:
                tools += await mirror_tools(source[4:])
            except Exception as e:  # a live server that cannot be reached: say so, import the rest
                problems.append(f"{source}: {e}")
            continue
        files, missing = files_under([source])
        problems += [str(p) for p in missing]
        got, bad = load_lenient(files, fmt=fmt)
        tools += got
        problems += [str(p) for p in bad]
    unique, clashes = resolve_names(tools, "auto")
    return unique, problems + [str(p) for p in clashes]


def untyped_parameters(tool: ToolDefinition) -> list[str]:
    props = tool.input_schema.get("properties")
    if not isinstance(props, dict):
        return []
    return [k for k, v in props.items() if isinstance(v, dict) and not any(
        key in v for key in ("type", "anyOf", "oneOf", "allOf", "$ref", "enum", "const"))]


async def fill(run: Run, tool: ToolDefinition) -> tuple[ToolDefinition, list[str], dict[str, str]]:
    """The tool with what the teacher filled, what was filled, and why a fill was refused (by part)."""
    teacher = run.teacher
    filled: list[str] = []
    refused: dict[str, str] = {}
    untyped = untyped_parameters(tool)
    if untyped:
        reply = await teacher.complete(prompts.fill_types(tool, untyped), purpose="fill", schema=prompts.TYPES_SCHEMA,
                                       schema_name="types", seed=derive(run.seed, "fill-types", tool.name))
        try:
            types = json_object(reply.text, truncated=reply.truncated, required=("types",))["types"]
            if not isinstance(types, dict):
                raise Junk("types is not an object")
            props = dict(tool.input_schema["properties"])
            for name in untyped:
                kind = types.get(name)
                if kind not in JSON_TYPES:
                    raise Junk("not a JSON type", f"{name}: {kind!r}")
                props[name] = {**props[name], "type": kind}
            candidate = tool.model_copy(update={"input_schema": {**tool.input_schema, "properties": props}})
            if tool_problems(candidate, need_description=False):
                raise Junk("unusable schema", str(tool_problems(candidate, need_description=False)[:2]))
            tool = ToolDefinition(**candidate.model_dump(exclude={"origin"}), origin=tool.origin)
            filled.append("types")
        except Junk as e:
            refused["types"] = f"junk: {e.reason}"
    if tool.output_schema is None:
        reply = await teacher.complete(prompts.fill_output_schema(tool), purpose="fill",
                                       schema=prompts.OUTPUT_SCHEMA_SCHEMA, schema_name="output",
                                       seed=derive(run.seed, "fill-output", tool.name))
        try:
            answer = json_object(reply.text, truncated=reply.truncated, required=("answers_in_text",))
            if answer["answers_in_text"] is True:
                filled.append("output:text")
            else:
                schema = answer.get("output_schema")
                if not isinstance(schema, dict) or not schema.get("properties"):
                    raise Junk("no output schema", str(schema)[:200])
                candidate = ToolDefinition(**{**tool.model_dump(exclude={"origin"}), "output_schema": schema},
                                           origin=tool.origin)
                problems = tool_problems(candidate, need_description=False)
                if problems:
                    raise Junk("unusable output schema", f"{problems[0][0]}: {problems[0][1]}")
                tool = candidate
                filled.append("output_schema")
        except Junk as e:
            refused["output_schema"] = f"junk: {e.reason}"
        except ValueError as e:  # pydantic: a schema the definition refuses
            refused["output_schema"] = f"junk: unusable output schema ({str(e)[:120]})"
    return tool, filled, refused


async def run_import(run: Run, cfg: ImportConfig, *, use_teacher: bool = True) -> dict[str, Any]:
    """Writes `imported_tools.jsonl`: the tools (a seeded sample of `limit`), filled where asked."""
    import anyio

    files = StageFiles(run, "imported_tools")
    async with timed() as clock:
        tools, problems = await load_sources(cfg.sources, cfg.format)
        loaded = len(tools)
        if cfg.limit and len(tools) > cfg.limit:
            keep = set(rng_for(run.seed, "import-sample").sample(range(len(tools)), cfg.limit))
            tools = [t for i, t in enumerate(tools) if i in keep]
        done = {r["name"] for r in read_jsonl(files.accepted)}
        todo = [t for t in tools if t.name not in done]
        refusals: dict[str, int] = {}
        with JsonlWriter(files.accepted) as out, JsonlWriter(files.rejected) as rejected, \
                bar(len(todo), "import", run.progress) as progress:
            queue = iter(todo)

            async def worker() -> None:
                for tool in queue:
                    filled: list[str] = []
                    if cfg.fill and use_teacher:
                        try:
                            tool, filled, refused = await fill(run, tool)
                        except TeacherUnavailable as e:  # keep the tool unfilled; a later run fills it
                            refused = {"teacher": str(e)[:200]}
                        for part, why in refused.items():
                            refusals[why] = refusals.get(why, 0) + 1
                            rejected.write({"id": f"fill:{tool.name}:{part}", "tool": tool.name,
                                            "reason": why, "checks": {}})
                    out.write(ToolEntry(tool, source_label(tool), filled).to_json())
                    progress.update(1)

            async with anyio.create_task_group() as tg:
                for _ in range(max(1, min(run.config.teacher.concurrency, len(todo)))):
                    tg.start_soon(worker)
    entries = list(read_jsonl(files.accepted))
    filled_counts: dict[str, int] = {}
    for e in entries:
        for part in e.get("filled") or []:
            filled_counts[part] = filled_counts.get(part, 0) + 1
    return stage_stats(files, seconds=clock[0], check_of=lambda r: {}, extra={
        "loaded": loaded, "refused_at_load": len(problems), "load_problems": problems[:20],
        "sampled": len(tools), "filled": filled_counts, "fill_rejections": refusals,
        "with_output_schema": sum("output_schema" in e for e in entries),
        # the rejections file holds refused fills, not refused tools: the pass rate is the fills'
        "pass_rate": round(sum(filled_counts.values()) / (sum(filled_counts.values()) + sum(refusals.values())), 4)
        if filled_counts or refusals else None})
