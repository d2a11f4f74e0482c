"""Where CPU-bound work whose size the input controls runs: in worker threads, few at a time.

Moving work off the event loop is not enough on its own. Python threads share one interpreter
lock, and every compute-bound thread competes with the event loop's thread for it: measured on 2
cores, eight such threads stretched the loop's wake-ups to ~1 s at the 99th percentile (p50
~110 ms), one or two kept them at ~15-30 ms (benchmarks/healthz_under_attack.py shows the effect
end to end). So argument and output checks, upload parsing, watched-file reloads, "did you mean"
lookups (and schema generation) share one small pool: `run_cpu` runs a function there, at most
`cpu_threads()` at a time; the rest wait their turn without holding the loop. Model generation
(torch releases the lock) and blocking I/O keep anyio's default pool.

`tune_for_serving` also shortens the interpreter's switch interval so that the loop's thread gets
the lock back within ~1 ms, instead of 5, whenever it has something to do.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar

T = TypeVar("T")
DEFAULT_THREADS = 2
_threads = DEFAULT_THREADS
_limiter: RunVar[anyio.CapacityLimiter] = RunVar("gtm_mcp_cpu_work")


def cpu_threads() -> int:
    return _threads


def tune_for_serving(threads: int = DEFAULT_THREADS, switch_interval_s: float = 0.001) -> None:
    """Set the pool's size and the interpreter's switch interval (once, before serving)."""
    global _threads
    _threads = max(1, threads)
    sys.setswitchinterval(switch_interval_s)


def cpu_limiter() -> anyio.CapacityLimiter:
    """The pool's limiter for the running event loop."""
    try:
        return _limiter.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(_threads)
        _limiter.set(limiter)
        return limiter


async def run_cpu(func: Callable[..., T], *args: Any) -> T:
    """`func(*args)` in the CPU-work pool (waits for a free thread without blocking the loop)."""
    return await anyio.to_thread.run_sync(func, *args, limiter=cpu_limiter())
