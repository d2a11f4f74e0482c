"""Resource, template and prompt definitions: importers (MCP dumps, GTM documents), problems with
their pointers, URI templates, generated media (checked with decoders), derived descriptions."""

from __future__ import annotations

import base64
import io
import json
import wave
from pathlib import Path

import pytest
from conftest import EXAMPLE_TOOLS

from gtm_mcp.contract import ContentSpec, ToolDefinition
from gtm_mcp.contract.uri_template import MAX_URI_LENGTH, UriTemplateError, parse_template
from gtm_mcp.surface import media
from gtm_mcp.surface.catalog import DuplicateDefinitionError, SurfaceCatalog
from gtm_mcp.surface.describe import META_DESCRIPTION, derived_description, listed_description
from gtm_mcp.tools.loader import load_all, parse_document
from gtm_mcp.tools.surface_formats import parse_surface

MCP_DUMP = {
    "tools": [{"name": "snapshot", "description": "Screenshot", "inputSchema": {"type": "object"},
               "_meta": {"gtm-mcp/output-content": [{"type": "image", "mime_type": "image/png"}]}}],
    "resources": [{"uri": "memo://insights", "name": "Insights", "mimeType": "text/plain", "icons": [],
                   "_meta": {"gtm-mcp/definition": {"content": {"text": "No insights yet."}}}}],
    "resourceTemplates": [{"uriTemplate": "repo://{owner}/{name}", "name": "Repository",
                           "mimeType": "application/json",
                           "_meta": {"gtm-mcp/definition": {"values": {"owner": ["octo"]}}}}],
    "prompts": [{"name": "review", "description": "Review code",
                 "arguments": [{"name": "language", "required": True}],
                 "_meta": {"gtm-mcp/definition": {"argument_values": {"language": ["python", "go"]}}}}],
}


def test_an_mcp_dump_loads_tools_resources_templates_and_prompts(tmp_path: Path) -> None:
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(MCP_DUMP))
    tools, surface, problems = load_all([path])
    assert problems == []
    assert tools[0].output_content == (ContentSpec(type="image", mime_type="image/png"),)
    memo = surface.resources[0]
    assert memo.uri == "memo://insights" and memo.content.text == "No insights yet." and memo.origin.pointer == \
        "/resources/0"
    assert surface.templates[0].values == {"owner": ("octo",)} and surface.templates[0].variables == ["owner", "name"]
    assert surface.prompts[0].arguments[0].values == ("python", "go")
    # The dump form round-trips: what SurfaceDefinitions.to_mcp writes loads back the same.
    again, problems = parse_surface(surface.to_mcp(), "again.json")
    assert problems == []
    for kind in ("resources", "templates", "prompts"):  # equal but for where they were loaded from
        assert [d.model_dump() for d in getattr(again, kind)] == [d.model_dump() for d in getattr(surface, kind)]


def test_the_bundled_examples_carry_a_surface() -> None:
    tools, surface, problems = load_all([EXAMPLE_TOOLS])
    assert problems == [] and len(tools) == 10
    assert {r.uri for r in surface.resources} >= {"shop://catalog", "docs://shop/returns-policy"}
    assert {p.name for p in surface.prompts} >= {"plan_trip", "order_followup"}


def test_a_gtm_document_is_strict_and_may_hold_no_tools() -> None:
    doc = {"format": "gtm", "prompts": [{"name": "greet", "description": "Say hello",
                                         "arguments": [{"name": "who", "required": True}],
                                         "messages": [{"role": "user", "content": {"type": "text",
                                                                                   "text": "Hello {{who}}"}}]}],
           "resource_templates": [{"uri_template": "notes://{title}", "name": "Note", "mime_type": "text/markdown"}]}
    tools, problems = parse_document(doc, "doc.json")
    assert tools == [] and problems == []
    surface, problems = parse_surface(doc, "doc.json")
    assert problems == [] and surface.prompts[0].messages[0].content["text"] == "Hello {{who}}"
    doc["prompts"][0]["colour"] = "blue"  # GTM documents refuse unknown fields, like tools
    _, problems = parse_surface(doc, "doc.json")
    assert problems and problems[0].pointer == "/prompts/0/colour" and problems[0].kind == "prompt"


@pytest.mark.parametrize("section, entry, pointer, words", [
    ("resources", {"uri": "no scheme", "name": "x"}, "/resources/0/uri", "absolute URI"),
    ("resources", {"uri": "a://b", "name": "x", "_meta": {"gtm-mcp/definition": {"content": {}}}},
     "/resources/0/content", "exactly one"),
    ("resourceTemplates", {"uriTemplate": "a://{unclosed", "name": "x"}, "/resourceTemplates/0/uri_template",
     "never closed"),
    ("resourceTemplates", {"uriTemplate": "a://b/{id}", "name": "x",
                           "_meta": {"gtm-mcp/definition": {"values": {"other": ["1"]}}}},
     "/resourceTemplates/0/values/other", "not a variable"),
    ("prompts", {"name": "bad name"}, "/prompts/0/name", "without whitespace"),
    ("prompts", {"name": "p", "_meta": {"gtm-mcp/definition": {"messages": [
        {"role": "user", "content": {"type": "video"}}]}}}, "/prompts/0/messages/0/content", "must be one of"),
])
def test_bad_definitions_are_refused_with_their_pointer(section: str, entry: dict, pointer: str, words: str) -> None:
    surface, problems = parse_surface({section: [entry]}, "bad.json")
    assert len(surface) == 0 and problems, problems
    assert problems[0].pointer == pointer and words in problems[0].message and problems[0].file == "bad.json"


