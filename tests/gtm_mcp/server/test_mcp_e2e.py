"""The official `mcp` client against the real server over streamable HTTP (a real socket) and stdio
(a subprocess), in both protocol eras, with all 527 LiveMCPBench tools."""

from __future__ import annotations

import json
import random
import sys

import anyio
import jsonschema
import pytest
from conftest import LIVEMCPBENCH, REPO, need
from mcp import Client, StdioServerParameters
from sample_args import bad_calls, valid_arguments

MODES = ["auto", "legacy"]


def text_of(result) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


async def list_all_tools(client: Client) -> list:
    """Every tool, following tools/list cursors (large catalogues come in pages)."""
    page = await client.list_tools()
    tools = list(page.tools)
    while page.next_cursor:
        page = await client.list_tools(cursor=page.next_cursor)
        tools += page.tools
    return tools


async def check_valid_calls(client: Client, expected_tools: int, sample_size: int = 60) -> None:
    tools = await list_all_tools(client)
    assert len(tools) == expected_tools
    callable_tools = [(t, a) for t in tools if (a := valid_arguments(t.input_schema)) is not None]
    assert len(callable_tools) > expected_tools * 0.8
    for tool, args in random.Random(3).sample(callable_tools, min(sample_size, len(callable_tools))):
        result = await client.call_tool(tool.name, args)
        assert not result.is_error, (tool.name, text_of(result))
        assert text_of(result).strip()
        if tool.output_schema is not None:
            # The text block carries the same JSON as structuredContent.
            assert json.loads(text_of(result)) == result.structured_content
            jsonschema.validate(result.structured_content, tool.output_schema)
        else:  # a tool without an output schema answers in text, as real tools do
            assert result.structured_content is None


async def check_bad_calls(client: Client) -> set[str]:
    tools = await list_all_tools(client)
    kinds_seen: set[str] = set()
    cases = [(t.name, *case) for t in tools for case in bad_calls(t.name, t.input_schema)]
    by_kind: dict[str, list] = {}
    for case in cases:
        by_kind.setdefault(case[1], []).append(case)
    for kind, group in by_kind.items():
        for name, _, args, param in random.Random(5).sample(group, min(8, len(group))):
            result = await client.call_tool(name, args)
            text = text_of(result)
            assert result.is_error, (kind, name, args)
            assert param in text, (kind, name, text)
            assert f"[{kind}" in text, (kind, text)  # classified like CARG's four kinds
            assert result.structured_content is None
            kinds_seen.add(kind)
    unknown = await client.call_tool("bing_serch", {"query": "x"})
    assert unknown.is_error and "bing_search" in text_of(unknown)  # the closest known name is suggested
    return kinds_seen


@pytest.mark.parametrize("mode", MODES)
def test_http_valid_and_bad_calls(livemcpbench_server, mode: str) -> None:
    async def main() -> None:
        async with Client(livemcpbench_server.url, mode=mode) as client:
            await check_valid_calls(client, 527)
            kinds = await check_bad_calls(client)
        assert kinds == {"wrong type", "missing required", "unexpected parameter", "invalid value"}

    anyio.run(main)


@pytest.mark.parametrize("mode", MODES)
def test_stdio_valid_and_bad_calls(mode: str) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "gtm_mcp", "serve", "--tools",
                                                                 str(need(LIVEMCPBENCH))], cwd=str(REPO))

    async def main() -> None:
        async with Client(params, mode=mode) as client:
            await check_valid_calls(client, 527, sample_size=30)
            kinds = await check_bad_calls(client)
        assert len(kinds) == 4

    anyio.run(main)


def test_http_path_names_the_session(example_server) -> None:
    """/mcp/<session> puts calls in that session; _meta overrides the path."""
    import httpx

    async def main() -> None:
        async with Client(f"{example_server.base}/mcp/episode-a") as a, \
                Client(f"{example_server.base}/mcp/episode-b") as b:
            order = (await a.call_tool("create_order", {"product": "lamp", "quantity": 2})).structured_content
            listed_a = (await a.call_tool("list_orders", {})).structured_content
            listed_b = (await b.call_tool("list_orders", {})).structured_content
            assert order["order_id"] in [o["order_id"] for o in listed_a["orders"]]
            assert order["order_id"] not in [o["order_id"] for o in listed_b["orders"]]
            await b.call_tool("list_orders", {}, meta={"gtm-mcp/session": "episode-a"})

    anyio.run(main)
    sessions = httpx.get(f"{example_server.base}/admin/sessions/episode-a").json()
    assert [c["tool"] for c in sessions["history"]][-3:] == ["create_order", "list_orders", "list_orders"]


def test_healthz_reports_backend_and_counts(example_server) -> None:
    import httpx

    body = httpx.get(f"{example_server.base}/healthz").json()
    assert body["status"] == "ok"
    assert body["backend"]["name"] == "schema" and body["backend"]["state"] == "ok"
    assert body["tools"] == 10


def test_dns_rebinding_protection_refuses_foreign_host(example_server) -> None:
    import httpx

    response = httpx.post(example_server.url, headers={"Host": "evil.example.com", "Content-Type": "application/json",
                                                       "Accept": "application/json, text/event-stream"},
                          content=b'{"jsonrpc":"2.0","id":1,"method":"ping"}')
    assert response.status_code == 421
