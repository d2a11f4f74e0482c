"""The whole MCP surface through the official `mcp` client, connected in process to the real server
object (both protocol eras): resources, templates, subscriptions, prompts, completion, logging,
progress, non-text content and derived descriptions, on the bundled examples plus
notes_surface.json (a GTM document with tools that write resources and return images, audio and
embedded resources)."""

from __future__ import annotations

import base64
import io
import json
import warnings
import wave
from pathlib import Path
from typing import Any

import anyio
import mcp.types as types
import pytest
from conftest import EXAMPLE_TOOLS
from mcp import Client
from mcp.shared.exceptions import MCPError

from gtm_mcp.config import load_settings
from gtm_mcp.server.mcp_server import build_server
from gtm_mcp.server.runtime import build_runtime
from gtm_mcp.surface.describe import META_DESCRIPTION

NOTES = Path(__file__).with_name("notes_surface.json")
warnings.filterwarnings("ignore", message=".*deprecated as of 2026-07-28.*")


def server(**flags: Any) -> Any:
    simulator, surface = build_runtime(load_settings({"tools": [str(EXAMPLE_TOOLS), str(NOTES)], **flags}, env={}))
    return build_server(simulator, surface=surface)


def session(key: str) -> dict[str, str]:
    return {"gtm-mcp/session": key}


def text_of(result: types.ReadResourceResult) -> str:
    return result.contents[0].text


def run(test: Any) -> None:
    anyio.run(test)


def test_resources_are_listed_and_read_consistently_within_a_session() -> None:
    async def main() -> None:
        async with Client(server()) as client:
            uris = {r.uri for r in (await client.list_resources()).resources}
            assert {"shop://catalog", "log://activity", "shop://brand/logo.png"} <= uris
            templates = {t.uri_template: t for t in (await client.list_resource_templates()).resource_templates}
            assert templates["notes:///{+path}"].mime_type == "text/markdown"
            catalog = await client.read_resource("shop://catalog", meta=session("a"))
            assert catalog.contents[0].mime_type == "application/json"
            products = json.loads(text_of(catalog))["products"]
            assert 3 <= len(products) <= 6 and all(p["price"] >= 1 for p in products)  # the content schema holds
            assert text_of(await client.read_resource("shop://catalog", meta=session("a"))) == text_of(catalog)
            recorded = await client.read_resource("docs://shop/returns-policy")
            assert text_of(recorded).startswith("# Returns\n\nProducts can be returned within 30 days")
            note = await client.read_resource("notes:///ideas/q3.md", meta=session("a"))
            assert note.contents[0].mime_type == "text/markdown" and "ideas/q3.md" in text_of(note)
            logo = await client.read_resource("shop://brand/logo.png")
            assert logo.contents[0].mime_type == "image/png"
            assert base64.b64decode(logo.contents[0].blob).startswith(b"\x89PNG\r\n\x1a\n")
            with pytest.raises(MCPError) as missing:
                await client.read_resource("shop://nothing/here")
            assert missing.value.code == -32002 and "Resource not found: shop://nothing/here" in missing.value.message
            assert "shop://catalog" in missing.value.message  # names what exists

    run(main)


def test_a_resource_written_through_a_tool_reads_back_and_subscribers_hear_of_it() -> None:
    async def main() -> None:
        messages: list[Any] = []

        async def on_message(message: Any) -> None:
            messages.append(message)

        srv = server()
        async with Client(srv, mode="legacy", message_handler=on_message) as legacy, Client(srv) as modern:
            before = text_of(await legacy.read_resource("notes:///todo.md"))
            await legacy.subscribe_resource("notes:///todo.md")
            await legacy.subscribe_resource("log://activity")
            async with modern.listen(resource_subscriptions=["notes:///todo.md"]) as stream:
                written = await legacy.call_tool("write_note", {"path": "/todo.md", "content": "- buy milk"})
                assert not written.is_error
                with anyio.fail_after(10):
                    async for event in stream:
                        assert getattr(event, "uri", None) == "notes:///todo.md"
                        break
            assert text_of(await legacy.read_resource("notes:///todo.md")) == "- buy milk" != before
            await legacy.call_tool("append_activity", {"entry": "note written"})
            assert text_of(await legacy.read_resource("log://activity")) == "Activity log\nnote written"
            with anyio.fail_after(10):
                while len([m for m in messages if isinstance(m, types.ResourceUpdatedNotification)]) < 2:
                    await anyio.sleep(0.02)
            updated = [m.params.uri for m in messages if isinstance(m, types.ResourceUpdatedNotification)]
            assert updated == ["notes:///todo.md", "log://activity"]
            # Another session's world is its own: the write is not there, and nobody here is told of its writes.
            assert text_of(await legacy.read_resource("notes:///todo.md", meta=session("other"))) == before
            await legacy.call_tool("write_note", {"path": "/todo.md", "content": "other"}, meta=session("other"))
            await legacy.unsubscribe_resource("notes:///todo.md")
            await legacy.call_tool("write_note", {"path": "/todo.md", "content": "- buy bread"})
            await anyio.sleep(0.2)
            assert len([m for m in messages if isinstance(m, types.ResourceUpdatedNotification)]) == 2
            # A new episode starts afresh: what the last one wrote is gone.
            await legacy.call_tool("append_activity", {"entry": "x"}, meta={"gtm-mcp/reset": True})
            fresh = text_of(await legacy.read_resource("notes:///todo.md"))
            assert "buy" not in fresh and fresh.startswith("# Note (path: todo.md)")

    run(main)


