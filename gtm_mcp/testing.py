"""A simulated tool server for an agent's test suite: tools from files or a live server, hybrid
real tools, a cassette recorded once and replayed offline, injected faults, one session per test.

    from gtm_mcp.testing import simulated_server

    with simulated_server(tools=["tools.json"], mirror=["python notes_server.py"], real=["add_note"],
                          cassette="tests/cassettes/agent.jsonl") as server:
        session = server.session("test_books_a_flight")
        run_my_agent(session.url)                       # MCP over streamable HTTP, this session only
        assert [c["tool"] for c in session.history()] == ["search_flights", "book_flight"]

Cassette modes (`record_mode`, or `GTM_MCP_RECORD_MODE`, or pytest's `--gtm-record-mode`):

- `auto` (default): replay the cassette when it exists, else record it;
- `record`: record afresh (the old cassette is replaced); real tools are called;
- `replay`: answer only from the cassette, offline: no live server is started, a call never
  recorded is an isError result naming it;
- `off`: no cassette.

When recording with `mirror`, the live servers' tool lists are saved beside the cassette
(`<cassette>.tools.json`) so that replay serves the same tools without them. The pytest fixtures
built on this are in `gtm_mcp.pytest_plugin`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from gtm_mcp.calls.cassette import journals_of, load_episodes
from gtm_mcp.contract import EpisodeRecord
from gtm_mcp.launch import LaunchedServer, serve_http
from gtm_mcp.sessions.keys import META_SESSION

RecordMode = Literal["auto", "record", "replay", "off"]
RECORD_MODES: tuple[str, ...] = ("auto", "record", "replay", "off")
RECORD_MODE_ENV = "GTM_MCP_RECORD_MODE"


def session_key(name: str) -> str:
    """A session key usable in a URL path from any test name (`tests/a.py::test_x[1]` ->
    `tests-a.py-test_x-1`): stable, so replays and fault draws repeat run after run."""
    key = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")
    return key[:200] or "session"


@dataclass(frozen=True)
class SimulatedSession:
    """One episode on a running server: its own URL, `_meta` and history."""

    server: SimulatedServer
    key: str

    @property
    def url(self) -> str:
        """The MCP endpoint of this session (`/mcp/<key>`), for clients that cannot set `_meta`."""
        return f"{self.server.base}/mcp/{self.key}"

    @property
    def meta(self) -> dict[str, Any]:
        """`_meta` naming this session, for clients that pass `meta=` to `call_tool`."""
        return {META_SESSION: self.key}

    def history(self) -> list[dict[str, Any]]:
        """The calls of this session so far: tool, arguments, result, is_error, origin."""
        response = httpx.get(f"{self.server.base}/admin/sessions/{self.key}", timeout=30)
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return list(response.json()["history"])

    def set_hidden_context(self, text: str | None) -> None:
        """Ground truth the simulated tools follow and the agent never sees (None clears it)."""
        httpx.put(f"{self.server.base}/admin/sessions/{self.key}", json={"hidden_context": text},
                  timeout=30).raise_for_status()

    def reset(self) -> None:
        """Drop the session: the next call starts a new episode."""
        httpx.delete(f"{self.server.base}/admin/sessions/{self.key}", timeout=30).raise_for_status()

    @asynccontextmanager
    async def client(self, **kwargs: Any) -> AsyncIterator[Any]:
        """An `mcp.Client` connected to this session."""
        from mcp import Client

        async with Client(self.url, **kwargs) as client:
            yield client


@dataclass
class SimulatedServer:
    """A running `gtm-mcp serve` (HTTP) and how it was configured."""

    process: LaunchedServer
    mode: RecordMode
    cassette: Path | None
    args: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.process.base

    @property
    def url(self) -> str:
        """The MCP endpoint (session from `_meta`, else `default`)."""
        return self.process.url

    def session(self, name: str) -> SimulatedSession:
        return SimulatedSession(self, session_key(name))

    def healthz(self) -> dict[str, Any]:
        return self.process.healthz()

    def stdio_command(self) -> list[str]:
        """argv of an equivalent server over stdio (same tools, cassette and faults), for agents
        that start their MCP servers themselves."""
        return [sys.executable, "-m", "gtm_mcp", "serve", *self.args]

    def episodes(self) -> list[EpisodeRecord]:
        """What the cassette holds now (including episodes still being recorded)."""
        return load_episodes(self.cassette) if self.cassette else []


def resolve_mode(mode: str | None, cassette: Path | None) -> RecordMode:
    chosen = mode or os.environ.get(RECORD_MODE_ENV) or "auto"
    if chosen not in RECORD_MODES:
        raise ValueError(f"record mode {chosen!r}: use one of {', '.join(RECORD_MODES)}")
    if cassette is None:
        return "off"
    if chosen == "auto":
        return "replay" if cassette.exists() else "record"
    if chosen == "replay" and not cassette.exists():
        raise FileNotFoundError(f"replay: no cassette at {cassette}; record it first (record mode 'record' or "
                                "'auto')")
    return chosen  # type: ignore[return-value]


def tools_snapshot(cassette: Path) -> Path:
    return cassette.with_name(cassette.name + ".tools.json")


def _save_mirrored_tools(process: LaunchedServer, path: Path) -> None:
    """The running server's mirrored tools (MCP wire form), saved for replays without the live server."""
    import anyio
    from mcp import Client

    from gtm_mcp.tools.mirror import list_all_tools

    sources = httpx.get(f"{process.base}/admin/tools", timeout=30).json()["tools"]
    mirrored = {t["name"] for t in sources if str(t.get("source") or "").startswith("mirror:")}

    async def listing() -> list[dict[str, Any]]:
        async with Client(process.url) as client:
            return [t for t in await list_all_tools(client) if t["name"] in mirrored]

    path.write_text(json.dumps({"tools": anyio.run(listing)}, indent=1, ensure_ascii=False) + "\n",
                    encoding="utf-8")


