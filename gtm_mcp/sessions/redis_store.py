"""Sessions shared by several server processes through Redis (`--session-store redis`).

Several `gtm-mcp serve` replicas behind a load balancer serve the same episodes: any replica can
take any call of any session, and a replica that dies loses nothing but the calls it was answering.

Per call (`lease`), in two round trips:

1. one Lua script takes the session's lock (`SET NX PX`, a random token) and reads its JSON
   document; when another call of the same session holds the lock (on this replica or another),
   the call waits for it (polling with backoff, at most `lock_wait_s`): calls of one session are
   serialised across replicas, so each sees every call before it and two calls never overwrite
   each other's changes;
2. after the call, one Lua script writes the document back (with the idle TTL), updates the index of
   sessions (a sorted set by last use: listing, `max_sessions` eviction) and releases the lock, all
   only if the lock is still this call's (a fencing check: a call whose lock was lost writes nothing).

The lock's TTL is short (`lock_ttl_s`, default 10 s) and renewed every third of it while the call
runs, so a long model call keeps it and a replica killed mid-call blocks its session for at most
`lock_ttl_s`. Sessions travel as JSON (`gtm_mcp.sessions.codec`): a backend that keeps a non-JSON
object in `Session.state` makes the call fail with a `SessionStateError` naming it.

The admin routes (`peek`, `drop`, `edit`, `summaries`) use a synchronous client with
a 2-second socket timeout: they are operator actions, one or two local round trips each. `stats()`
reads only figures kept in this process (the health route never waits on Redis).
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio

from gtm_mcp.sessions.codec import session_from_json, session_to_json
from gtm_mcp.sessions.store import DEFAULT_MAX_BYTES, Session

log = logging.getLogger(__name__)

# KEYS: lock, doc. ARGV: token, lock ttl ms. -> {1, doc or false} | {0, lock pttl}
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('GET', KEYS[2])}
end
return {0, redis.call('PTTL', KEYS[1])}
"""
# KEYS: lock, doc, index. ARGV: token, doc, idle ttl ms, now (s), key, max sessions, doc key prefix.
# -> {-1} lock lost | {sessions, evicted, expired}
_SAVE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1} end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
redis.call('DEL', KEYS[1])
local expired = redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', tonumber(ARGV[4]) - tonumber(ARGV[3]) / 1000)
local n = redis.call('ZCARD', KEYS[3])
local evicted = 0
local limit = tonumber(ARGV[6])
if n > limit then
  local old = redis.call('ZPOPMIN', KEYS[3], n - limit)
  for i = 1, #old, 2 do
    redis.call('DEL', ARGV[7] .. old[i])
    evicted = evicted + 1
  end
end
return {n - evicted, evicted, expired}
"""
# KEYS: lock. ARGV: token[, ttl ms]
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
_RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"


class SessionBusyError(RuntimeError):
    """Another call of the session held it for longer than this call may wait."""


class SessionLockLost(RuntimeError):
    """The call's lock on its session expired before it finished (nothing was written)."""


def _redis_modules() -> tuple[Any, Any]:
    try:
        import redis
        import redis.asyncio as aredis
    except ImportError:
        raise ImportError("--session-store redis needs the redis client: pip install 'gtm-mcp[redis]'") from None
    return redis, aredis


