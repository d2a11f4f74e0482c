"""A request-rate limit for the teacher: requests start at most `rate` per second (evenly spaced),
however many are waiting."""

from __future__ import annotations

import time

import anyio


class RateLimiter:
    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = anyio.Lock()

    async def acquire(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            await anyio.sleep(start - now)
