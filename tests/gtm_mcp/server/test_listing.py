"""`tools/list` pagination for large catalogues, walked by the official SDK client (in memory):
all 8,010 tools of the toolsdk registry arrive, a walk stays consistent while tools change, and a
stale or forged cursor is a clear INVALID_PARAMS error."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import mcp.types as types
import pytest
from conftest import TOOLSDK, need
from mcp import Client
from mcp.shared.exceptions import MCPError

from gtm_mcp.backends.schema import SchemaBackend
from gtm_mcp.calls.pipeline import Simulator
from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.server.listing import KEPT_VERSIONS
from gtm_mcp.server.mcp_server import build_server
from gtm_mcp.sessions.store import SessionStore
from gtm_mcp.tools.catalog import ToolCatalog
from gtm_mcp.tools.loader import load_tools


@pytest.fixture(scope="module")
def toolsdk() -> Iterator[list[ToolDefinition]]:
    yield load_tools([need(TOOLSDK)])


async def walk(client: Client, cursor: str | None = None) -> tuple[list[str], int]:
    names: list[str] = []
    pages = 0
    while True:
        page = await client.list_tools(cursor=cursor)
        names += [t.name for t in page.tools]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return names, pages


def test_the_official_client_walks_every_toolsdk_tool(toolsdk: list[ToolDefinition]) -> None:
    assert len(toolsdk) == 8010
    simulator = Simulator(ToolCatalog(toolsdk), SchemaBackend(), SessionStore())

    async def main() -> None:
        for mode in ("auto", "legacy"):
            async with Client(build_server(simulator, page_size=500), mode=mode) as client:
                first = await client.list_tools()
                assert len(first.tools) == 500 and first.next_cursor
                names, pages = await walk(client)
                assert len(names) == 8010 and len(set(names)) == 8010 and pages == 17
                assert names == [t.name for t in toolsdk]  # catalogue order, no gaps, no repeats
                last = toolsdk[-1]
                result = await client.call_tool(last.name, {})  # a tool from the last page is callable
                assert not result.is_error

    anyio.run(main)


def test_a_walk_is_consistent_while_tools_change_and_bad_cursors_are_refused() -> None:
    tools = [ToolDefinition(name=f"tool_{i:03d}") for i in range(25)]
    catalog = ToolCatalog(tools)
    simulator = Simulator(catalog, SchemaBackend(), SessionStore())

    async def main() -> None:
        async with Client(build_server(simulator, page_size=10)) as client:
            first = await client.list_tools()
            catalog.add([ToolDefinition(name="added_midway")])
            catalog.remove(["tool_024"])
            rest, _ = await walk(client, first.next_cursor)
            # the walk finishes the list as it was when it started
            assert [t.name for t in first.tools] + rest == [t.name for t in tools]
            fresh, _ = await walk(client)
            assert "added_midway" in fresh and "tool_024" not in fresh

            stale = (await client.list_tools()).next_cursor
            for i in range(KEPT_VERSIONS + 1):
                catalog.add([ToolDefinition(name=f"churn_{i}")])
                await client.list_tools()
            with pytest.raises(MCPError) as refused:
                await client.list_tools(cursor=stale)
            assert refused.value.code == types.INVALID_PARAMS and "stale" in refused.value.message
            for forged in ("garbage", "eyJ4IjogMX0", first.next_cursor[:-3] + "AAA", ""):
                with pytest.raises(MCPError) as bad:
                    await client.list_tools(cursor=forged)
                assert bad.value.code == types.INVALID_PARAMS and "list again without a cursor" in bad.value.message
            assert len((await walk(client))[0]) == len(catalog)  # the server is fine afterwards

    anyio.run(main)
