"""Reading a synthesis export (docs/export-format.md): SFT records, episodes and tools.

The export is the only interface between `gtm-synth` and this package: a folder with `sft/*.jsonl`
(chat-format records rendered with `gtm_mcp.contract.prompt.render_training_example`),
`episodes/*.jsonl` (`gtm-episode/1` lines) and `tools.jsonl`. Bad input is refused with the file,
the line and what is wrong, never half-read.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from gtm_mcp.contract import PROMPT_FORMAT_VERSION, EpisodeRecord, ToolDefinition

log = logging.getLogger("training.data")

SFT_SPLITS = ("train", "validation", "test", "heldout_episodes")
EPISODE_SPLITS = ("train", "validation", "test", "heldout")
#: problems listed in one error before "... and N more"
MAX_LISTED = 10


class ExportError(ValueError):
    """The export is missing, malformed, or was rendered with another prompt format."""


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str


class SFTRecord(BaseModel):
    """One supervised example: the exact prompt the server sends, then the target as the last
    assistant turn (JSON, text, or `Error: <text>`)."""

    model_config = ConfigDict(extra="ignore")

    messages: list[Message]
    format: str = PROMPT_FORMAT_VERSION
    kind: Literal["single", "multi", "error", "recorded"] = "single"
    tool: str = ""
    source: str = ""
    episode_id: str | None = None
    split: str = "train"
    is_error: bool = False

    @field_validator("messages")
    @classmethod
    def _shape(cls, messages: list[Message]) -> list[Message]:
        roles = [m.role for m in messages]
        if len(roles) < 3 or roles[0] != "system" or roles[-1] != "assistant" or roles[-2] != "user":
            raise ValueError("messages must be [system, (user, assistant)*, user, assistant]; got "
                             + ", ".join(roles))
        for i, role in enumerate(roles[1:], start=1):
            if role != ("user" if i % 2 else "assistant"):
                raise ValueError(f"messages[{i}] is {role!r}: roles must alternate user/assistant after the "
                                 "system turn")
        return messages

    @property
    def prompt(self) -> list[dict[str, str]]:
        return [m.model_dump() for m in self.messages[:-1]]

    @property
    def target(self) -> str:
        return self.messages[-1].content

    def chat(self) -> list[dict[str, str]]:
        return [m.model_dump() for m in self.messages]


def _read_lines(path: Path) -> Iterable[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if line.strip():
                    yield number, line
    except OSError as e:
        raise ExportError(f"{path}: cannot read ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise ExportError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def _raise_problems(path: Path, problems: list[str]) -> None:
    if problems:
        shown = problems[:MAX_LISTED]
        more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        raise ExportError(f"{path}: {len(problems)} bad record(s):\n  " + "\n  ".join(shown) + more)


def read_sft(path: Path) -> list[SFTRecord]:
    """Every record of one SFT file; raises `ExportError` listing the bad lines (file:line: why)."""
    records: list[SFTRecord] = []
    problems: list[str] = []
    for number, line in _read_lines(path):
        try:
            record = SFTRecord.model_validate(json.loads(line))
        except json.JSONDecodeError as e:
            problems.append(f"line {number}: not JSON ({e.msg})")
            continue
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or "record"
            problems.append(f"line {number}: {where}: {first['msg'].removeprefix('Value error, ')}")
            continue
        if record.format != PROMPT_FORMAT_VERSION:
            problems.append(f"line {number}: rendered with prompt format {record.format!r}, but this version "
                            f"serves {PROMPT_FORMAT_VERSION!r}: export the data again with this version")
            continue
        records.append(record)
    _raise_problems(path, problems)
    return records


def _known_tool_fields(data: Any, dropped: Counter[str]) -> Any:
    """The episode with tool fields this version's `ToolDefinition` does not know removed (counted):
    an export written by a newer contract (a tool field added later) stays readable."""
    if isinstance(data, dict) and isinstance(data.get("tools"), list):
        known = set(ToolDefinition.model_fields)
        for tool in data["tools"]:
            if isinstance(tool, dict):
                for key in [k for k in tool if k not in known]:
                    dropped[key] += 1
                    del tool[key]
    return data


def read_episodes(path: Path) -> list[EpisodeRecord]:
    """Every episode of one `episodes/*.jsonl` file; raises `ExportError` listing the bad lines."""
    episodes: list[EpisodeRecord] = []
    problems: list[str] = []
    dropped: Counter[str] = Counter()
    for number, line in _read_lines(path):
        try:
            episode = EpisodeRecord.model_validate(_known_tool_fields(json.loads(line), dropped))
        except json.JSONDecodeError as e:
            problems.append(f"line {number}: not JSON ({e.msg})")
            continue
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or "record"
            problems.append(f"line {number}: {where}: {first['msg'].removeprefix('Value error, ')}")
            continue
        if episode.prompt_format != PROMPT_FORMAT_VERSION:
            problems.append(f"line {number}: episode {episode.id!r} was recorded for prompt format "
                            f"{episode.prompt_format!r}, this version serves {PROMPT_FORMAT_VERSION!r}")
            continue
        episodes.append(episode)
    _raise_problems(path, problems)
    if dropped:
        log.warning("%s: tool fields this version does not know were ignored: %s", path,
                    ", ".join(f"{k} ({n}x)" for k, n in dropped.items()))
    return episodes


@dataclass(frozen=True)
class Export:
    """A synthesis export folder (see docs/export-format.md)."""

    root: Path

    @classmethod
    def open(cls, root: str | Path) -> Export:
        path = Path(root).expanduser()
        if not path.is_dir():
            raise ExportError(f"{path}: no such export folder (write one with `gtm-synth export`)")
        if not (path / "sft").is_dir() and not (path / "episodes").is_dir():
            raise ExportError(f"{path}: not a synthesis export: it has neither sft/ nor episodes/ "
                              "(see docs/export-format.md)")
        return cls(path)

    def sft_path(self, split: str) -> Path:
        if split not in SFT_SPLITS:
            raise ExportError(f"unknown SFT split {split!r}; known: {', '.join(SFT_SPLITS)}")
        return self.root / "sft" / f"{split}.jsonl"

    def episodes_path(self, split: str) -> Path:
        if split not in EPISODE_SPLITS:
            raise ExportError(f"unknown episode split {split!r}; known: {', '.join(EPISODE_SPLITS)}")
        return self.root / "episodes" / f"{split}.jsonl"

    def has_sft(self, split: str) -> bool:
        path = self.sft_path(split)
        return path.is_file() and path.stat().st_size > 0

    def sft(self, split: str, *, required: bool = True) -> list[SFTRecord]:
        path = self.sft_path(split)
        if not path.is_file():
            if required:
                raise ExportError(f"{path}: missing (the export has no {split!r} SFT split)")
            return []
        return read_sft(path)

    def episodes(self, split: str, *, required: bool = True) -> list[EpisodeRecord]:
        path = self.episodes_path(split)
        if not path.is_file():
            if required:
                raise ExportError(f"{path}: missing (the export has no {split!r} episodes)")
            return []
        return read_episodes(path)

    def card(self) -> dict[str, Any]:
        path = self.root / "card.json"
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}
        return data if isinstance(data, dict) else {}


def select(records: list[SFTRecord], *, sources: list[str] | None = None, kinds: list[str] | None = None,
           limit: int | None = None) -> list[SFTRecord]:
    """Records whose source starts with one of `sources` and whose kind is in `kinds`, at most `limit`
    (taken evenly across the file, so that every source ordered in it keeps its share)."""
    chosen = [r for r in records
              if (not sources or any(r.source.startswith(s) for s in sources)) and (not kinds or r.kind in kinds)]
    if limit is None or len(chosen) <= limit:
        return chosen
    return [chosen[i * len(chosen) // limit] for i in range(limit)]  # evenly across the file, not its head


def describe(records: list[SFTRecord]) -> dict[str, Any]:
    """Counts for logs and the model card: records, tools, episodes, by kind and by source."""
    return {"records": len(records), "tools": len({r.tool for r in records}),
            "episodes": len({r.episode_id for r in records if r.episode_id}),
            "by_kind": dict(Counter(r.kind for r in records)),
            "by_source": dict(Counter(r.source for r in records))}
