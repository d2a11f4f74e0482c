"""gtm_mcp.testing: cassette modes, per-test session keys, and the stdio twin of a running server
recording into the same cassette (two real processes, one file)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from gtm_mcp.testing import resolve_mode, session_key, simulated_server


def test_record_modes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cassette = tmp_path / "c.jsonl"
    monkeypatch.delenv("GTM_MCP_RECORD_MODE", raising=False)
    assert resolve_mode(None, cassette) == "record" and resolve_mode(None, None) == "off"
    with pytest.raises(FileNotFoundError, match="replay: no cassette at"):
        resolve_mode("replay", cassette)
    cassette.write_text("")
    assert resolve_mode(None, cassette) == "replay" and resolve_mode("record", cassette) == "record"
    monkeypatch.setenv("GTM_MCP_RECORD_MODE", "off")
    assert resolve_mode(None, cassette) == "off"
    with pytest.raises(ValueError, match="record mode 'sometimes'"):
        resolve_mode("sometimes", cassette)
    assert session_key("tests/test_a.py::test_x[Oslo-1]") == "tests-test_a.py-test_x-Oslo-1"


def test_a_stdio_twin_records_into_the_same_cassette(tmp_path: Path) -> None:
    cassette = tmp_path / "c.jsonl"
    with simulated_server(cassette=cassette, record_mode="record", log=tmp_path / "http.log") as server:
        session = server.session("tests/test_x.py::test_http")

        async def over_http() -> None:
            async with session.client() as client:
                await client.call_tool("get_weather", {"city": "Oslo"})

        async def over_stdio() -> str:
            argv = server.stdio_command()
            async with Client(StdioServerParameters(command=argv[0], args=argv[1:])) as client:
                result = await client.call_tool("get_weather", {"city": "Lima"}, meta={"gtm-mcp/session": "twin"})
                return result.meta["gtm-mcp/origin"]

        anyio.run(over_http)
        assert anyio.run(over_stdio) == "simulated"
        assert [c["origin"] for c in session.history()] == ["simulated"]
    sessions = sorted(e.meta["session"] for e in server.episodes())
    assert sessions == ["tests-test_x.py-test_http", "twin"]
    assert len(cassette.read_text().splitlines()) == 2  # both processes closed their episodes cleanly
