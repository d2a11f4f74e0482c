"""Loading tool definitions from files and directories (.json, .jsonl, .yaml) in any supported format."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from gtm_mcp.contract.definition import Origin, OriginKind, ToolDefinition, checked
from gtm_mcp.contract.errors import ToolLoadError, ToolProblem
from gtm_mcp.contract.surface import SurfaceDefinitions
from gtm_mcp.tools import formats
from gtm_mcp.tools.schema_loops import same_value_loop
from gtm_mcp.tools.surface_formats import has_surface, parse_surface

SUFFIXES = (".json", ".jsonl", ".ndjson", ".yaml", ".yml")
Namespace = Literal["auto", "always", "never"]


def _read_document(path: Path) -> tuple[Any, list[int] | None]:
    """The parsed document, and for JSON Lines the line number of each record."""
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".jsonl", ".ndjson"):
        records, lines = [], []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise _ParseError(f"{path}:{number}", f"invalid JSON at column {e.colno}: {e.msg}") from None
                lines.append(number)
        return records, lines
    if path.suffix in (".yaml", ".yml"):
        try:
            return yaml.safe_load(text), None
        except yaml.YAMLError as e:
            raise _ParseError(str(path), f"invalid YAML: {e}") from None
    try:
        return json.loads(text), None
    except json.JSONDecodeError as e:
        raise _ParseError(str(path), f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None


def read_document(path: str | Path) -> Any:
    """One file's parsed document (JSON, YAML, JSON Lines as a list of records); ValueError naming
    the file (and line) when it does not parse."""
    try:
        return _read_document(Path(path))[0]
    except _ParseError as e:
        raise ValueError(f"{e.where}: {e.message}") from None


class _ParseError(Exception):
    def __init__(self, where: str, message: str) -> None:
        self.where, self.message = where, message


def _locate(lines: list[int] | None, pointer: str) -> tuple[int | None, str]:
    """For JSON Lines, the line of the record a pointer starts in, and the pointer inside that record."""
    if lines is None:
        return None, pointer
    match = re.match(r"^/(\d+)(.*)$", pointer)
    if not match or int(match.group(1)) >= len(lines):
        return None, pointer
    return lines[int(match.group(1))], match.group(2)


def parse_document(doc: Any, file: str, fmt: str | None = None, lines: list[int] | None = None, *,
                   kind: OriginKind = "file") -> tuple[list[ToolDefinition], list[ToolProblem]]:
    """Tools and problems of one parsed document (format detected unless `fmt` names it). Each tool's
    `origin` names `file` (a path, or a label such as `admin`), the JSON Lines line and the pointer."""
    module = formats.by_name(fmt) if fmt else formats.detect(doc)
    if module is None:
        if has_surface(doc):  # resources / prompts only (gtm_mcp.tools.surface_formats reads them)
            return [], []
        return [], [ToolProblem(file, None, "", "no tool definitions recognised; supported formats: "
                                + ", ".join(formats.format_names()))]
    tools: list[ToolDefinition] = []
    problems: list[ToolProblem] = []
    for entry in module.entries(doc):
        line, pointer = _locate(lines, entry.pointer)
        origin = Origin(kind=kind, file=file, line=line, pointer=pointer)
        where = origin.location
        if entry.problem is not None:
            _, at = _locate(lines, entry.problem_pointer or entry.pointer)
            problems.append(ToolProblem(where, entry.name, at, entry.problem))
            continue
        try:
            tool = ToolDefinition(**entry.fields, origin=origin)
        except ValidationError as e:
            for err in e.errors():
                field = err["loc"][0] if err["loc"] else ""
                sub = {"input_schema": "inputSchema", "output_schema": "outputSchema",
                       "check_profile": "_meta/gtm-mcp~1check-profile"}.get(str(field), field)
                if module.NAME in ("mcp", "livemcpbench"):
                    field = sub
                problems.append(ToolProblem(where, entry.name, f"{pointer}/{field}".rstrip("/"),
                                            err["msg"].removeprefix("Value error, ")))
            continue
        found = checked(tool, where, pointer) or _loops(tool, where, pointer)
        if found:
            if module.NAME in ("mcp", "livemcpbench"):
                found = [ToolProblem(p.file, p.tool, p.pointer.replace("/input_schema", "/inputSchema", 1)
                                     .replace("/output_schema", "/outputSchema", 1), p.message) for p in found]
            problems.extend(found)
            continue
        tools.append(tool)
    return tools, problems


def _loops(tool: ToolDefinition, where: str, pointer: str) -> list[ToolProblem]:
    """A `$ref` loop that never reads deeper into the value makes every check of the tool's
    arguments (or outputs) run in circles: refused here, at load time, never met at call time."""
    problems = []
    for field, schema in (("input_schema", tool.input_schema), ("output_schema", tool.output_schema)):
        if schema is not None and (loop := same_value_loop(schema)) is not None:
            problems.append(ToolProblem(where, tool.name, f"{pointer}/{field}{loop.rstrip('/')}",
                                        "this $ref loop never reads deeper into the value (it goes only through "
                                        "$ref, allOf, anyOf, oneOf, not or if/then/else), so no value could ever be "
                                        "checked against it"))
    return problems


def files_under(paths: Iterable[str | Path]) -> tuple[list[Path], list[ToolProblem]]:
    """Tool files named or found (recursively) under directories, sorted for a stable order."""
    found: list[Path] = []
    problems: list[ToolProblem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES))
        elif path.is_file():
            found.append(path)
        else:
            problems.append(ToolProblem(str(path), None, "", "no such file or directory"))
    return found, problems


def load_lenient(paths: Iterable[str | Path], *, fmt: str | None = None,
                 namespace: Namespace = "auto") -> tuple[list[ToolDefinition], list[ToolProblem]]:
    """Every usable tool under `paths`, and every problem found (nothing raised for bad tools)."""
    tools, _, problems = load_all(paths, fmt=fmt, namespace=namespace)
    return tools, problems


def load_all(paths: Iterable[str | Path], *, fmt: str | None = None, namespace: Namespace = "auto"
             ) -> tuple[list[ToolDefinition], SurfaceDefinitions, list[ToolProblem]]:
    """Every usable tool, resource, resource template and prompt under `paths`, and every problem
    found in any of them (nothing raised for bad definitions)."""
    files, problems = files_under(paths)
    tools: list[ToolDefinition] = []
    surface = SurfaceDefinitions()
    for path in files:
        try:
            doc, lines = _read_document(path)
        except _ParseError as e:
            problems.append(ToolProblem(e.where, None, "", e.message))
            continue
        except (OSError, UnicodeDecodeError) as e:
            problems.append(ToolProblem(str(path), None, "", f"cannot read: {e}"))
            continue
        got, bad = parse_document(doc, str(path), fmt, lines)
        tools.extend(got)
        problems.extend(bad)
        if lines is None:  # JSON Lines files hold tools only
            more, bad = parse_surface(doc, str(path))
            surface.extend(more)
            problems.extend(bad)
    unique, clashes = resolve_names(tools, namespace)
    return unique, surface, problems + clashes


def load_tools(paths: Iterable[str | Path], *, fmt: str | None = None,
               namespace: Namespace = "auto") -> list[ToolDefinition]:
    """Every tool under `paths`; raises `ToolLoadError` listing all problems if there is any."""
    tools, problems = load_lenient(paths, fmt=fmt, namespace=namespace)
    if problems:
        raise ToolLoadError(problems)
    return tools


def qualified(tool: ToolDefinition) -> ToolDefinition:
    server = re.sub(r"[^A-Za-z0-9_-]+", "_", tool.server or "").strip("_")
    name = f"{server}__{tool.name}"[:128] if server else tool.name
    return tool.model_copy(update={"name": name})


def resolve_names(tools: list[ToolDefinition],
                  namespace: Namespace) -> tuple[list[ToolDefinition], list[ToolProblem]]:
    """Drop exact repeats; tools sharing a name but differing are qualified `server__name` (policy
    `auto`, when each has a server) or refused. `always` qualifies every tool that has a server."""
    if namespace == "always":
        tools = [qualified(t) for t in tools]
    by_name: dict[str, list[ToolDefinition]] = {}
    for tool in tools:
        group = by_name.setdefault(tool.name, [])
        for i, known in enumerate(group):
            # The same API observed twice (StableToolBench repeats APIs across queries, sometimes with
            # another parameter list): keep the first observation, merge the domain labels.
            if known.identity() == tool.identity() or (known.server and known.server == tool.server):
                merged = tuple(dict.fromkeys(known.domains + tool.domains))
                if merged != known.domains:
                    group[i] = known.model_copy(update={"domains": merged})
                break
        else:
            group.append(tool)
    result: list[ToolDefinition] = []
    problems: list[ToolProblem] = []
    for name, group in by_name.items():
        if len(group) == 1:
            result.append(group[0])
        elif namespace == "auto" and all(t.server for t in group) and len({t.server for t in group}) == len(group):
            result.extend(qualified(t) for t in group)
        else:
            first = group[0]
            for other in group[1:]:
                file, pointer = _where(other)
                problems.append(ToolProblem(file, name, pointer, f"duplicate tool name: {name!r} is also defined "
                                            f"at {first.source}; rename one (or load with namespacing)"))
            result.append(first)
    taken: set[str] = set()
    unique: list[ToolDefinition] = []
    for tool in result:
        if tool.name in taken:
            file, pointer = _where(tool)
            problems.append(ToolProblem(file, tool.name, pointer, "duplicate tool name after namespacing"))
            continue
        taken.add(tool.name)
        unique.append(tool)
    return unique, problems


def _where(tool: ToolDefinition) -> tuple[str, str]:
    """(file with line, pointer) of a tool's origin, for problems."""
    origin = tool.origin or Origin(kind="code")
    return origin.location, origin.pointer
