"""Watched directories: tool files added, changed or removed there are loaded into the running
server, with the resources, resource templates and prompts they hold (polling, so it works on
every file system and needs no extra dependency)."""

from __future__ import annotations

import logging
from pathlib import Path

import anyio

from gtm_mcp.contract.errors import DuplicateToolError
from gtm_mcp.contract.surface import SurfaceDefinitions
from gtm_mcp.surface.catalog import DuplicateDefinitionError, SurfaceCatalog
from gtm_mcp.tools.catalog import ToolCatalog
from gtm_mcp.tools.loader import SUFFIXES, load_all
from gtm_mcp.tools.surface_formats import surface_duplicates

log = logging.getLogger(__name__)


class DirectoryWatcher:
    def __init__(self, catalog: ToolCatalog, directory: str | Path, *, interval_s: float = 1.0,
                 namespace: str = "auto", surface: SurfaceCatalog | None = None) -> None:
        self.catalog = catalog
        self.surface = surface
        self.directory = Path(directory)
        self.interval_s = interval_s
        self.namespace = namespace
        self._seen: dict[Path, tuple[float, int]] = {}
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
        """Apply what changed on disk since the last call."""
        current = self._scan()
        for path in sorted(set(self._seen) - set(current)):
            self._apply(path, [], SurfaceDefinitions())
            self.problems.pop(str(path), None)
        for path in sorted(p for p in current if self._seen.get(p) != current[p]):
            tools, surface, problems = load_all([path], namespace=self.namespace)  # type: ignore[arg-type]
            problems += surface_duplicates(surface)
            if problems:
                # All or nothing, like POST /admin/tools: the file's previous tools stay, and it is
                # read again only once it changes again.
                self.problems[str(path)] = [str(p) for p in problems]
                for problem in problems:
                    log.error("watched file refused, its previous tools stay: %s", problem)
                continue
            self.problems.pop(str(path), None)
            self._apply(path, tools, surface)
        self._seen = current

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
        if added or removed:
            log.info("watched %s: +%d -%d tools", path, len(added), len(removed))

    async def run(self) -> None:
        while True:
            try:
                self.sync()
            except Exception:  # the watcher must outlive any bad file
                log.exception("watching %s failed", self.directory)
            await anyio.sleep(self.interval_s)
