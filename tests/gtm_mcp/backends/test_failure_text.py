"""No exception or endpoint text reaches an agent: each failure is a short message naming a log id,
and the log under that id has the details. Covers the real model backends (the `openai` backend
against an in-test HTTP endpoint, since no model server runs here; the `local` backend with a tiny
random model) and the MCP `tools/list` handler."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import anyio
import mcp.types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from openai_fakes import FakeEndpoint, free_port

from gtm_mcp.backends.local import LocalBackend
from gtm_mcp.backends.openai import OpenAIBackend
from gtm_mcp.backends.schema import SchemaBackend
from gtm_mcp.calls.pipeline import Outcome, Simulator
from gtm_mcp.contract.definition import ToolDefinition
from gtm_mcp.server.listing import ToolPages
from gtm_mcp.server.mcp_server import build_server
from gtm_mcp.sessions.store import SessionStore
from gtm_mcp.tools.catalog import ToolCatalog

TOOL = ToolDefinition(name="get_weather", input_schema={"type": "object", "properties": {"city": {"type": "string"}}},
                      output_schema={"type": "object", "properties": {"temp_c": {"type": "number"}},
                                     "required": ["temp_c"]})


def call(backend: Any) -> Any:
    sim = Simulator(ToolCatalog([TOOL]), backend, SessionStore(), call_timeout_s=30)
    return anyio.run(lambda: sim.call("get_weather", {"city": "Oslo"}, session_key="s"))


def ref_in(text: str) -> str:
    found = re.search(r"ref ([0-9a-f]{8})", text)
    assert found, text
    return found.group(1)


@pytest.mark.parametrize(("model", "hidden"), [("down500", "engine dead"), ("garbage", "502 Bad Gateway"),
                                               ("always400", "max_tokens is too large")])
def test_openai_endpoint_text_and_address_stay_in_the_log(model: str, hidden: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:


    with FakeEndpoint() as endpoint, caplog.at_level(logging.WARNING):
        result = call(OpenAIBackend(endpoint.url, model, max_retries=0, structured_output="off"))
    assert result.outcome is Outcome.SIMULATOR_FAILED
    text = result.text
    assert hidden not in text and str(endpoint.port) not in text and "127.0.0.1" not in text
    ref = ref_in(text)
    assert any(ref in r.getMessage() and hidden in r.getMessage() for r in caplog.records)


def test_openai_unreachable_says_so_without_the_address() -> None:


    result = call(OpenAIBackend(f"http://127.0.0.1:{free_port()}/v1", "m", max_retries=0))
    assert "cannot reach the model endpoint (connection refused)" in result.text
    assert "127.0.0.1" not in result.text


def test_local_generation_failure_shows_an_id(tiny_model: str, caplog: pytest.LogCaptureFixture) -> None:
    backend = LocalBackend(tiny_model, max_new_tokens=8, constrained="off")

    def broken(requests: list) -> list:
        raise RuntimeError("secret /srv/models/internal detail")

    backend._generate = broken  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING):
        result = call(backend)
    assert result.outcome is Outcome.SIMULATOR_FAILED
    assert "secret" not in result.text and "RuntimeError" not in result.text
    ref = ref_in(result.text)
    assert ref in caplog.text and "secret /srv/models/internal detail" in caplog.text


def test_local_load_failure_shows_neither_the_exception_nor_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    result = call(LocalBackend(str(missing)))
    assert "cannot load the local model (ref" in result.text and str(missing) not in result.text
    assert result.text.count("(ref ") == 1  # one id, the one the log has the details under
    ref_in(result.text)


def test_tools_list_failure_is_an_mcp_error_with_an_id(monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    def broken(self: ToolPages, cursor: str | None) -> types.ListToolsResult:
        raise KeyError("internal-key-detail")

    monkeypatch.setattr(ToolPages, "page", broken)
    server = build_server(Simulator(ToolCatalog([TOOL]), SchemaBackend(), SessionStore()))

    async def main() -> MCPError:
        async with Client(server) as client:
            with pytest.raises(MCPError) as failed:
                await client.list_tools()
            return failed.value

    with caplog.at_level(logging.ERROR):
        error = anyio.run(main)
    assert error.code == types.INTERNAL_ERROR and "internal-key-detail" not in error.message
    assert ref_in(error.message) in caplog.text and "internal-key-detail" in caplog.text
