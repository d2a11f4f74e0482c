"""Where the project keeps what it computes once: `$GTM_MCP_CACHE` (default `~/.cache/gtm-mcp`),
with one folder per kind: `models/` (converted packaged models, built GTMs), `embeddings/`
(coverage analysis), `teacher/` (synthesis's response cache)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    root = os.environ.get("GTM_MCP_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "gtm-mcp"


def cache_dir(kind: str) -> Path:
    """The cache folder for one kind of thing (not created here)."""
    return cache_root() / kind
