"""JSON Lines in and out: appending writers that flush every line (a crash loses at most the line
being written), readers that skip a torn last line, and the keys already done (for resuming)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Every JSON object in `path` (none when it does not exist). A broken line is logged and skipped:
    only an interrupted run leaves one, as its last line."""
    path = Path(path)
    if not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                log.warning("%s:%d is not JSON (an interrupted write?); skipped", path, number)
                continue
            if isinstance(value, dict):
                yield value


def read_many(paths: Iterable[str | Path]) -> Iterator[dict[str, Any]]:
    for path in paths:
        yield from read_jsonl(path)


class JsonlWriter:
    """Appends one JSON object per line and flushes it at once. A file that ends in a torn line
    (a killed run) is repaired first, so that the next line starts on its own line."""

    def __init__(self, path: str | Path, *, truncate: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not truncate and self.path.exists() and self.path.stat().st_size:
            with self.path.open("rb") as f:
                f.seek(-1, 2)
                torn = f.read(1) != b"\n"
            if torn:
                with self.path.open("ab") as f:
                    f.write(b"\n")
        self._file = self.path.open("w" if truncate else "a", encoding="utf-8")
        self.written = 0

    def write(self, record: dict[str, Any] | str) -> None:
        line = record if isinstance(record, str) else json.dumps(record, ensure_ascii=False)
        self._file.write(line + "\n")
        self._file.flush()
        self.written += 1

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any] | str]) -> int:
    """Writes `records` to `path` afresh (through a temporary file, so readers never see half a file)."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    with JsonlWriter(partial, truncate=True) as out:
        for record in records:
            out.write(record)
        count = out.written
    partial.replace(path)
    return count


def keys_in(path: str | Path, field: str = "id") -> set[str]:
    """The `field` values of the records in `path` (what a resumed stage skips)."""
    return {str(r[field]) for r in read_jsonl(path) if field in r}
