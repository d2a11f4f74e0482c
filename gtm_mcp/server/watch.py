"""Watched directories: tool files added, changed or removed there are loaded into the running
server, with the resources, resource templates and prompts they hold (polling, so it works on
every file system and needs no extra dependency). Scanning and parsing run in the CPU-work pool
(`gtm_mcp.work`); only the catalog update runs on the event loop."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.contract.errors import DuplicateToolError
from gtm_mcp.contract.surface import SurfaceDefinitions
from gtm_mcp.surface.catalog import DuplicateDefinitionError, SurfaceCatalog
from gtm_mcp.tools.catalog import ToolCatalog
from gtm_mcp.tools.loader import SUFFIXES, load_all
from gtm_mcp.tools.surface_formats import surface_duplicates
from gtm_mcp.work import run_cpu

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Changes:
    current: dict[Path, tuple[float, int]]  # file -> (mtime, size) now
    removed: list[Path]
    #: changed files, parsed: (tools, surface, problems), or None when the content did not change
    loaded: dict[Path, tuple[list[ToolDefinition], SurfaceDefinitions, list[Any]] | None]


class DirectoryWatcher:
    def __init__(self, catalog: ToolCatalog, directory: str | Path, *, interval_s: float = 1.0,
                 namespace: str = "auto", surface: SurfaceCatalog | None = None) -> None:
        self.catalog = catalog
        self.surface = surface
        self.directory = Path(directory)
        self.interval_s = interval_s
        self.namespace = namespace
        self._seen: dict[Path, tuple[float, int]] = {}
        self._applied: dict[Path, list[ToolDefinition]] = {}  # file -> the tools it last contributed (no surface)
        self.problems: dict[str, list[str]] = {}  # file -> problems of its last load

    def _scan(self) -> dict[Path, tuple[float, int]]:
        found = {}
        if self.directory.is_dir():
            for path in self.directory.rglob("*"):
                if path.suffix in SUFFIXES and path.is_file() and not path.name.startswith("."):
                    try:
                        stat = path.stat()
                    except OSError:
                        continue
                    found[path] = (stat.st_mtime, stat.st_size)
        return found

    def sync(self) -> None:
        """Apply what changed on disk since the last call (synchronously: at start-up)."""
        self._apply_changes(self._changes())

    async def sync_in_thread(self) -> None:
        """The same, with the scan and the parsing in the CPU-work pool (a Seal-Tools file takes
        seconds to parse); only the catalog update runs on the event loop."""
        self._apply_changes(await run_cpu(self._changes))

    def _changes(self) -> _Changes:
        """What changed on disk, with the changed files already parsed (no catalog access: this
        runs in a worker thread)."""
        current = self._scan()
        loaded: dict[Path, tuple[list[ToolDefinition], SurfaceDefinitions, list[Any]] | None] = {}
        for path in sorted(p for p in current if self._seen.get(p) != current[p]):
            tools, surface, problems = load_all([path], namespace=self.namespace)  # type: ignore[arg-type]
            problems += surface_duplicates(surface)
            # a file touched but not changed costs the event loop nothing (None: its tools stand)
            same = not problems and not len(surface) and path in self._applied and tools == self._applied[path]
            loaded[path] = None if same else (tools, surface, problems)
        return _Changes(current, sorted(set(self._seen) - set(current)), loaded)

    def _apply_changes(self, changes: _Changes) -> None:
        for path in changes.removed:
            self._apply(path, [], SurfaceDefinitions())
            self.problems.pop(str(path), None)
        for path, parsed in changes.loaded.items():
            if parsed is None:
                self.problems.pop(str(path), None)
                continue
            tools, surface, problems = parsed
            if problems:
                # All or nothing, like POST /admin/tools: the file's previous tools stay, and it is
                # read again only once it changes again.
                self.problems[str(path)] = [str(p) for p in problems]
                for problem in problems:
                    log.error("watched file refused, its previous tools stay: %s", problem)
                continue
            self.problems.pop(str(path), None)
            self._apply(path, tools, surface)
        self._seen = changes.current

    def _apply(self, path: Path, tools: list, surface: SurfaceDefinitions) -> None:
        if self.surface is None and len(surface):
            log.warning("watched %s: its resources and prompts are ignored (no surface catalog)", path)
        previous = [t for t in self.catalog.tools() if t.origin is not None and t.origin.file == str(path)]
        try:
            added, removed = self.catalog.replace_file(str(path), tools)
            if self.surface is not None:
                try:
                    self.surface.replace_file(str(path), surface)
                except DuplicateDefinitionError:
                    self.catalog.replace_file(str(path), previous)  # all or nothing: the tools go back
                    raise
        except (DuplicateToolError, DuplicateDefinitionError) as e:
            self.problems[str(path)] = [str(e)]
            log.error("watched file %s refused: %s", path, e)
            return
        if tools and not len(surface):
            self._applied[path] = tools
        else:
            self._applied.pop(path, None)
        if added or removed:
            log.info("watched %s: +%d -%d tools", path, len(added), len(removed))

    async def run(self) -> None:
        while True:
            try:
                await self.sync_in_thread()
            except Exception:  # the watcher must outlive any bad file
                log.exception("watching %s failed", self.directory)
            await anyio.sleep(self.interval_s)