def test_the_catalog_refuses_duplicates_whole_and_resolves_the_most_specific_template() -> None:
    surface, _ = parse_surface({"resources": [{"uri": "a://x/fixed/data", "name": "Fixed"}],
                                "resourceTemplates": [{"uriTemplate": "a://{+path}", "name": "Any"},
                                                      {"uriTemplate": "a://x/{id}/data", "name": "Data"}]}, "f")
    catalog = SurfaceCatalog(surface)
    assert catalog.resolve("a://x/fixed/data")[0].name == "Fixed"
    assert catalog.resolve("a://x/7/data") == (catalog.template("a://x/{id}/data"), {"id": "7"})
    assert catalog.resolve("a://y/z")[0].name == "Any" and catalog.resolve("b://x") is None
    heard: list = []
    catalog.on_change(heard.append)
    more, _ = parse_surface({"prompts": [{"name": "p"}], "resources": [{"uri": "a://x/fixed/data", "name": "Dup"}]},
                            "g")
    with pytest.raises(DuplicateDefinitionError, match="duplicate resource 'a://x/fixed/data'"):
        catalog.add(more)
    assert catalog.prompt("p") is None and heard == []  # all or nothing
    catalog.remove(resources=["a://x/fixed/data"])
    assert heard == [{"resources"}]


def test_uri_templates_match_and_expand() -> None:
    assert parse_template("test://template/{id}/data").match("test://template/123/data") == {"id": "123"}
    assert parse_template("test://template/{id}/data").match("test://template/1/2/data") is None
    assert parse_template("file:///{+path}").match("file:///notes/a%20b.txt") == {"path": "notes/a b.txt"}
    assert parse_template("search://q{?query,limit}").match("search://q?query=hi%20x&limit=3") == \
        {"query": "hi x", "limit": "3"}
    assert parse_template("repo://{owner}/{repo}{/path}").match("repo://a/b") == {"owner": "a", "repo": "b"}
    assert parse_template("search://q{?query,limit}").expand({"query": "a b", "limit": 3}) == \
        "search://q?query=a%20b&limit=3"
    assert parse_template("a://{x}").match("a://" + "y" * MAX_URI_LENGTH) is None
    with pytest.raises(UriTemplateError):
        parse_template("a://{}")


def _decoded_image(data: bytes) -> tuple[str, tuple[int, int]]:
    image_module = pytest.importorskip("PIL.Image", reason="Pillow decodes the images (else png/gif checks below)")
    with image_module.open(io.BytesIO(data)) as image:
        image.load()
        return image.format, image.size


@pytest.mark.parametrize("mime, expected", [("image/png", "PNG"), ("image/gif", "GIF"), ("image/bmp", "BMP"),
                                            ("image/jpeg", "JPEG"), ("image/webp", "PNG")])
def test_generated_images_decode(mime: str, expected: str) -> None:
    made = media.media_for(mime, seed=5)
    assert _decoded_image(made.data)[0] == expected
    assert made.mime_type == ("image/png" if mime == "image/webp" else mime)  # says what it really wrote
    assert base64.b64decode(made.base64) == made.data
    assert media.media_for(mime, seed=5).data == made.data  # deterministic for a seed


def test_generated_png_and_wav_are_valid_with_the_standard_library() -> None:
    import zlib

    png = media.png(seed=3)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png.endswith(b"IEND\xaeB`\x82")
    length = int.from_bytes(png[33:37], "big")  # the IDAT chunk after the 25-byte IHDR chunk
    assert png[37:41] == b"IDAT" and len(zlib.decompress(png[41:41 + length])) == 16 * (1 + 16 * 3)
    assert media.png(seed=3) != media.png(seed=4)
    with wave.open(io.BytesIO(media.media_for("audio/wav", seed=1).data)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (1, 2, 8000)
        assert audio.getnframes() == 2000
    assert media.pdf(seed=1).startswith(b"%PDF-1.4") and b"startxref" in media.pdf(seed=1)


def test_tools_without_a_description_get_a_derived_one_marked_as_such() -> None:
    bare = ToolDefinition(name="getOrderStatus", input_schema={
        "type": "object", "properties": {"order_id": {"type": "string"}, "verbose": {"type": "boolean"},
                                         "unit": {"enum": ["kg", "lb"]}}, "required": ["order_id"]})
    assert derived_description(bare) == ("Get order status. Parameters: order_id (string, required), "
                                         "verbose (boolean), unit (one of 'kg', 'lb').")
    assert listed_description(bare) == (derived_description(bare), {META_DESCRIPTION: "derived"})
    described = bare.model_copy(update={"description": "Where an order is."})
    assert listed_description(described) == ("Where an order is.", None)
    assert derived_description(ToolDefinition(name="list_tables")) == "List tables. Takes no parameters."