def test_a_resource_named_by_an_id_follows_the_world_and_changes_with_it() -> None:
    async def main() -> None:
        messages: list[Any] = []

        async def on_message(message: Any) -> None:
            messages.append(message)

        async with Client(server(), mode="legacy", message_handler=on_message) as client:
            order = (await client.call_tool("create_order", {"product": "lamp", "quantity": 2})).structured_content
            uri = f"shop://orders/{order['order_id']}"
            first = json.loads(text_of(await client.read_resource(uri)))
            assert {k: first[k] for k in ("order_id", "product", "quantity", "status")} == \
                {"order_id": order["order_id"], "product": "lamp", "quantity": 2, "status": order["status"]}
            assert json.loads(text_of(await client.read_resource(uri))) == first  # the same until changed
            await client.subscribe_resource(uri)
            cancelled = await client.call_tool("cancel_order", {"order_id": order["order_id"]})
            assert not cancelled.is_error
            with anyio.fail_after(10):
                while not any(isinstance(m, types.ResourceUpdatedNotification) for m in messages):
                    await anyio.sleep(0.02)
            again = json.loads(text_of(await client.read_resource(uri)))
            assert again["order_id"] == order["order_id"] and again["product"] == "lamp"
            assert first["status"] == "placed" and again["status"] == "cancelled"  # as the world now holds it

    run(main)


def test_prompts_substitute_arguments_and_refuse_bad_ones_clearly() -> None:
    async def main() -> None:
        async with Client(server()) as client:
            listed = {p.name: p for p in (await client.list_prompts()).prompts}
            assert [a.name for a in listed["plan_trip"].arguments] == ["city", "days"]
            assert listed["plan_trip"].arguments[0].required is True
            weekend = await client.get_prompt("plan_trip", {"city": "Oslo"})
            assert weekend.messages[0].content.text.startswith("Plan a weekend in Oslo.")
            three = await client.get_prompt("plan_trip", {"city": "Oslo", "days": "3"})
            assert three.messages[0].content.text.startswith("Plan 3 days in Oslo.")
            default = await client.get_prompt("summarize_orders")
            assert default.messages[0].role == "user" and "list_orders" in default.messages[0].content.text
            with pytest.raises(MCPError) as missing:
                await client.get_prompt("plan_trip", {"days": "2"})
            assert missing.value.code == -32602
            assert "missing required argument(s): city" in missing.value.message
            assert "city (required: Where to go)" in missing.value.message
            with pytest.raises(MCPError, match="unknown argument\\(s\\): budget"):
                await client.get_prompt("plan_trip", {"city": "Oslo", "budget": "low"})
            with pytest.raises(MCPError, match="Unknown prompt 'plan_tirp'"):
                await client.get_prompt("plan_tirp", {})

    run(main)


def test_a_prompt_embeds_a_resource_as_the_session_reads_it() -> None:
    async def main() -> None:
        async with Client(server()) as client:
            await client.call_tool("write_note", {"path": "/q3.md", "content": "# Q3\nShip it."}, meta=session("p"))
            got = await client.get_prompt("review_note", {"path": "q3.md", "tone": "strict"}, meta=session("p"))
            embedded = got.messages[0].content
            assert embedded.type == "resource" and embedded.resource.uri == "notes:///q3.md"
            assert embedded.resource.text == "# Q3\nShip it."
            assert got.messages[1].content.text == "Review the note above (strict)."
            order = (await client.call_tool("create_order", {"product": "desk", "quantity": 1})).structured_content
            followup = await client.get_prompt("order_followup", {"order_id": order["order_id"]})
            read = await client.read_resource(f"shop://orders/{order['order_id']}")
            assert followup.messages[0].content.resource.text == text_of(read)

    run(main)


