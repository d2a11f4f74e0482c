"""Many sessions calling at once over one real HTTP server never see each other's ids."""

from __future__ import annotations

import anyio
import httpx
from mcp import Client


def test_concurrent_sessions_never_share_ids(example_server) -> None:
    sessions = [f"episode-{i}" for i in range(24)]
    created: dict[str, set[str]] = {s: set() for s in sessions}
    listed: dict[str, set[str]] = {}

    async def episode(client: Client, session: str) -> None:
        meta = {"gtm-mcp/session": session}
        for i in range(3):
            result = await client.call_tool("create_order", {"product": f"{session}-item-{i}", "quantity": 1},
                                            meta=meta)
            assert not result.is_error
            created[session].add(result.structured_content["order_id"])
        fetched = await client.call_tool("get_order", {"order_id": sorted(created[session])[0]}, meta=meta)
        # The remembered order comes back with the product it was created with.
        assert fetched.structured_content["product"].startswith(session)
        orders = (await client.call_tool("list_orders", {}, meta=meta)).structured_content["orders"]
        listed[session] = {o["order_id"] for o in orders}

    async def main() -> None:
        async with Client(example_server.url) as client, anyio.create_task_group() as tg:
            for session in sessions:
                tg.start_soon(episode, client, session)

    anyio.run(main)
    for session in sessions:
        assert listed[session] == created[session], session  # its own orders, all of them
        others = set().union(*(created[s] for s in sessions if s != session))
        assert not listed[session] & others
    stats = httpx.get(f"{example_server.base}/healthz").json()
    assert stats["sessions"] >= len(sessions)