class RedisSessionStore:
    """`SessionStore`'s interface over Redis, shared by every replica that names the same URL and
    prefix. `max_sessions`, `idle_ttl_s`, `max_history` and `max_session_bytes` mean what they mean in
    memory."""

    name = "redis"

    def __init__(self, url: str, *, prefix: str = "gtm-mcp:", max_sessions: int = 10_000,
                 idle_ttl_s: float = 3600.0, max_history: int = 200, lock_ttl_s: float = 10.0,
                 lock_wait_s: float = 130.0, world: dict[str, Any] | None = None,
                 max_session_bytes: int = DEFAULT_MAX_BYTES) -> None:
        redis, _ = _redis_modules()
        self.world = world  # the declared initial world of every new session (`--world FILE`), if any
        self.url = url
        self.prefix = prefix
        self.max_sessions = max_sessions
        self.idle_ttl_s = idle_ttl_s
        self.max_history = max_history
        self.max_session_bytes = max_session_bytes
        self.lock_ttl_s = lock_ttl_s
        self.lock_wait_s = lock_wait_s
        self._sync = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._async: Any = None
        self._async_loop: object | None = None
        self._scripts: dict[str, Any] = {}
        self._leased: dict[str, Session] = {}
        self._local_locks: dict[str, tuple[anyio.Lock, int]] = {}
        self.counts: dict[str, int] = {"sessions": 0, "evicted": 0, "expired": 0, "lock_waits": 0, "saves": 0}
        self._sync.ping()  # fail at start, with the URL, rather than at the first call

    def _session(self, key: str, document: Any) -> Session:
        """The stored session (or a new one when there is none), with this store's limits."""
        if document:
            return session_from_json(document, max_history=self.max_history, max_bytes=self.max_session_bytes)
        return Session(key=key, max_history=self.max_history, world=self.world, max_bytes=self.max_session_bytes)

    # -- keys ----------------------------------------------------------------------------------

    def _doc(self, key: str) -> str:
        return f"{self.prefix}s:{key}"

    def _lock(self, key: str) -> str:
        return f"{self.prefix}l:{key}"

    @property
    def _index(self) -> str:
        return f"{self.prefix}index"

    def _client(self) -> Any:
        """The asyncio client of the running event loop (a client is bound to the loop it ran in)."""
        import asyncio

        loop = asyncio.get_running_loop()
        if self._async is None or self._async_loop is not loop:
            _, aredis = _redis_modules()
            self._async = aredis.Redis.from_url(self.url, socket_timeout=10.0, socket_connect_timeout=5.0)
            self._async_loop = loop
            self._scripts = {name: self._async.register_script(body) for name, body in
                             (("acquire", _ACQUIRE), ("save", _SAVE), ("release", _RELEASE), ("renew", _RENEW))}
        return self._async

    # -- one call --------------------------------------------------------------------------------

    @asynccontextmanager
    async def lease(self, key: str) -> AsyncIterator[Session]:
        """Exclusive use of the session for one call; what the call changed is written back when
        the block ends without an exception (an exception leaves the stored session as it was)."""
        async with self._local(key):
            self._client()
            token = secrets.token_hex(8)
            payload = await self._acquire(key, token)
            lost = anyio.Event()
            try:
                session = self._session(key, payload)
                self._leased[key] = session
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._keep, key, token, lost)
                    try:
                        yield session
                    finally:
                        tg.cancel_scope.cancel()
                await self._save(key, token, session, lost.is_set())
            finally:
                self._leased.pop(key, None)
                await self._release(key, token)

    @asynccontextmanager
    async def _local(self, key: str) -> AsyncIterator[None]:
        """Calls of one session in this process queue here, not by polling Redis."""
        lock, users = self._local_locks.get(key, (None, 0))
        if lock is None:
            lock = anyio.Lock()
        self._local_locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._local_locks[key]
            if users <= 1:
                del self._local_locks[key]
            else:
                self._local_locks[key] = (lock, users - 1)

    async def _acquire(self, key: str, token: str) -> bytes | None:
        ttl_ms = int(self.lock_ttl_s * 1000)
        deadline = time.monotonic() + self.lock_wait_s
        delay = 0.002
        while True:
            taken, value = await self._scripts["acquire"](keys=[self._lock(key), self._doc(key)], args=[token, ttl_ms])
            if taken:
                return value or None
            self.counts["lock_waits"] += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SessionBusyError(f"session {key!r} is busy: another call of it has held it for more than "
                                       f"{self.lock_wait_s:g} s")
            await anyio.sleep(min(delay * (0.5 + random.random()), remaining, max(int(value), 1) / 1000))
            delay = min(delay * 2, 0.05)

    async def _keep(self, key: str, token: str, lost: anyio.Event) -> None:
        """Renew the lock every third of its TTL while the call runs; never raises (a lost lock is
        noted and the save refuses to write)."""
        ttl_ms = int(self.lock_ttl_s * 1000)
        while True:
            await anyio.sleep(self.lock_ttl_s / 3)
            try:
                renewed = await self._scripts["renew"](keys=[self._lock(key)], args=[token, ttl_ms])
            except Exception as e:  # Redis unreachable: the save will find out too
                log.warning("could not renew the lock of session %r: %s", key, e)
                continue
            if not renewed:
                lost.set()
                return

    async def _save(self, key: str, token: str, session: Session, lost: bool) -> None:
        document = session_to_json(session)  # SessionStateError for non-JSON backend state
        if lost:
            raise SessionLockLost(f"the lock of session {key!r} expired during the call; nothing was written")
        result = await self._scripts["save"](
            keys=[self._lock(key), self._doc(key), self._index],
            args=[token, document, int(self.idle_ttl_s * 1000), f"{time.time():.6f}", key, self.max_sessions,
                  f"{self.prefix}s:"])
        if int(result[0]) < 0:
            raise SessionLockLost(f"the lock of session {key!r} expired during the call; nothing was written")
        self.counts["saves"] += 1
        self.counts["sessions"] = int(result[0])
        self.counts["evicted"] += int(result[1])
        self.counts["expired"] += int(result[2])

    async def _release(self, key: str, token: str) -> None:
        try:
            with anyio.CancelScope(shield=True):
                await self._scripts["release"](keys=[self._lock(key)], args=[token])
        except Exception as e:  # the lock expires by itself within lock_ttl_s
            log.warning("could not release the lock of session %r: %s", key, e)

    # -- the SessionStore interface for admin routes and tests ----------------------------------

    def __len__(self) -> int:
        return int(self._sync.zcard(self._index))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(self._sync.exists(self._doc(key)))

    def get(self, key: str) -> Session:
        """The session a call in flight holds (the pipeline's view inside `lease`)."""
        session = self._leased.get(key)
        if session is None:
            raise RuntimeError(f"session {key!r} is not leased: with the redis store, take it with "
                               "`async with store.lease(key)` (or read it with peek())")
        return session

    def peek(self, key: str) -> Session | None:
        payload = self._sync.get(self._doc(key))
        return self._session(key, payload) if payload else None

    def drop(self, key: str) -> bool:
        pipe = self._sync.pipeline()
        pipe.delete(self._doc(key))
        pipe.zrem(self._index, key)
        deleted, _ = pipe.execute()
        return bool(deleted)

    def edit(self, key: str, change: Callable[[Session], None]) -> Session:
        """Apply `change` to the session outside any call, taking its lock like a call does (waits at
        most 2 s), and save it; returns the session as saved."""
        token = secrets.token_hex(8)
        acquire = self._sync.register_script(_ACQUIRE)
        deadline = time.monotonic() + 2.0
        while True:
            taken, value = acquire(keys=[self._lock(key), self._doc(key)], args=[token, int(self.lock_ttl_s * 1000)])
            if taken:
                break
            if time.monotonic() > deadline:
                raise SessionBusyError(f"session {key!r} is busy with a call; try again")
            time.sleep(0.01)
        try:
            session = self._session(key, value)
            change(session)
            self._sync.register_script(_SAVE)(
                keys=[self._lock(key), self._doc(key), self._index],
                args=[token, session_to_json(session), int(self.idle_ttl_s * 1000), f"{time.time():.6f}", key,
                      self.max_sessions, f"{self.prefix}s:"])
        finally:
            self._sync.register_script(_RELEASE)(keys=[self._lock(key)], args=[token])
        return session

    def sweep(self, now: float | None = None) -> int:
        """Forget index entries of sessions idle past the TTL (Redis expired their documents)."""
        removed = int(self._sync.zremrangebyscore(self._index, "-inf", time.time() - self.idle_ttl_s))
        self.counts["expired"] += removed
        return removed

    def summaries(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Summaries of the least recently used sessions first, at most `limit`."""
        entries = self._sync.zrange(self._index, 0, max(limit, 1) - 1, withscores=True)
        if not entries:
            return []
        documents = self._sync.mget([self._doc(k.decode()) for k, _ in entries])
        out = []
        now = time.time()
        for (_key, used), document in zip(entries, documents, strict=True):
            if document is None:
                continue
            summary = self._session(_key.decode(), document).summary()
            summary["idle_s"] = round(now - used, 1)
            out.append(summary)
        return out

    def stats(self) -> dict[str, Any]:
        return {"session_store": self.name, "sessions": self.counts["sessions"], "max_sessions": self.max_sessions,
                "idle_ttl_s": self.idle_ttl_s, "max_history": self.max_history,
                "max_session_bytes": self.max_session_bytes, "evicted": self.counts["evicted"],
                "expired": self.counts["expired"], "lock_waits": self.counts["lock_waits"]}

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.aclose()
            self._async = None
        self._sync.close()
