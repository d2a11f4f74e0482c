"""Tools added and removed while the server runs (admin HTTP routes, `gtm-mcp tools`, a watched
directory), and clients of both protocol eras told about it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import mcp.types as types
from conftest import REPO, run_server
from mcp import Client, StdioServerParameters

NEW_TOOL = {"name": "book_flight", "description": "Book a flight.",
            "inputSchema": {"type": "object", "properties": {"origin": {"type": "string"},
                                                             "destination": {"type": "string"}},
                            "required": ["origin", "destination"], "additionalProperties": False}}


def _notified(messages: list) -> bool:
    return any(isinstance(m, types.ToolListChangedNotification) for m in messages)


def test_admin_add_and_remove_notify_legacy_and_modern_clients(example_server) -> None:
    base = example_server.base

    async def main() -> None:
        legacy_messages: list = []

        async def on_message(message) -> None:
            legacy_messages.append(message)

        async with Client(example_server.url, mode="legacy", message_handler=on_message) as legacy, \
                Client(example_server.url, mode="auto") as modern:
            assert "book_flight" not in [t.name for t in (await legacy.list_tools()).tools]
            async with modern.listen(tools_list_changed=True) as subscription:
                async with httpx.AsyncClient(base_url=base) as admin:
                    response = await admin.post("/admin/tools", json={"tools": [NEW_TOOL]})
                    assert response.status_code == 201, response.text
                    assert response.json()["added"] == ["book_flight"]
                    # A duplicate is refused with a clear error, and nothing changes.
                    again = await admin.post("/admin/tools", json=[NEW_TOOL])
                    assert again.status_code == 409 and "duplicate tool name 'book_flight'" in again.json()["error"]
                with anyio.fail_after(10):
                    async for _event in subscription:
                        break  # the 2026-07-28 client heard about the change
            with anyio.fail_after(10):
                while not _notified(legacy_messages):
                    await anyio.sleep(0.05)
            assert "book_flight" in [t.name for t in (await modern.list_tools()).tools]
            ok = await legacy.call_tool("book_flight", {"origin": "LIS", "destination": "OSL"})
            assert not ok.is_error and "LIS" in ok.content[0].text  # no output schema: a text answer

            legacy_messages.clear()
            async with httpx.AsyncClient(base_url=base) as admin:
                assert (await admin.delete("/admin/tools/book_flight")).status_code == 200
                assert (await admin.delete("/admin/tools/book_flight")).status_code == 404
            with anyio.fail_after(10):
                while not _notified(legacy_messages):
                    await anyio.sleep(0.05)
            gone = await legacy.call_tool("book_flight", {"origin": "LIS", "destination": "OSL"})
            assert gone.is_error and "Unknown tool 'book_flight'" in gone.content[0].text

    anyio.run(main)


def test_admin_refuses_broken_definitions_naming_tool_and_pointer(example_server) -> None:
    broken = {"tools": [{**NEW_TOOL, "name": "ok_one"},
                        {**NEW_TOOL, "name": "bad_one", "inputSchema": {"type": "object",
                                                                        "properties": {"x": {"type": "strng"}}}}]}
    response = httpx.post(f"{example_server.base}/admin/tools", json=broken)
    assert response.status_code == 400
    problem = response.json()["problems"][0]
    assert problem["tool"] == "bad_one" and problem["pointer"] == "/tools/1/inputSchema/properties/x/type"
    # All or nothing: the valid tool of the refused document was not added either.
    names = [t["name"] for t in httpx.get(f"{example_server.base}/admin/tools").json()["tools"]]
    assert "ok_one" not in names


def test_admin_needs_token_when_one_is_set(tmp_path: Path) -> None:
    with run_server("--admin-token", "s3cret", tmp_path=tmp_path) as server:
        assert httpx.get(f"{server.base}/admin/tools").status_code == 401
        listed = httpx.get(f"{server.base}/admin/tools", headers={"authorization": "Bearer s3cret"})
        assert listed.status_code == 200 and len(listed.json()["tools"]) == 10


def test_cli_tools_add_list_remove(example_server, tmp_path: Path) -> None:
    file = tmp_path / "flight.json"
    file.write_text(json.dumps([{**NEW_TOOL, "name": "book_train"}]))
    cli = [sys.executable, "-m", "gtm_mcp", "tools"]
    url = ["--url", example_server.url]
    added = subprocess.run([*cli, "add", str(file), *url], capture_output=True, text=True, cwd=REPO)
    assert added.returncode == 0 and "added 1 tool" in added.stdout, added.stderr
    listed = subprocess.run([*cli, "list", *url], capture_output=True, text=True, cwd=REPO)
    assert "book_train" in listed.stdout
    removed = subprocess.run([*cli, "remove", "book_train", *url], capture_output=True, text=True, cwd=REPO)
    assert removed.returncode == 0
    missing = subprocess.run([*cli, "remove", "book_train", *url], capture_output=True, text=True, cwd=REPO)
    assert missing.returncode == 1 and "no tool named" in missing.stderr


def test_watched_directory_over_stdio(tmp_path: Path) -> None:
    """Files dropped into, changed in and removed from a watched directory change the tool list of
    a running stdio server, which tells its client."""
    watched = tmp_path / "tools"
    watched.mkdir()
    (watched / "a.json").write_text(json.dumps([NEW_TOOL]))
    params = StdioServerParameters(command=sys.executable, cwd=str(REPO), args=[
        "-m", "gtm_mcp", "serve", "--watch", str(watched), "--tools", str(watched / "a.json")])

    async def names(client: Client) -> set[str]:
        return {t.name for t in (await client.list_tools()).tools}

    async def wait_for(client: Client, predicate) -> set[str]:
        with anyio.fail_after(15):
            while not predicate(found := await names(client)):
                await anyio.sleep(0.2)
        return found

    async def main() -> None:
        messages: list = []

        async def on_message(message) -> None:
            messages.append(message)

        async with Client(params, mode="legacy", message_handler=on_message) as client:
            assert await names(client) == {"book_flight"}
            (watched / "b.yaml").write_text("- name: rent_car\n  description: Rent a car.\n"
                                            "  inputSchema: {type: object, properties: {city: {type: string}}}\n")
            await wait_for(client, lambda n: n == {"book_flight", "rent_car"})
            assert _notified(messages)
            # A broken edit is refused and the file's previous tools stay.
            time.sleep(0.01)
            (watched / "b.yaml").write_text("- name: rent car\n  inputSchema: {type: object}\n")
            await anyio.sleep(2.5)
            assert await names(client) == {"book_flight", "rent_car"}
            (watched / "b.yaml").unlink()
            await wait_for(client, lambda n: n == {"book_flight"})

    anyio.run(main)
