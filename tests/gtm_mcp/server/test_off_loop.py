"""Work whose size the input controls runs in worker threads: while the server parses a large admin
upload, or reloads a large watched file (the real Seal-Tools set, 4,076 tools, seconds of parsing
on this machine), `/healthz` keeps answering promptly.

The bound is a ratio measured in the same run: the slowest `/healthz` answer while the work is in
progress must be a small fraction of the time the work takes (on the event loop, one answer would
wait for all of it).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx
from conftest import SEAL_TOOLS, need, run_server


async def _healthz_while(base: str, work: Callable[[], Awaitable[None]]) -> tuple[float, list[float]]:
    """(seconds `work` took, latencies of the /healthz calls answered meanwhile)."""
    latencies: list[float] = []
    done = anyio.Event()

    async def probe(client: httpx.AsyncClient) -> None:
        while not done.is_set():
            start = time.perf_counter()
            response = await client.get("/healthz")
            assert response.status_code == 200
            if not done.is_set():
                latencies.append(time.perf_counter() - start)
            await anyio.sleep(0.02)

    async with httpx.AsyncClient(base_url=base, timeout=60) as client, anyio.create_task_group() as tg:
        await client.get("/healthz")  # connection up before timing starts
        tg.start_soon(probe, client)
        start = time.perf_counter()
        await work()
        took = time.perf_counter() - start
        done.set()
    return took, latencies


def _assert_prompt(took: float, latencies: list[float], what: str) -> None:
    assert took > 0.5, f"{what} took only {took:.2f} s: too little to show anything"
    assert len(latencies) >= 5, f"/healthz answered {len(latencies)} times during {took:.2f} s of {what}"
    assert max(latencies) < took / 4, (f"/healthz waited {max(latencies):.2f} s during {took:.2f} s of {what}: "
                                       "the work ran on the event loop")


def test_upload_and_watched_reload_leave_the_loop_free(tmp_path: Path) -> None:
    records = [json.loads(line) for line in need(SEAL_TOOLS).read_text().splitlines() if line.strip()]
    upload = json.dumps([{**r, "api_name": f"up_{r['api_name']}"} for r in records])  # no clash with the watch
    watched = tmp_path / "watched"
    watched.mkdir()
    with run_server("--watch", str(watched), "--watch-interval", "0.2", tmp_path=tmp_path) as server:
        async def post() -> None:
            async with httpx.AsyncClient(base_url=server.base, timeout=120) as admin:
                response = await admin.post("/admin/tools", content=upload,
                                            headers={"content-type": "application/json"})
                assert response.status_code == 201, response.text[:500]
                assert len(response.json()["added"]) == len(records)

        took, latencies = anyio.run(_healthz_while, server.base, post)
        _assert_prompt(took, latencies, "parsing the upload")

        async def reload() -> None:
            shutil.copy(SEAL_TOOLS, watched / "seal.jsonl")
            async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
                with anyio.fail_after(120):
                    while (await client.get("/healthz")).json()["tools"] < 2 * len(records):
                        await anyio.sleep(0.05)

        took, latencies = anyio.run(_healthz_while, server.base, reload)
        _assert_prompt(took, latencies, "reloading the watched file")
        print(f"upload and reload: /healthz p_max {max(latencies) * 1000:.0f} ms during {took:.2f} s")
