"""Side by side: real MCP servers with resources and prompts, and the simulator's mirror of each
(`--mirror`, built in process from the real server over stdio), asked the same things through the
official client. Lists, recorded resources, prompts (messages included) and completions must be
the same; a resource written through a tool must read back on both."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from real_servers import RealServer, everything_server, sqlite_server

from gtm_mcp.config import load_settings
from gtm_mcp.server.mcp_server import build_server
from gtm_mcp.server.runtime import build_runtime

warnings.filterwarnings("ignore", message=".*deprecated as of 2026-07-28.*")


def mirror_of(real: RealServer) -> Any:
    simulator, surface = build_runtime(load_settings({"mirror": [real.spec]}, env={}))
    return build_server(simulator, surface=surface)


def connect(real: RealServer) -> Client:
    return Client(StdioServerParameters(command=real.argv[0], args=real.argv[1:]), mode="legacy")


def dumped(items: list[Any]) -> list[dict[str, Any]]:
    return [i.model_dump(by_alias=True, exclude_none=True, exclude={"meta"}) for i in items]


async def surface_of(client: Client, *, templates: bool = True) -> dict[str, Any]:
    return {"resources": dumped((await client.list_resources()).resources),
            "templates": dumped((await client.list_resource_templates()).resource_templates) if templates else [],
            "prompts": dumped((await client.list_prompts()).prompts)}


def test_sqlite_resources_prompts_and_a_memo_written_through_a_tool(tmp_path: Path) -> None:
    real = sqlite_server(tmp_path)
    mirror = mirror_of(real)  # the mirror reads the memo as it is now: before any insight

    async def main() -> None:
        async with connect(real) as original, Client(mirror, mode="legacy") as simulated:
            ours = await surface_of(simulated, templates=False)
            theirs = await surface_of(original, templates=False)  # SDK 1.x sqlite has no resource templates
            assert ours == theirs and ours["resources"][0]["uri"] == "memo://insights"
            memo = [(await c.read_resource("memo://insights")).contents[0] for c in (original, simulated)]
            assert memo[0].text == memo[1].text and memo[0].mime_type == memo[1].mime_type
            for topic in ("retail", "space travel"):
                got = [await c.get_prompt("mcp-demo", {"topic": topic}) for c in (original, simulated)]
                assert dumped(got[0].messages) == dumped(got[1].messages)
                assert topic in got[1].messages[0].content.text
            insight = "Weekend orders are twice weekday orders."
            for client in (original, simulated):
                assert not (await client.call_tool("append_insight", {"insight": insight})).is_error
            after = [(await c.read_resource("memo://insights")).contents[0].text for c in (original, simulated)]
            assert insight in after[0] and insight in after[1]

    anyio.run(main)


def _without_clock(value: Any) -> Any:
    """The everything server stamps the time into dynamic resources: compare without it."""
    text = repr(value)
    return re.sub(r"\d{1,2}:\d{2}:\d{2} [AP]M", "<time>", text)


def test_everything_lists_reads_prompts_and_completions() -> None:
    real = everything_server()
    mirror = mirror_of(real)
    prompt_calls = [("simple-prompt", {}), ("args-prompt", {"city": "Paris"}),
                    ("args-prompt", {"city": "Paris", "state": "TX"}),
                    ("completable-prompt", {"department": "Sales", "name": "Eve"}),
                    ("resource-prompt", {"resourceType": "Text", "resourceId": "1"}),
                    ("resource-prompt", {"resourceType": "Text", "resourceId": "7"})]

    async def main() -> None:
        async with connect(real) as original, Client(mirror, mode="legacy") as simulated:
            theirs, ours = await surface_of(original), await surface_of(simulated)
            assert ours == theirs and len(ours["resources"]) >= 5 and len(ours["prompts"]) == 4
            for resource in theirs["resources"]:  # static documents: recorded at mirror time
                read = [(await c.read_resource(resource["uri"])).contents[0] for c in (original, simulated)]
                assert read[0].text == read[1].text and read[0].mime_type == read[1].mime_type
            for name, arguments in prompt_calls:
                got = [await c.get_prompt(name, arguments) for c in (original, simulated)]
                assert _without_clock(dumped(got[0].messages)) == _without_clock(dumped(got[1].messages)), name
            ref = {"type": "ref/prompt", "name": "completable-prompt"}
            for typed in ("", "S", "Eng"):
                values = [(await c.complete(ref, {"name": "department", "value": typed})).completion.values
                          for c in (original, simulated)]
                assert values[0] == values[1]
            dynamic = [(await c.read_resource("demo://resource/dynamic/text/3")).contents[0]
                       for c in (original, simulated)]
            assert dynamic[0].mime_type == dynamic[1].mime_type == "text/plain" and "3" in dynamic[1].text
            blob = await simulated.read_resource("demo://resource/dynamic/blob/3")
            assert blob.contents[0].blob and blob.contents[0].mime_type == "application/octet-stream"

    anyio.run(main)
