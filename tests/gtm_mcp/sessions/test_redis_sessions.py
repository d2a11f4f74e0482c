"""Sessions shared through a real `redis-server`: replicas see each other's episodes, calls of one
session never overwrite each other, a killed replica loses no episode, and a backend that keeps a
non-JSON object in its session state is refused loudly."""

from __future__ import annotations

import logging
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from conftest import run_server
from redis_server import redis_server

from gtm_mcp.backends.base import BackendHealth
from gtm_mcp.calls.pipeline import Outcome, Simulator
from gtm_mcp.config import load_settings
from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.server.runtime import build_simulator
from gtm_mcp.sessions.codec import SessionStateError, session_from_json, session_to_json
from gtm_mcp.sessions.redis_store import RedisSessionStore
from gtm_mcp.sessions.store import Session
from gtm_mcp.tools.catalog import ToolCatalog


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


def replica(redis_url: str, prefix: str) -> Simulator:
    return build_simulator(load_settings({"session_store": "redis", "redis_url": redis_url, "redis_prefix": prefix},
                                         env={}))


def test_session_json_round_trip_and_clear_refusal() -> None:
    session = Session(key="k", max_history=5, hidden_context="gold", state={"schema": {"ids": {"order_id": ["o1"]}}})
    again = session_from_json(session_to_json(session), max_history=5)
    assert (again.key, again.hidden_context, again.state) == ("k", "gold", session.state)
    session.state["cache"] = {"when": object()}
    with pytest.raises(SessionStateError, match=r"state\['cache'\]\['when'\] holds a builtins.object"):
        session_to_json(session)
    session.state["cache"] = {1: "int key"}
    with pytest.raises(SessionStateError, match="JSON keys are strings"):
        session_to_json(session)


class ObjectKeepingBackend:
    """A backend that keeps a Python object in the session state (what the redis store refuses)."""

    name = "objects"
    repairable = False

    async def simulate(self, request: Any) -> dict[str, Any]:
        request.state["handle"] = object()
        return {"ok": True}

    async def health(self) -> BackendHealth:
        return BackendHealth("ok")

    async def aclose(self) -> None:
        return None


def test_non_json_backend_state_fails_the_call_loudly_and_writes_nothing(redis_url: str, caplog) -> None:
    tool = ToolDefinition(name="ping", input_schema={"type": "object", "properties": {}})
    store = RedisSessionStore(redis_url, prefix=f"t-{uuid.uuid4().hex[:6]}:")
    simulator = Simulator(ToolCatalog([tool]), ObjectKeepingBackend(), store)
    with caplog.at_level(logging.ERROR):
        result = anyio.run(lambda: simulator.call("ping", {}, session_key="ep"))
    assert result.outcome is Outcome.INTERNAL_ERROR and "ref " in result.text and "object" not in result.text
    assert "state['handle'] holds a builtins.object" in caplog.text and "plain JSON" in caplog.text
    assert store.peek("ep") is None


def test_two_replicas_serialise_calls_of_one_session(redis_url: str) -> None:
    prefix = f"t-{uuid.uuid4().hex[:6]}:"
    a, b = replica(redis_url, prefix), replica(redis_url, prefix)

    async def main() -> list[Any]:
        created = await a.call("create_order", {"product": "lamp", "quantity": 3}, session_key="shop")
        order_id = created.structured["order_id"]
        reads: list[Any] = []

        async def read(i: int) -> None:
            reads.append(await (a if i % 2 else b).call("get_order", {"order_id": order_id}, session_key="shop"))

        async with anyio.create_task_group() as tg:
            for i in range(30):
                tg.start_soon(read, i)
        return reads

    reads = anyio.run(main)
    assert all(r.outcome is Outcome.OK and r.structured["product"] == "lamp" and r.structured["quantity"] == 3
               for r in reads)
    stored = a.sessions.peek("shop")
    assert stored is not None and stored.calls == 31 and len(stored.history) == 31  # no lost update
    assert b.sessions.peek("other") is None
    assert a.sessions.stats()["lock_waits"] + b.sessions.stats()["lock_waits"] > 0  # they did contend


async def call(client: Any, tool: str, arguments: dict[str, Any], episode: str) -> Any:
    return await client.call_tool(tool, arguments, meta={"gtm-mcp/session": episode})


def test_an_episode_survives_a_replica_killed_mid_episode(redis_url: str, tmp_path: Path) -> None:
    """Two `gtm-mcp serve` processes share Redis; episodes start on both, one replica is killed
    (SIGKILL) while calls are in flight on it, every episode goes on on the other and on a
    restarted replica, and reads back what it created."""
    from mcp import Client

    flags = ("--session-store", "redis", "--redis-url", redis_url, "--redis-prefix", f"kill-{uuid.uuid4().hex[:6]}:")
    episodes = [f"episode-{i}" for i in range(12)]
    orders: dict[str, tuple[str, str, int]] = {}
    with run_server(*flags, tmp_path=tmp_path) as first, run_server(*flags, tmp_path=tmp_path) as second:

        async def start_and_kill() -> int:
            async with Client(first.url) as on_first, Client(second.url) as on_second:
                for i, episode in enumerate(episodes):
                    client = on_first if i % 2 else on_second
                    result = await call(client, "create_order", {"product": f"item-{i}", "quantity": i + 1}, episode)
                    orders[episode] = (result.structured_content["order_id"], f"item-{i}", i + 1)
                failed = 0

                async def read_on_first(episode: str) -> None:
                    nonlocal failed
                    try:
                        await call(on_first, "get_order", {"order_id": orders[episode][0]}, episode)
                    except Exception:
                        failed += 1

                async with anyio.create_task_group() as tg:
                    tg.cancel_scope.deadline = anyio.current_time() + 20
                    for episode in episodes:
                        tg.start_soon(read_on_first, episode)
                    await anyio.sleep(0.05)
                    os.kill(first.proc.pid, signal.SIGKILL)  # mid-episode, with calls in flight on it
            return failed

        try:
            anyio.run(start_and_kill)
        except BaseException as e:  # the dead replica's client may fail on close; the episodes are what count
            if not isinstance(e, (ExceptionGroup, httpx.HTTPError, OSError)):
                raise

        async def go_on(url: str) -> list[str]:
            lost = []
            async with Client(url) as client:
                for episode in episodes:
                    order_id, product, quantity = orders[episode]
                    got = await call(client, "get_order", {"order_id": order_id}, episode)
                    data = got.structured_content or {}
                    if got.is_error or data.get("product") != product or data.get("quantity") != quantity:
                        lost.append(episode)
            return lost

        assert anyio.run(go_on, second.url) == []
        with run_server(*flags, tmp_path=tmp_path) as restarted:
            assert anyio.run(go_on, restarted.url) == []
            history = httpx.get(f"{restarted.base}/admin/sessions/{episodes[0]}", timeout=10).json()["history"]
            assert history[0]["tool"] == "create_order" and {c["tool"] for c in history} == {"create_order",
                                                                                              "get_order"}
