"""Cassettes: every call of a run recorded as episodes (gtm-episode/1 JSON Lines), and played back.

**Recording.** A cassette holds one `EpisodeRecord` line per episode (a session, from its first
call to its reset, expiry or the end of the run), with the tools it called, its hidden context
and every call with its arguments, result and origin (simulated, real, replayed), secrets
redacted. These are the lines synthesis and training read: a recording of a real server is
training data as it is.

An episode's line is written when the episode ends. Until then each call is appended (and
flushed) to a journal beside the cassette, `<cassette>.journal-<run>`, locked by its writer: if the
process dies, the next recorder (or reader) of the cassette folds the orphaned journal's episodes
into it, so nothing an agent was answered is lost. Several processes may record into one
cassette: lines are appended under a file lock.

**Replay.** Calls are looked up by (tool, normalised arguments): secrets redacted as recorded,
ignored keys dropped, and, when asked, volatile values (timestamps, UUIDs, ids) replaced by
placeholders. Calls recorded in an episode of the same session key are preferred; otherwise
every recording of that call counts. Identical calls get the recorded answers in recorded
order (the last one repeats). A call never recorded is refused by name, with the closest
recorded calls.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import fnmatch
import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import anyio
import re2

from gtm_mcp.calls.redact import Redactor
from gtm_mcp.contract import CallRecord, EpisodeRecord, ToolDefinition, ToolOutput

log = logging.getLogger(__name__)

SOURCE = "gtm-mcp:recorded"
#: `_meta` key of a replayed result: the episode and call it came from.
META_REPLAY = "gtm-mcp/replay"
#: A journal grown past this many bytes is rewritten with the open episodes only.
JOURNAL_COMPACT_BYTES = 64 * 1024 * 1024
#: Calls whose strings add up to less than this are redacted and journaled on the event loop (a
#: buffered append: microseconds); larger ones, and episode ends (fsync), go to a worker thread.
INLINE_BYTES = 32 * 1024


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def journals_of(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".journal-*"))


# -- normalising arguments for matching ---------------------------------------------------------------

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_VOLATILE = [
    (re2.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$",
                 options=_OPTIONS), "<timestamp>"),
    (re2.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", options=_OPTIONS),
     "<uuid>"),
    (re2.compile(r"^[0-9a-fA-F]{16,}$", options=_OPTIONS), "<id>"),
    (re2.compile(r"^[A-Za-z]{1,12}[_-][A-Za-z0-9]*[0-9][A-Za-z0-9]*$", options=_OPTIONS), "<id>"),
]


class CallMatcher:
    """Turns a call into the key replay looks it up by."""

    def __init__(self, redactor: Redactor | None = None, ignore: Iterable[str] = (), volatile: bool = False) -> None:
        self.redactor = redactor
        self.ignore = tuple(ignore)
        self.volatile = volatile

    def normalise(self, arguments: Any) -> Any:
        value = self.redactor.value(arguments) if self.redactor else arguments
        return self._walk(value, "")

    def _ignored(self, path: str, key: str) -> bool:
        return any(fnmatch.fnmatchcase(path, p) or ("." not in p and fnmatch.fnmatchcase(key, p))
                   for p in self.ignore)

    def _walk(self, value: Any, path: str) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                sub = f"{path}.{key}" if path else str(key)
                if not (self.ignore and self._ignored(sub, str(key))):
                    out[key] = self._walk(item, sub)
            return out
        if isinstance(value, list):
            return [self._walk(item, path) for item in value]
        if self.volatile:
            if isinstance(value, str) and len(value) <= 200:
                for pattern, placeholder in _VOLATILE:
                    if pattern.search(value):
                        return placeholder
            elif isinstance(value, int | float) and not isinstance(value, bool) and (
                    1e9 <= value < 4e9 or 1e12 <= value < 4e12):
                return "<timestamp>"
        return value

    def canonical(self, arguments: Any) -> str:
        return json.dumps(self.normalise(arguments), sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                          default=str)

    def key(self, tool: str, arguments: Any) -> str:
        text = f"{tool}\x00{self.canonical(arguments)}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]


# -- reading ------------------------------------------------------------------------------------------

def fold_journal(lines: Iterable[str], *, source: str = "") -> list[EpisodeRecord]:
    """The episodes a journal holds that were never closed (a torn last line is skipped)."""
    opened: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            uid, kind = entry["e"], entry["k"]
        except (ValueError, KeyError, TypeError):
            log.warning("journal %s: line %d is torn or not an entry; skipped", source, number)
            continue
        if kind == "open":
            opened[uid] = {"header": entry["header"], "tools": {}, "calls": [], "hidden_context": None,
                           "faults": []}
        elif uid not in opened:
            continue
        elif kind == "tool":
            opened[uid]["tools"].setdefault(entry["tool"]["name"], entry["tool"])
        elif kind == "call":
            opened[uid]["calls"].append(entry["call"])
            if "hidden_context" in entry:
                opened[uid]["hidden_context"] = entry["hidden_context"]
        elif kind == "fault":
            opened[uid]["faults"].append(entry["fault"])
        elif kind == "close":
            del opened[uid]
    episodes = []
    for uid, data in opened.items():
        header = data["header"]
        meta = {**header.get("meta", {}), "recovered": True, **({"faults": data["faults"]} if data["faults"] else {})}
        try:
            episodes.append(EpisodeRecord(id=uid, tools=[ToolDefinition(**t) for t in data["tools"].values()],
                                          calls=data["calls"], hidden_context=data["hidden_context"],
                                          seed=header.get("seed"), source=header.get("source", SOURCE), meta=meta))
        except ValueError as e:
            log.warning("journal %s: episode %s could not be rebuilt: %s", source, uid, e)
    return episodes


def load_episodes(path: str | Path, *, include_journals: bool = True) -> list[EpisodeRecord]:
    """The episodes of a cassette, lines of one id merged in order, plus those still open in its
    journals (a recorder that is running or died). Torn and foreign lines are skipped with a warning."""
    path = Path(path)
    merged: dict[str, EpisodeRecord] = {}

    def add(episode: EpisodeRecord) -> None:
        known = merged.get(episode.id)
        if known is None:
            merged[episode.id] = episode
            return
        names = {t.name for t in known.tools}
        known.tools.extend(t for t in episode.tools if t.name not in names)
        known.calls.extend(episode.calls)

    if path.exists():
        with path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    add(EpisodeRecord.from_json_line(line))
                except ValueError as e:
                    log.warning("cassette %s: line %d is not a gtm-episode/1 record (%s); skipped", path, number,
                                str(e).splitlines()[0][:120])
    if include_journals:
        for journal in journals_of(path):
            try:
                with journal.open(encoding="utf-8") as f:
                    for episode in fold_journal(f, source=str(journal)):
                        add(episode)
            except OSError:
                continue
    return list(merged.values())


def cassette_tools(episodes: Iterable[EpisodeRecord]) -> list[ToolDefinition]:
    """Every tool the episodes called (the first definition of each name)."""
    tools: dict[str, ToolDefinition] = {}
    for episode in episodes:
        for tool in episode.tools:
            tools.setdefault(tool.name, tool)
    return list(tools.values())


# -- replay -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Recorded:
    output: ToolOutput
    episode: str
    index: int


class Replayer:
    """Answers calls from recorded episodes; cursors live in the session's state (JSON data)."""

    def __init__(self, episodes: list[EpisodeRecord], matcher: CallMatcher, *, label: str = "the cassette") -> None:
        self.matcher = matcher
        self.label = label
        self.pooled: dict[str, list[Recorded]] = {}
        self.by_session: dict[str, dict[str, list[Recorded]]] = {}
        self.by_tool: dict[str, dict[str, Any]] = {}  # tool -> canonical arguments -> arguments
        self.calls = 0
        for episode in episodes:
            session = str(episode.meta.get("session") or episode.id)
            own = self.by_session.setdefault(session, {})
            for index, call in enumerate(episode.calls):
                key = matcher.key(call.tool, call.arguments)
                recorded = Recorded(ToolOutput(call.result if isinstance(call.result, dict | str) else
                                               json.dumps(call.result), call.is_error), episode.id, index)
                self.pooled.setdefault(key, []).append(recorded)
                own.setdefault(key, []).append(recorded)
                seen = self.by_tool.setdefault(call.tool, {})
                if len(seen) < 5000:
                    seen.setdefault(matcher.canonical(call.arguments), call.arguments)
                self.calls += 1

    def lookup(self, tool: str, arguments: dict[str, Any], session: str,
               cursors: dict[str, int]) -> tuple[ToolOutput, dict[str, Any]] | None:
        """The recorded answer for this call (advancing the session's cursor), or None."""
        key = self.matcher.key(tool, arguments)
        answers = self.by_session.get(session, {}).get(key) or self.pooled.get(key)
        if not answers:
            return None
        position = cursors.get(key, 0)
        cursors[key] = position + 1
        recorded = answers[min(position, len(answers) - 1)]
        meta = {"episode": recorded.episode, "call": recorded.index}
        if position >= len(answers):
            meta["repeat"] = True
        return recorded.output, meta

    def miss(self, tool: str, arguments: dict[str, Any]) -> str:
        """Why a call cannot be replayed: the call, and the closest recorded calls."""
        shown = self.matcher.canonical(arguments)
        same_tool = self.by_tool.get(tool)
        if same_tool:
            close = difflib.get_close_matches(shown[:400], [c[:400] for c in same_tool], n=3, cutoff=0.0)
            hint = "Closest recorded calls: " + "; ".join(f"{tool} {c}" for c in close) + "."
        else:
            known = sorted(self.by_tool)
            near = difflib.get_close_matches(tool, known, n=3, cutoff=0.5)
            hint = (f"{self.label} holds no call of '{tool}'"
                    + (f" (recorded tools like it: {', '.join(near)})" if near else "")
                    + f"; it recorded {len(known)} tool(s): {', '.join(known[:10])}{'...' if len(known) > 10 else ''}.")
        return (f"Replay: the call {tool} {shown[:500]} was never recorded in {self.label}, so it cannot be "
                f"answered. {hint} Record it first (serve with --record), or let unrecorded calls through "
                "with --replay-miss live.")


