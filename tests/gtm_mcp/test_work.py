"""The CPU-work pool: at most `cpu_threads()` functions at a time, the rest wait without blocking."""

from __future__ import annotations

import sys
import threading
import time

import anyio

from gtm_mcp import work


def test_the_pool_runs_at_most_its_size_at_once(monkeypatch) -> None:
    monkeypatch.setattr(work, "_threads", 2)
    monkeypatch.setattr(sys, "setswitchinterval", lambda s: None)  # the test process keeps its own
    running = 0
    peak = 0
    lock = threading.Lock()

    def job() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(6):
                tg.start_soon(work.run_cpu, job)

    anyio.run(main)
    assert peak == 2


def test_tuning_for_serving(monkeypatch) -> None:
    seen: list[float] = []
    monkeypatch.setattr(sys, "setswitchinterval", seen.append)
    monkeypatch.setattr(work, "_threads", work.DEFAULT_THREADS)
    work.tune_for_serving(3)
    assert work.cpu_threads() == 3 and seen == [0.001]
