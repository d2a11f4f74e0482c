"""The simulated tool server for the agent's tests (gtm_mcp.pytest_plugin).

Tools: the weather tool from gtm-mcp's bundled examples (always simulated) and the real notes
server (`notes_server.py`), whose `add_note` is called for real while recording. The cassette
(`$TRIP_CASSETTE`, default `cassettes/trip_agent.jsonl`) is recorded on the first run and
replayed, offline, afterwards; `pytest --gtm-record-mode=record` records it again.
"""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from pathlib import Path

import pytest

from gtm_mcp.config import example_tools_path

pytest_plugins = ["gtm_mcp.pytest_plugin"]

HERE = Path(__file__).resolve().parent
NOTES_FILE = Path(os.environ.get("NOTES_FILE", Path(tempfile.gettempdir()) / "trip-agent-notes.json"))
# stdio servers get only a safe default environment (PATH, HOME, ...): pass variables with `env`
NOTES_SERVER = shlex.join(["env", f"NOTES_FILE={NOTES_FILE}", sys.executable, str(HERE / "notes_server.py")])


@pytest.fixture(scope="session")
def gtm_server_options() -> dict:
    return {"tools": [example_tools_path()], "mirror": [NOTES_SERVER], "real": ["add_note"],
            "cassette": os.environ.get("TRIP_CASSETTE", str(HERE / "cassettes" / "trip_agent.jsonl"))}


@pytest.fixture
def notes_file() -> Path:
    """Where the real notes server writes."""
    return NOTES_FILE