def test_completion_offers_values_then_what_the_session_and_world_know() -> None:
    async def main() -> None:
        async with Client(server()) as client:
            async def complete(ref: dict, name: str, value: str) -> types.Completion:
                return (await client.complete(ref, {"name": name, "value": value})).completion

            plan = {"type": "ref/prompt", "name": "plan_trip"}
            assert (await complete(plan, "city", "o")).values == ["Oslo"]
            assert (await complete(plan, "city", "")).values == ["Berlin", "Lisbon", "Oslo", "Tokyo"]
            weather = {"type": "ref/resource", "uri": "weather://{city}/current"}
            assert (await complete(weather, "city", "to")).values == ["Tokyo", "Toronto"]
            followup = {"type": "ref/prompt", "name": "order_followup"}
            assert (await complete(followup, "order_id", "")).values == []
            made = [(await client.call_tool("create_order", {"product": p, "quantity": 1})).structured_content
                    for p in ("lamp", "desk")]
            ids = (await complete(followup, "order_id", "ord_")).values
            assert set(ids) == {m["order_id"] for m in made}  # handed out by the world of this session
            await client.get_prompt("plan_trip", {"city": "Reykjavik"})
            assert (await complete(plan, "city", "rey")).values == ["Reykjavik"]  # seen in the session
            with pytest.raises(MCPError, match="no argument 'town'"):
                await complete(plan, "town", "")
            with pytest.raises(MCPError, match="Unknown resource template"):
                await complete({"type": "ref/resource", "uri": "nope://{x}"}, "x", "")

    run(main)


def test_log_messages_follow_the_level_each_client_asked_for() -> None:
    async def main() -> None:
        srv = server()
        heard: dict[str, list[Any]] = {"debug": [], "warning": [], "silent": [], "modern": []}

        def collector(name: str) -> Any:
            async def collect(params: types.LoggingMessageNotificationParams) -> None:
                heard[name].append(params)
            return collect

        async with Client(srv, mode="legacy", logging_callback=collector("debug")) as debug, \
                Client(srv, mode="legacy", logging_callback=collector("warning")) as warning, \
                Client(srv, mode="legacy", logging_callback=collector("silent")) as silent, \
                Client(srv, logging_callback=collector("modern"), log_level="info") as modern:
            await debug.set_logging_level("debug")
            await warning.set_logging_level("warning")
            for client in (debug, warning, silent, modern):
                await client.call_tool("get_weather", {"city": "Oslo"})
                await client.call_tool("get_weather", {"city": 7})
            await debug.read_resource("shop://catalog")
        assert heard["silent"] == []
        levels = [p.level for p in heard["debug"]]
        assert levels[:3] == ["info", "debug", "info"] and "warning" in levels
        assert heard["debug"][0].logger == "gtm-mcp" and heard["debug"][0].data["tool"] == "get_weather"
        assert "answered by the schema backend" in heard["debug"][2].data["message"]
        assert "resources/read shop://catalog" in heard["debug"][-1].data["message"]
        assert {p.level for p in heard["warning"]} == {"warning"}
        assert any("arguments refused" in p.data["message"] for p in heard["warning"])
        assert {p.level for p in heard["modern"]} == {"info", "warning"}

    run(main)


def test_progress_is_reported_when_asked_for() -> None:
    async def main() -> None:
        seen: list[tuple[float, float | None, str | None]] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            seen.append((progress, total, message))

        async with Client(server(), mode="legacy") as client:
            result = await client.call_tool("get_weather", {"city": "Oslo"}, progress_callback=on_progress)
        assert not result.is_error
        assert [p for p, _, _ in seen] == [0, 50, 100] and all(t == 100 for _, t, _ in seen)
        assert "simulating with the schema backend" in seen[1][2]

    run(main)


def test_tools_return_the_content_they_declare() -> None:
    image_module = pytest.importorskip("PIL.Image")

    async def main() -> None:
        async with Client(server()) as client:
            chart = await client.call_tool("render_chart", {"metric": "sales"})
            assert [c.type for c in chart.content] == ["image"] and chart.content[0].mime_type == "image/png"
            with image_module.open(io.BytesIO(base64.b64decode(chart.content[0].data))) as image:
                image.load()
                assert image.format == "PNG" and image.size == (16, 16)
            again = await client.call_tool("render_chart", {"metric": "sales"})
            other = await client.call_tool("render_chart", {"metric": "churn"})
            assert again.content[0].data == chart.content[0].data != other.content[0].data  # per call, stable
            spoken = await client.call_tool("speak", {"text": "hello"})
            assert [c.type for c in spoken.content] == ["text", "audio"]
            assert spoken.content[0].text.strip()  # the simulated answer (text: the tool has no output schema)
            with wave.open(io.BytesIO(base64.b64decode(spoken.content[1].data))) as audio:
                assert audio.getnframes() > 0 and spoken.content[1].mime_type == "audio/wav"
            await client.call_tool("write_note", {"path": "/a.md", "content": "alpha"})
            opened = await client.call_tool("open_note", {"path": "a.md"})
            assert [c.type for c in opened.content] == ["resource", "resource_link"]
            assert opened.content[0].resource.uri == "notes:///a.md" and opened.content[0].resource.text == "alpha"
            assert opened.content[1].uri == "notes:///a.md" and opened.content[1].name == "Note"
            refused = await client.call_tool("render_chart", {"metric": 3})
            assert refused.is_error and [c.type for c in refused.content] == ["text"]

    run(main)


