"""Loading the real and simulated tool sets with the project's importers, and deduplicating them."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coverage_analysis import CoverageInputError
from gtm_mcp.tools import ToolDefinition, ToolProblem, load_lenient

REAL, SIMULATED, PROBE = "real", "simulated", "probe"


@dataclass(frozen=True)
class Tool:
    """One tool as the analysis sees it: the text that is embedded, and what is shown for it."""

    kind: str  # "real" | "simulated" | "probe"
    name: str  # the tool's own name (namespace qualification removed)
    description: str
    server: str | None = None
    domain: str | None = None
    source: str | None = None

    @property
    def text(self) -> str:
        """What is embedded: the name in words, then the description."""
        return f"{readable_name(self.name)}: {self.description}".strip().rstrip(":")

    @property
    def key(self) -> str:
        """Deduplication key: the embedded text, case- and whitespace-folded."""
        return " ".join(self.text.lower().split())


@dataclass
class ToolSet:
    """The tools of one side after deduplication, with what was dropped and why."""

    kind: str
    tools: list[Tool]
    loaded: int  # tools the importers returned
    duplicates: int  # dropped because their (normalised name + description) text repeated
    sampled_out: int = 0  # dropped by --max-tools sampling
    problems: list[ToolProblem] = field(default_factory=list)  # skipped broken definitions
    files: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"loaded": self.loaded, "duplicates_dropped": self.duplicates, "sampled_out": self.sampled_out,
                "analysed": len(self.tools), "problems_skipped": len(self.problems)}


def readable_name(name: str) -> str:
    """`get_weatherForecast` → `get weather Forecast`: names in words so that they embed like text."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return " ".join(re.split(r"[\s_\-./:]+", name)).strip()


def own_name(tool: ToolDefinition) -> str:
    """The name without the `server__` qualification `load_lenient(namespace="auto")` may add."""
    if tool.server:
        prefix = re.sub(r"[^A-Za-z0-9_-]+", "_", tool.server).strip("_") + "__"
        if tool.name.startswith(prefix) and len(tool.name) > len(prefix):
            return tool.name[len(prefix):]
    return tool.name


def from_definition(tool: ToolDefinition, kind: str) -> Tool:
    return Tool(kind=kind, name=own_name(tool), description=" ".join(tool.description.split()),
                server=tool.server, domain=tool.domains[0] if tool.domains else None, source=tool.source)


def _is_name_clash(problem: ToolProblem) -> bool:
    # Name clashes between tools are not a problem for coverage: tools are deduplicated by text here.
    return problem.message.startswith("duplicate tool name")


def load_side(paths: Sequence[str | Path], kind: str, *, strict: bool = False) -> ToolSet:
    """Load every tool under `paths` and deduplicate by normalised name + description.

    Missing paths, unreadable or unparsable files and files with no recognisable tools raise
    `CoverageInputError`. Broken definitions inside otherwise good files are skipped and returned in
    `problems` (the CLI prints them as warnings), unless `strict`, where they raise too.
    """
    if not paths:
        raise CoverageInputError(f"no {kind} tool files given")
    loaded: list[ToolDefinition] = []
    problems: list[ToolProblem] = []
    files: list[str] = []
    for path in paths:
        p = Path(path)
        if not p.exists():
            raise CoverageInputError(f"{p}: no such file or directory (given as a {kind} tool source)")
        tools, found = load_lenient([p], namespace="auto")
        found = [f for f in found if not _is_name_clash(f)]
        # Problems of a whole file (unreadable, bad JSON, unknown format) have no tool and no pointer.
        fatal = [f for f in found if f.tool is None and not f.pointer and not re.search(r":\d+$", f.file)]
        if fatal or not tools:
            shown = "\n  ".join(str(f) for f in (fatal or found)[:10])
            reason = shown if (fatal or found) else "no tool definitions found"
            raise CoverageInputError(f"{p}: cannot use it as a {kind} tool source:\n  {reason}")
        if found and strict:
            shown = "\n  ".join(str(f) for f in found[:20])
            more = f"\n  ... and {len(found) - 20} more" if len(found) > 20 else ""
            raise CoverageInputError(f"{p}: {len(found)} broken tool definition(s) (--strict):\n  {shown}{more}")
        loaded.extend(tools)
        problems.extend(found)
        files.append(str(p))
    seen: set[str] = set()
    unique: list[Tool] = []
    for definition in loaded:
        tool = from_definition(definition, kind)
        if tool.key not in seen:
            seen.add(tool.key)
            unique.append(tool)
    return ToolSet(kind=kind, tools=unique, loaded=len(loaded), duplicates=len(loaded) - len(unique),
                   problems=problems, files=files)


def parse_probe(spec: str) -> Tool:
    """`NAME=DESCRIPTION` → a probe tool to place on the map."""
    name, sep, description = spec.partition("=")
    if not sep or not name.strip() or not description.strip():
        raise CoverageInputError(f"--probe {spec!r}: expected NAME=DESCRIPTION, e.g. "
                                 "'web_search=Search the web for pages matching a query'")
    return Tool(kind=PROBE, name=name.strip(), description=description.strip())


def sample(real: ToolSet, simulated: ToolSet, max_tools: int | None, seed: int) -> None:
    """Keep at most `max_tools` tools in all, drawn at random from each side in proportion to its size."""
    total = len(real.tools) + len(simulated.tools)
    if not max_tools or total <= max_tools:
        return
    rng = random.Random(seed)
    keep_real = round(max_tools * len(real.tools) / total)
    for side, keep in ((real, keep_real), (simulated, max_tools - keep_real)):
        keep = max(1, min(keep, len(side.tools)))
        chosen = sorted(rng.sample(range(len(side.tools)), keep))
        side.sampled_out = len(side.tools) - keep
        side.tools = [side.tools[i] for i in chosen]