@contextmanager
def simulated_server(tools: Sequence[str | Path] = (), *, mirror: Sequence[str] = (), real: Sequence[str] = (),
                     warmup: int = 0, warmup_per: Literal["session", "global"] = "session",
                     cassette: str | Path | None = None, record_mode: str | None = None,
                     replay_ignore: Sequence[str] = (), replay_volatile: bool = False,
                     faults: str | None = None, fault_rate: float | None = None, fault_kinds: Sequence[str] = (),
                     latency: str | None = None, rules: str | Path | None = None, seed: int = 0,
                     backend: str = "schema", extra_args: Sequence[str] = (), log: Path | None = None,
                     env: dict[str, str] | None = None, ready_s: float = 60.0) -> Iterator[SimulatedServer]:
    """Start a simulated MCP server over HTTP for the block (see the module's docstring).

    `tools`: tool files or directories (default: the bundled examples unless `mirror` is given);
    `mirror`: live servers (URL or command) whose tools are served; `real`: those of their tools
    answered by the real server (names or globs), after `warmup` simulated calls; `cassette`: the
    recording; `faults`/`fault_rate`/`fault_kinds`/`latency`/`rules`: injected faults; `extra_args`:
    any other `gtm-mcp serve` flag.
    """
    path = Path(cassette) if cassette is not None else None
    mode = resolve_mode(record_mode, path)
    args: list[str] = []
    tool_args = [str(t) for t in tools]
    if mode == "replay":
        assert path is not None
        snapshot = tools_snapshot(path)
        if mirror and snapshot.exists():
            tool_args.append(str(snapshot))
        if tool_args:
            args += ["--tools", *tool_args]
        args += ["--replay", str(path)]
    else:
        if tool_args:
            args += ["--tools", *tool_args]
        for spec in mirror:
            args += ["--mirror", spec]
        if real:
            args += ["--real", *real, "--warmup", str(warmup), "--warmup-per", warmup_per]
        if mode == "record":
            assert path is not None
            path.parent.mkdir(parents=True, exist_ok=True)
            for stale in [path, tools_snapshot(path), *journals_of(path)]:
                stale.unlink(missing_ok=True)
            args += ["--record", str(path)]
    if mode in ("record", "replay"):
        if replay_ignore:
            args += ["--replay-ignore", *replay_ignore]
        if replay_volatile:
            args.append("--replay-volatile")
    if faults:
        args += ["--faults", faults]
    if fault_rate is not None:
        args += ["--fault-rate", str(fault_rate)]
    if fault_kinds:
        args += ["--fault-kinds", *fault_kinds]
    if latency:
        args += ["--latency", latency]
    if rules:
        args += ["--rules", str(rules)]
    args += ["--seed", str(seed), "--backend", backend, *extra_args]
    with serve_http(*args, log=log, env=env, ready_s=ready_s) as process:
        if mode == "record" and mirror and path is not None:
            _save_mirrored_tools(process, tools_snapshot(path))
        yield SimulatedServer(process, mode, path, args)


def describe(server: SimulatedServer) -> str:
    """One line for test reports: mode, cassette and the serve flags."""
    return f"gtm-mcp ({server.mode}{f', {server.cassette}' if server.cassette else ''}): {shlex.join(server.args)}"
