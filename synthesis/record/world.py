"""A fresh real world per episode: an empty folder under the run's world root, the server's `setup`
commands run in it (a new repository, files, an empty store), removed afterwards unless kept."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import anyio


class SetupFailed(RuntimeError):
    pass


async def create_world(path: Path, commands: list[str], *, env: dict[str, str] | None = None) -> None:
    """Makes `path` afresh and runs each set-up command in it (bash); raises `SetupFailed` with the
    command and its output when one fails."""
    if path.exists():
        await anyio.to_thread.run_sync(shutil.rmtree, path)
    path.mkdir(parents=True)
    for command in commands:
        result = await anyio.run_process(["bash", "-c", command], cwd=path, check=False,
                                         env={**os.environ, **(env or {})})
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace")[-1500:]
            raise SetupFailed(f"set-up command failed ({result.returncode}): {command}\n{output}")


async def remove_world(path: Path) -> None:
    if path.exists():
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(path, ignore_errors=True))
