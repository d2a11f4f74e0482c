"""The list-changed fan-out: a connection that never reads delays nobody.

The stuck peer is a real SDK connection (`Connection` over a `JSONRPCDispatcher`) whose write
stream has no buffer and no reader, as a client that stopped reading its stream looks to the
server: every send to it blocks. The other client is the official SDK client (handshake era, in
memory), which must hear about every change promptly.
"""

from __future__ import annotations

import time

import anyio
import mcp.types as types
from mcp import Client
from mcp.server.connection import Connection
from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher

from gtm_mcp.backends.schema import SchemaBackend
from gtm_mcp.calls.pipeline import Simulator
from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.server.mcp_server import build_server
from gtm_mcp.sessions.store import SessionStore
from gtm_mcp.tools.catalog import ToolCatalog


def test_a_connection_that_never_reads_does_not_delay_the_others() -> None:
    catalog = ToolCatalog([ToolDefinition(name="first")])
    server = build_server(Simulator(catalog, SchemaBackend(), SessionStore()))
    server.notifier.timeout_s = 1.0
    heard: list[float] = []

    async def on_message(message: object) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            heard.append(time.perf_counter())

    async def main() -> list[float]:
        to_peer, _unread = anyio.create_memory_object_stream(0)  # nobody ever reads what the peer is sent
        _silent, from_peer = anyio.create_memory_object_stream(0)
        stuck = Connection(JSONRPCDispatcher(from_peer, to_peer), protocol_version="2025-11-25")
        delays = []
        async with Client(server, mode="legacy", message_handler=on_message) as client:
            await client.list_tools()  # the server now tracks this connection
            server.notifier.watch(stuck)
            for i in range(4):
                changed = time.perf_counter()
                catalog.add([ToolDefinition(name=f"tool_{i}")])
                with anyio.fail_after(5):
                    while len(heard) < i + 1:
                        await anyio.sleep(0.01)
                delays.append(heard[i] - changed)
                await anyio.sleep(0.4)  # the stuck send runs out of time during this loop
        return delays

    delays = anyio.run(main)
    assert max(delays) < 0.5, delays  # every change arrived well within the stuck connection's time limit
    assert server.notifier.dropped == 1 and server.notifier.sent >= 4
