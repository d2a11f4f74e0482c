"""Resources and prompts added and removed while a real server runs (admin routes, a watched
directory), and clients of both protocol eras told that the lists changed."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import httpx
import mcp.types as types
from conftest import EXAMPLE_TOOLS, run_server
from mcp import Client

PROMPT = {"name": "triage_bug", "description": "Triage a bug report.",
          "arguments": [{"name": "title", "required": True}],
          "_meta": {"gtm-mcp/definition": {"messages": [
              {"role": "user", "content": {"type": "text", "text": "Triage: {{title}}"}}]}}}
RESOURCE = {"uri": "bugs://open", "name": "Open bugs", "mimeType": "application/json"}


def test_admin_and_watched_files_change_resources_and_prompts_and_clients_hear_it(tmp_path: Path) -> None:
    watched = tmp_path / "watched"
    watched.mkdir()
    with run_server("--tools", str(EXAMPLE_TOOLS), "--watch", str(watched), "--watch-interval", "0.2",
                    tmp_path=tmp_path) as server:
        async def main() -> None:
            heard: list = []

            async def on_message(message) -> None:
                heard.append(type(message))

            async with Client(server.url, mode="legacy", message_handler=on_message) as legacy, \
                    Client(server.url) as modern, httpx.AsyncClient(base_url=server.base) as admin:
                async with modern.listen(prompts_list_changed=True, resources_list_changed=True) as events:
                    added = await admin.post("/admin/tools", json={"prompts": [PROMPT], "resources": [RESOURCE]})
                    assert added.status_code == 201, added.text
                    assert added.json()["surface"]["prompts"] == ["triage_bug"] and added.json()["added"] == []
                    with anyio.fail_after(10):
                        kinds = set()
                        async for event in events:
                            kinds.add(type(event).__name__)
                            if len(kinds) == 2:
                                break
                with anyio.fail_after(10):
                    while not {types.PromptListChangedNotification, types.ResourceListChangedNotification} <= \
                            set(heard):
                        await anyio.sleep(0.05)
                got = await legacy.get_prompt("triage_bug", {"title": "crash on save"})
                assert got.messages[0].content.text == "Triage: crash on save"
                duplicate = await admin.post("/admin/tools", json={"prompts": [PROMPT]})
                assert duplicate.status_code == 409 and "duplicate prompt 'triage_bug'" in duplicate.json()["error"]
                broken = await admin.post("/admin/tools", json={"resources": [{**RESOURCE, "uri": "no scheme"}]})
                assert broken.status_code == 400
                assert broken.json()["problems"][0]["pointer"] == "/resources/0/uri"
                listing = (await admin.get("/admin/surface")).json()
                row = next(p for p in listing["prompts"] if p["name"] == "triage_bug")
                assert row["source"] == "admin#/prompts/0" and row["arguments"] == ["title"]
                assert (await admin.delete("/admin/prompts/triage_bug")).status_code == 200
                assert (await admin.delete("/admin/prompts/triage_bug")).status_code == 404
                assert (await admin.delete("/admin/resources", params={"uri": "bugs://open"})).status_code == 200
                assert "triage_bug" not in [p.name for p in (await legacy.list_prompts()).prompts]

                (watched / "tickets.json").write_text(json.dumps({"resourceTemplates": [
                    {"uriTemplate": "tickets://{ticket_id}", "name": "Ticket", "mimeType": "application/json"}]}))
                with anyio.fail_after(15):
                    while "tickets://{ticket_id}" not in [
                            t.uri_template for t in (await legacy.list_resource_templates()).resource_templates]:
                        await anyio.sleep(0.2)
                ticket = await legacy.read_resource("tickets://T-42")
                assert "T-42" in ticket.contents[0].text
                (watched / "tickets.json").unlink()
                with anyio.fail_after(15):
                    while "tickets://{ticket_id}" in [
                            t.uri_template for t in (await legacy.list_resource_templates()).resource_templates]:
                        await anyio.sleep(0.2)

        anyio.run(main)
