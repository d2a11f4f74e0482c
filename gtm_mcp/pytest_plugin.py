"""pytest fixtures for testing agents against simulated tools (`gtm_mcp.testing`).

Enable in a `conftest.py` with ``pytest_plugins = ["gtm_mcp.pytest_plugin"]``, then configure the
server by overriding `gtm_server_options` (keyword arguments of `simulated_server`):

    @pytest.fixture(scope="session")
    def gtm_server_options():
        return {"tools": ["tools.json"], "mirror": ["python notes_server.py"], "real": ["add_note"],
                "cassette": "tests/cassettes/agent.jsonl"}

    def test_agent(gtm_session):            # a session of its own, named after the test
        run_agent(gtm_session.url)
        assert gtm_session.history()[0]["origin"] == "replayed"

Fixtures: `gtm_server` (one server for the whole run), `gtm_session` (one session per test;
`@pytest.mark.gtm(hidden_context="...")` sets its hidden context), `gtm_record_mode`.
`pytest --gtm-record-mode=record` re-records the cassette (also `GTM_MCP_RECORD_MODE`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gtm_mcp.testing import RECORD_MODES, SimulatedServer, SimulatedSession, describe, simulated_server


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gtm-mcp", "simulated tools (gtm-mcp)")
    group.addoption("--gtm-record-mode", choices=RECORD_MODES, default=None,
                    help="cassette mode of the gtm_server fixture: auto (replay if the cassette exists, else "
                    "record), record, replay, off; default: $GTM_MCP_RECORD_MODE or auto")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gtm(hidden_context=None): settings of the test's gtm_session")


@pytest.fixture(scope="session")
def gtm_record_mode(request: pytest.FixtureRequest) -> str | None:
    return request.config.getoption("--gtm-record-mode")


@pytest.fixture(scope="session")
def gtm_server_options() -> dict[str, Any]:
    """Override in your conftest.py: keyword arguments of `gtm_mcp.testing.simulated_server`."""
    return {}


@pytest.fixture(scope="session")
def gtm_server(gtm_server_options: dict[str, Any], gtm_record_mode: str | None,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatedServer]:
    options = dict(gtm_server_options)
    options.setdefault("record_mode", gtm_record_mode)
    options.setdefault("log", tmp_path_factory.mktemp("gtm-mcp") / "server.log")
    with simulated_server(**options) as server:
        print(describe(server))
        yield server


@pytest.fixture
def gtm_session(gtm_server: SimulatedServer, request: pytest.FixtureRequest) -> SimulatedSession:
    session = gtm_server.session(request.node.nodeid)
    marker = request.node.get_closest_marker("gtm")
    if marker is not None and "hidden_context" in marker.kwargs:
        session.set_hidden_context(marker.kwargs["hidden_context"])
    return session
