"""`gtm-synth export`: episodes (CARG stages, recorded traffic) -> the layout of docs/export-format.md.

Splits are by TOOL, decided in this order:
1. a tool of a held-out server (`holdout_servers`, e.g. `{"test": ["time", "sqlite"], "validation":
   ["everything"]}`; a tool's server is its definition's `server`) goes, with ALL its episodes, to
   that split: a model is scored on a real server it never saw, against the real outputs;
2. any other recorded tool trains on its training episodes; its held-out episodes go to
   `heldout_episodes` (reference-based evaluation of tools the model did see);
3. a generated (CARG) tool's split is `synthesis.splits.tool_split(name, seed, shares)`.
A generated episode whose tools fall in different splits is left out (counted): no tool ever appears
in two of train/validation/test, and `heldout_episodes` only holds train tools."""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gtm_mcp.contract import EPISODE_FORMAT_VERSION, PROMPT_FORMAT_VERSION, EpisodeRecord
from synthesis.export.card import field_of, markdown, plot_tools_per_field
from synthesis.export.sft import is_recorded, kind_of, sft_records
from synthesis.jsonl import JsonlWriter, read_jsonl
from synthesis.splits import DEFAULT_HOLDOUT_SERVERS, DEFAULT_SHARES, SPLITS, tool_split

log = logging.getLogger("synthesis")

EPISODE_FILES = {"train": "train", "validation": "validation", "test": "test", "heldout_episodes": "heldout"}


@dataclass
class ExportSettings:
    seed: int = 0
    shares: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SHARES))
    context_window: int | None = 8192
    max_new_tokens: int = 1024
    max_target_chars: int = 20000
    progress: bool = True
    #: split -> server names whose tools all go to that split (validation or test)
    holdout_servers: dict[str, list[str]] = field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_HOLDOUT_SERVERS.items()})


