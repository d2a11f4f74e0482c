"""The directory watcher on its own: broken edits are refused whole and read once."""

from __future__ import annotations

import json
import os
from pathlib import Path

from gtm_mcp.server import watch
from gtm_mcp.server.watch import DirectoryWatcher
from gtm_mcp.tools.catalog import ToolCatalog


def write(path: Path, text: str, stamp: int) -> None:
    path.write_text(text)
    os.utime(path, (stamp, stamp))  # a distinct mtime, whatever the file system's resolution


def test_broken_edits_keep_the_previous_tools_and_are_read_once(tmp_path: Path, monkeypatch) -> None:
    tool = {"name": "ok", "inputSchema": {"type": "object"}}
    file = tmp_path / "a.json"
    write(file, json.dumps([tool]), 1000)
    catalog = ToolCatalog()
    watcher = DirectoryWatcher(catalog, tmp_path)
    watcher.sync()
    assert catalog.names() == ["ok"]

    reads: list[Path] = []
    load = watch.load_all
    monkeypatch.setattr(watch, "load_all", lambda paths, **kw: reads.extend(paths) or load(paths, **kw))
    for broken, stamp in (("{not json", 2000),
                          (json.dumps([{**tool, "name": "new"}, {**tool, "name": "bad one"}]), 3000)):
        write(file, broken, stamp)
        for _ in range(3):
            watcher.sync()
        assert catalog.names() == ["ok"]  # neither the broken nor the half-valid edit replaced the tools
        assert str(file) in watcher.problems
    assert len(reads) == 2  # each broken version was read once, not on every scan

    write(file, json.dumps([{**tool, "name": "fixed"}]), 4000)
    watcher.sync()
    assert catalog.names() == ["fixed"] and not watcher.problems


def test_watched_json_lines_files_can_be_edited_and_removed(tmp_path: Path) -> None:
    """JSON Lines tools carry `file:LINE` origins; edits and removal must still find them by file."""
    file = tmp_path / "t.jsonl"
    lines = [json.dumps({"name": n, "inputSchema": {"type": "object"}}) for n in ("a", "b", "c")]
    write(file, "\n".join(lines), 1000)
    catalog = ToolCatalog()
    watcher = DirectoryWatcher(catalog, tmp_path)
    watcher.sync()
    assert sorted(catalog.names()) == ["a", "b", "c"]
    assert (catalog.get("b").origin.file, catalog.get("b").origin.line) == (str(file), 2)
    write(file, "\n".join([lines[0], json.dumps({"name": "d", "inputSchema": {"type": "object"}})]), 2000)
    watcher.sync()
    assert sorted(catalog.names()) == ["a", "d"] and not watcher.problems
    file.unlink()
    watcher.sync()
    assert catalog.names() == []