def test_every_listed_tool_has_a_description_derived_ones_marked() -> None:
    async def main() -> None:
        async with Client(server()) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
        assert all(t.description for t in tools.values())
        assert tools["sync_inbox"].description == "Sync inbox. Parameters: folder (string)."
        assert tools["sync_inbox"].meta == {META_DESCRIPTION: "derived"}
        assert tools["get_weather"].description == "Current weather for a city." and tools["get_weather"].meta is None
        assert tools["render_chart"].meta == {"gtm-mcp/output-content": [{"type": "image", "mime_type": "image/png"}]}

    run(main)


def test_a_model_backend_answers_reads_through_the_prompt_format() -> None:
    """The model is an in-test OpenAI-compatible endpoint (tests/gtm_mcp/backends/openai_fakes.py):
    no model can be served here fast enough for a unit test, and the point is what it is sent."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "backends"))
    from openai_fakes import FakeEndpoint

    from gtm_mcp.contract.prompt.resource import RESOURCE_INSTRUCTIONS

    async def main(endpoint: FakeEndpoint) -> None:
        srv = server(backend="openai", base_url=endpoint.url, model="ok", max_retries=0)
        async with Client(srv) as client:
            await client.call_tool("write_note", {"path": "/other.md", "content": "elsewhere"})
            endpoint.answer = "# Ideas\nShip the Q3 plan."
            note = await client.read_resource("notes:///ideas.md")
            assert text_of(note) == "# Ideas\nShip the Q3 plan."
            sent = endpoint.requests[-1]
            assert sent["messages"][0]["content"].startswith(RESOURCE_INSTRUCTIONS)
            assert "URI template: notes:///{+path}" in sent["messages"][0]["content"]
            assert sent["messages"][1]["content"].startswith("Call write_note")  # the session's history
            assert sent["messages"][-1]["content"] == 'Read the resource notes:///ideas.md\nTemplate variables:\n' \
                                                      '{"path": "ideas.md"}'
            assert "response_format" not in sent
            asked = len(endpoint.requests)
            assert text_of(await client.read_resource("notes:///ideas.md")) == "# Ideas\nShip the Q3 plan."
            assert len(endpoint.requests) == asked  # read again from the session, not asked again
            endpoint.answer = json.dumps({"products": [{"product": "lamp", "price": 20, "in_stock": 3}] * 3,
                                          "currency": "EUR"})
            catalog = json.loads(text_of(await client.read_resource("shop://catalog")))
            assert catalog["currency"] == "EUR"
            assert endpoint.requests[-1]["response_format"]["type"] == "json_schema"  # its content schema
            endpoint.answer = "Error: no such note"
            with pytest.raises(MCPError) as refused:
                await client.read_resource("notes:///missing.md")
            assert refused.value.code == -32002 and "no such note" in refused.value.message
            endpoint.answer = "It is sunny."
            with pytest.raises(MCPError) as invalid:
                await client.read_resource("weather://Oslo/current")
            assert "not valid application/json content" in invalid.value.message
            assert endpoint.requests[-1]["messages"][-1]["content"].startswith("That output was refused")  # repaired

    with FakeEndpoint() as endpoint:
        anyio.run(main, endpoint)


def test_what_a_session_holds_about_resources_travels_as_json() -> None:
    """A shared session store (Redis) keeps sessions as JSON: the resources a session read and wrote,
    and the values it saw, must survive that round trip and read back the same."""
    from gtm_mcp.sessions.codec import session_from_json, session_to_json

    srv = server()
    simulator = srv.surface_handlers.simulator

    async def main() -> None:
        async with Client(srv) as client:
            await client.call_tool("write_note", {"path": "/a.md", "content": "alpha"}, meta=session("j"))
            await client.read_resource("shop://brand/logo.png", meta=session("j"))
            await client.get_prompt("plan_trip", {"city": "Lima"}, meta=session("j"))

    run(main)
    held = simulator.sessions.peek("j")
    again = session_from_json(session_to_json(held), max_history=50)
    assert again.state["surface"] == held.state["surface"]
    assert again.state["surface"]["contents"]["notes:///a.md"]["text"] == "alpha"
    assert "Lima" in again.state["surface"]["seen"]["city"]