def episode_files(paths: Iterable[str | Path]) -> list[Path]:
    """Episode JSONL files: files as given; folders: a run folder's single/multi/errors.jsonl, or a
    recording's episodes/*.jsonl."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append(path)
        elif (path / "episodes").is_dir():
            found += sorted((path / "episodes").glob("*.jsonl"))
        elif path.is_dir():
            found += [path / f"{s}.jsonl" for s in ("single", "multi", "errors") if (path / f"{s}.jsonl").exists()]
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return found


def _episodes(files: list[Path], problems: Counter) -> Iterable[EpisodeRecord]:
    for path in files:
        for line in read_jsonl(path):
            try:
                yield EpisodeRecord.model_validate(line)
            except ValueError:
                problems[f"not an episode ({path.name})"] += 1


def export(out: str | Path, inputs: Iterable[str | Path], settings: ExportSettings, *,
           stats_dirs: Iterable[str | Path] = (), teacher: dict[str, Any] | None = None) -> dict[str, Any]:
    from tqdm import tqdm

    out = Path(out)
    files = episode_files(inputs)
    left_out: Counter = Counter()
    # pass 1: which tools are recorded (they train), and each tool's definition, server and split
    recorded_tools: set[str] = set()
    definitions: dict[str, dict[str, Any]] = {}
    servers_seen: set[str] = set()
    for episode in _episodes(files, Counter()):
        for tool in episode.tools:
            definitions.setdefault(tool.name, tool.to_gtm())
            if tool.server:
                servers_seen.add(tool.server)
        if is_recorded(episode):
            recorded_tools.update(t.name for t in episode.tools)
    split_of = assign_splits(definitions, recorded_tools, settings)
    missing_servers = sorted({s for names in settings.holdout_servers.values() for s in names} - servers_seen)
    if missing_servers:
        log.warning("export: held-out server(s) not in the inputs: %s", ", ".join(missing_servers))

    (out / "sft").mkdir(parents=True, exist_ok=True)
    (out / "episodes").mkdir(parents=True, exist_ok=True)
    sft_out = {s: JsonlWriter(out / "sft" / f"{s}.jsonl", truncate=True) for s in EPISODE_FILES}
    ep_out = {s: JsonlWriter(out / "episodes" / f"{f}.jsonl", truncate=True) for s, f in EPISODE_FILES.items()}
    counts: dict[str, Counter] = defaultdict(Counter)
    by_source: dict[str, Counter] = defaultdict(Counter)
    tools_in: dict[str, set[str]] = defaultdict(set)
    records_per_tool: Counter = Counter()
    by_kind: dict[str, Counter] = defaultdict(Counter)
    try:
        with tqdm(desc="export", unit="episode", file=sys.stderr, disable=not settings.progress) as bar:
            for episode in _episodes(files, left_out):
                bar.update(1)
                names = {c.tool for c in episode.calls if episode.tool(c.tool) is not None}
                if not names:
                    left_out["episode without a defined tool"] += 1
                    continue
                splits = {split_of[n] for n in names}
                if len(splits) > 1:
                    left_out["episode whose tools cross splits"] += 1
                    continue
                split = splits.pop()
                if split == "train" and is_recorded(episode) and (episode.meta or {}).get("split") == "heldout":
                    split = "heldout_episodes"
                ep_out[split].write(episode.to_json_line())
                counts[split]["episodes"] += 1
                for record in sft_records(episode, split, context_window=settings.context_window,
                                          max_new_tokens=settings.max_new_tokens,
                                          max_target_chars=settings.max_target_chars):
                    if record is None:
                        left_out["call whose target is longer than max_target_chars"] += 1
                        continue
                    sft_out[split].write(record)
                    counts[split]["sft_records"] += 1
                    tools_in[split].add(record["tool"])
                    records_per_tool[record["tool"]] += 1
                    row = by_source[record["source"]]
                    row["records"] += 1
                    row["errors"] += record["is_error"]
                    by_kind[split][record["kind"]] += 1
    finally:
        for writer in [*sft_out.values(), *ep_out.values()]:
            writer.close()
    exported = set().union(*tools_in.values()) if tools_in else set()
    check_disjoint(tools_in, split_of)
    with JsonlWriter(out / "tools.jsonl", truncate=True) as tools_file:
        for name in sorted(exported):
            tools_file.write({**definitions[name], "split": split_of[name]})
    # field coverage
    by_field: dict[str, Counter] = defaultdict(Counter)
    for name in exported:
        row = by_field[field_of(definitions[name])]
        row["tools"] += 1
        row["records"] += records_per_tool[name]
    by_field_sorted = dict(sorted(((k, dict(v)) for k, v in by_field.items()), key=lambda kv: -kv[1]["tools"]))
    if by_field:
        plot_tools_per_field({k: v["tools"] for k, v in by_field.items()}, out / "tools_per_field.png")
    card = {
        "prompt_format": PROMPT_FORMAT_VERSION, "episode_format": EPISODE_FORMAT_VERSION, "seed": settings.seed,
        "splits": {s: {"sft_records": counts[s]["sft_records"], "episodes": counts[s]["episodes"],
                       "tools": len(tools_in[s]), "by_kind": dict(sorted(by_kind[s].items())),
                       "servers": sorted({definitions[n].get("server") or "" for n in tools_in[s]} - {""})}
                   for s in EPISODE_FILES},
        "by_source": {s: {"kind": kind_of(s), **dict(c)} for s, c in sorted(by_source.items())},
        "inputs": [str(f) for f in files],
        "settings": {"shares": settings.shares, "context_window": settings.context_window,
                     "max_new_tokens": settings.max_new_tokens, "max_target_chars": settings.max_target_chars,
                     "holdout_servers": settings.holdout_servers, "holdout_servers_missing": missing_servers,
                     "recorded_tools_train": "unless their server is held out"},
        "fields": {"count": len(by_field), "by_field": by_field_sorted},
        "left_out": dict(left_out),
        "teacher": teacher,
    }
    card.update(_stage_figures(stats_dirs))
    (out / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False), encoding="utf-8")
    (out / "card.md").write_text(markdown(card), encoding="utf-8")
    return card


def assign_splits(definitions: dict[str, dict[str, Any]], recorded_tools: set[str],
                  settings: ExportSettings) -> dict[str, str]:
    """Each tool's split (see the module's docstring). A tool name served by two held-out servers
    takes the first split in test, validation order."""
    held: dict[str, str] = {}
    for split in ("test", "validation"):
        for server in settings.holdout_servers.get(split, []):
            held.setdefault(server, split)
    split_of: dict[str, str] = {}
    for name, definition in definitions.items():
        server = definition.get("server") or ""
        if server in held:
            split_of[name] = held[server]
        elif name in recorded_tools:
            split_of[name] = "train"
        else:
            split_of[name] = tool_split(name, settings.seed, settings.shares)
    return split_of


def check_disjoint(tools_in: dict[str, set[str]], split_of: dict[str, str] | None = None) -> None:
    """Raises if a tool appears in two of train/validation/test (the export's promise), or a
    held-out episode uses a tool that is not a train tool."""
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1:]:
            both = tools_in.get(a, set()) & tools_in.get(b, set())
            if both:
                raise AssertionError(f"tools in both {a} and {b}: {sorted(both)[:5]}")
    if split_of is not None:
        stray = {n for n in tools_in.get("heldout_episodes", set()) if split_of.get(n) != "train"}
        if stray:
            raise AssertionError(f"held-out episodes of tools that do not train: {sorted(stray)[:5]}")


def _stage_figures(stats_dirs: Iterable[str | Path]) -> dict[str, Any]:
    """Stage figures of run folders (`*.stats.json`, `ledger.json`) and recordings (`stats.json`)."""
    stages: dict[str, Any] = {}
    recorded: dict[str, Any] = {}
    ledgers: dict[str, Any] = {}
    for raw in stats_dirs:
        folder = Path(raw)
        for path in sorted(folder.glob("*.stats.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            data.pop("tools", None)  # per-tool rates stay in the stage's own file
            stages[path.name.removesuffix(".stats.json")] = data
        if (folder / "stats.json").exists():
            data = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
            for server, s in (data.get("servers") or {}).items():
                recorded[server] = {k: v for k, v in s.items() if k not in ("by_tool",)}
        if (folder / "ledger.json").exists():
            ledgers[str(folder)] = json.loads((folder / "ledger.json").read_text(encoding="utf-8"))
    out: dict[str, Any] = {}
    if stages:
        out["stages"] = stages
    if recorded:
        out["recorded"] = recorded
    if ledgers:
        out["ledger"] = ledgers
    return out