# -- recording ----------------------------------------------------------------------------------------

@dataclass
class _Episode:
    uid: str
    session: str
    started: str
    tools: dict[str, ToolDefinition] = field(default_factory=dict)
    calls: list[CallRecord] = field(default_factory=list)
    hidden_context: str | None = None
    faults: list[dict[str, Any]] = field(default_factory=list)
    last_used: float = field(default_factory=time.monotonic)


class Recorder:
    """Records episodes into a cassette; see the module's docstring for the file protocol.

    `record()` and `note_fault()` are awaited by the call path: the journal line is on disk (flushed
    to the OS) before the agent gets its answer. File work runs in a worker thread, one at a time.
    """

    def __init__(self, path: str | Path, *, redactor: Redactor | None = None, seed: int | None = None,
                 max_open: int = 10_000, idle_s: float = 3600.0, extra_meta: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.redactor = redactor or Redactor(defaults=False)
        self.seed = seed
        self.max_open = max_open
        self.idle_s = idle_s
        self.extra_meta = dict(extra_meta or {})
        self.run_id = f"{int(time.time()):x}{secrets.token_hex(3)}"
        self.episodes_written = 0
        self.calls_recorded = 0
        self._open: dict[str, _Episode] = {}
        self._session_uid: dict[str, str] = {}
        self._journal: IO[str] | None = None
        self._journal_path = Path(f"{self.path}.journal-{self.run_id}")
        self._lock: anyio.Lock | None = None
        self._last_sweep = time.monotonic()
        self._count = 0

    # lifecycle (sync parts run in a worker thread)

    def open(self) -> int:
        """Fold orphaned journals into the cassette, then start this run's journal. Returns how
        many episodes were recovered."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        recovered = recover_journals(self.path)
        journal = self._journal_path.open("a", encoding="utf-8")
        fcntl.flock(journal, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._journal = journal
        return recovered

    async def start(self) -> None:
        async with self._guard():
            if self._journal is not None:
                return
            recovered = await anyio.to_thread.run_sync(self.open)
        if recovered:
            log.warning("cassette %s: recovered %d episode(s) from an interrupted recording", self.path, recovered)

    async def aclose(self) -> None:
        if self._journal is None:
            return
        async with self._guard():
            await anyio.to_thread.run_sync(self._close_sync)

    def _close_sync(self) -> None:
        for uid in list(self._open):
            self._finalize(uid)
        if self._journal is not None:
            self._journal.close()
            self._journal = None
            with contextlib.suppress(OSError):
                self._journal_path.unlink()

    def _guard(self) -> anyio.Lock:
        if self._lock is None:
            self._lock = anyio.Lock()
        return self._lock

    # the call path

    def episode_for(self, session: str, state: dict[str, Any]) -> str:
        """The episode id of this session's current episode (kept in its state: a reset starts a new one)."""
        uid = state.get("episode")
        if not isinstance(uid, str):
            self._count += 1
            uid = state["episode"] = f"{session}@{self.run_id}.{self._count}"
        return uid

    async def record(self, session: str, state: dict[str, Any], hidden_context: str | None,
                     tool: ToolDefinition | None, call: CallRecord) -> None:
        uid = self.episode_for(session, state)
        if self._journal is None:  # used without `async with simulator`: open on first use (the journal keeps
            await self.start()  # everything; a later recorder or reader picks it up)
        async with self._guard():
            if _smaller_than(INLINE_BYTES, call.arguments, call.result, hidden_context):
                ending = self._record_sync(uid, session, hidden_context, tool, call)
            else:
                ending = await anyio.to_thread.run_sync(self._record_sync, uid, session, hidden_context, tool, call)
            if ending:
                await anyio.to_thread.run_sync(self._finalize_all, ending)

    async def note_fault(self, session: str, state: dict[str, Any], fault: dict[str, Any]) -> None:
        uid = self.episode_for(session, state)
        if self._journal is None:
            await self.start()
        async with self._guard():
            ending = self._fault_sync(uid, session, fault)
            if ending:
                await anyio.to_thread.run_sync(self._finalize_all, ending)

    def _episode(self, uid: str, session: str, lines: list[str], ending: list[str]) -> _Episode:
        episode = self._open.get(uid)
        if episode is None:
            previous = self._session_uid.get(session)
            if previous is not None and previous in self._open:
                ending.append(previous)  # the session started a new episode (reset, or expired and came back)
            episode = self._open[uid] = _Episode(uid, session, _now())
            self._session_uid[session] = uid
            lines.append(_entry(uid, "open", header=self._header(episode)))
        episode.last_used = time.monotonic()
        return episode

    def _header(self, episode: _Episode) -> dict[str, Any]:
        return {"seed": self.seed, "source": SOURCE,
                "meta": {"session": episode.session, "started": episode.started, **self.extra_meta}}

    def _record_sync(self, uid: str, session: str, hidden_context: str | None, tool: ToolDefinition | None,
                     call: CallRecord) -> list[str]:
        """Journal one call; returns the episodes to end (written by `_finalize_all`, off the loop)."""
        if self._journal is None:
            raise RuntimeError("the recorder is not open")
        lines: list[str] = []
        ending: list[str] = []
        episode = self._episode(uid, session, lines, ending)
        if tool is not None and tool.name not in episode.tools:
            episode.tools[tool.name] = tool
            lines.append(_entry(uid, "tool", tool=tool.to_gtm()))
        clean = CallRecord(call.tool, self.redactor.value(call.arguments), self.redactor.value(call.result),
                           call.is_error, call.origin)
        episode.calls.append(clean)
        extra: dict[str, Any] = {}
        hidden = self.redactor.text(hidden_context) if hidden_context else None
        if hidden != episode.hidden_context:
            episode.hidden_context = extra["hidden_context"] = hidden
        lines.append(_entry(uid, "call", call=clean.to_json(), **extra))
        self._write(lines)
        self.calls_recorded += 1
        return self._maintain(ending)

    def _fault_sync(self, uid: str, session: str, fault: dict[str, Any]) -> list[str]:
        if self._journal is None:
            raise RuntimeError("the recorder is not open")
        lines: list[str] = []
        ending: list[str] = []
        episode = self._episode(uid, session, lines, ending)
        entry = {"call": len(episode.calls), **fault}
        episode.faults.append(entry)
        lines.append(_entry(uid, "fault", fault=entry))
        self._write(lines)
        return ending

    def _write(self, lines: list[str]) -> None:
        assert self._journal is not None
        self._journal.write("".join(lines))
        self._journal.flush()

    def _maintain(self, ending: list[str]) -> list[str]:
        """Add idle episodes (checked every 30 s at most) and the least recently used beyond
        `max_open` to the episodes to end."""
        now = time.monotonic()
        if now - self._last_sweep > min(30.0, self.idle_s):
            self._last_sweep = now
            ending += [u for u, e in self._open.items() if now - e.last_used > self.idle_s and u not in ending]
        excess = len(self._open) - len(set(ending)) - self.max_open
        if excess > 0:
            by_age = sorted((e for u, e in self._open.items() if u not in ending), key=lambda e: e.last_used)
            ending += [e.uid for e in by_age[:excess]]
        if not ending and self._journal is not None and self._journal.tell() > JOURNAL_COMPACT_BYTES:
            ending.append("")  # no episode to end, but the journal needs compacting (off the loop too)
        return ending

    def _finalize_all(self, uids: list[str]) -> None:
        for uid in uids:
            if uid:
                self._finalize(uid)
        if self._journal is not None and self._journal.tell() > JOURNAL_COMPACT_BYTES:
            self._compact()

    def _finalize(self, uid: str) -> None:
        episode = self._open.pop(uid, None)
        if episode is None:
            return
        if self._session_uid.get(episode.session) == uid:
            del self._session_uid[episode.session]
        if episode.calls:
            append_lines(self.path, [self._record_of(episode).to_json_line()])
            self.episodes_written += 1
        if self._open:
            self._write([_entry(uid, "close")])
        elif self._journal is not None:  # nothing open: the journal holds nothing worth keeping
            self._journal.seek(0)
            self._journal.truncate()

    def _record_of(self, episode: _Episode) -> EpisodeRecord:
        header = self._header(episode)
        meta = {**header["meta"], "ended": _now(), "origins": _origins(episode.calls)}
        if episode.faults:
            meta["faults"] = episode.faults
        return EpisodeRecord(id=episode.uid, tools=list(episode.tools.values()), calls=list(episode.calls),
                             hidden_context=episode.hidden_context, seed=self.seed, source=SOURCE, meta=meta)

    def _compact(self) -> None:
        """Rewrite the journal with the open episodes only (the closed ones are in the cassette)."""
        assert self._journal is not None
        lines = []
        for episode in self._open.values():
            lines.append(_entry(episode.uid, "open", header=self._header(episode)))
            lines += [_entry(episode.uid, "tool", tool=t.to_gtm()) for t in episode.tools.values()]
            for i, call in enumerate(episode.calls):
                extra = {"hidden_context": episode.hidden_context} if i == len(episode.calls) - 1 else {}
                lines.append(_entry(episode.uid, "call", call=call.to_json(), **extra))
            lines += [_entry(episode.uid, "fault", fault=f) for f in episode.faults]
        self._journal.seek(0)
        self._journal.truncate()
        self._write(lines)

    def stats(self) -> dict[str, Any]:
        return {"cassette": str(self.path), "open_episodes": len(self._open), "episodes_written":
                self.episodes_written, "calls_recorded": self.calls_recorded}


def _smaller_than(limit: int, *values: Any) -> bool:
    """Whether the strings and keys in `values` add up to fewer than `limit` characters (stops early)."""
    budget = limit
    stack = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            budget -= len(value)
        elif isinstance(value, dict):
            budget -= 8 * len(value)
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            budget -= 4 * len(value)
            stack.extend(value)
        else:
            budget -= 8
        if budget < 0:
            return False
    return True


def _entry(uid: str, kind: str, **fields: Any) -> str:
    return json.dumps({"e": uid, "k": kind, **fields}, ensure_ascii=False, default=str) + "\n"


def _origins(calls: list[CallRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in calls:
        counts[call.origin] = counts.get(call.origin, 0) + 1
    return counts


def append_lines(path: Path, lines: list[str]) -> None:
    """Append whole lines under an exclusive lock (other recorders may share the file), synced to disk."""
    with path.open("a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            f.write("".join(line.rstrip("\n") + "\n" for line in lines))
            f.flush()
            os.fsync(f.fileno())
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def recover_journals(path: Path) -> int:
    """Fold the journals of dead recorders (no one holds their lock) into the cassette."""
    recovered = 0
    for journal in journals_of(path):
        try:
            handle = journal.open("r+", encoding="utf-8")
        except OSError:
            continue
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live recorder owns it
            episodes = fold_journal(handle, source=str(journal))
            if episodes:
                append_lines(path, [e.to_json_line() for e in episodes])
                recovered += len(episodes)
            journal.unlink()
    return recovered
