"""The contract package: episode records round-trip, and it stands without the server."""

from __future__ import annotations

import json
import subprocess
import sys

from gtm_mcp.contract import CallRecord, EpisodeRecord, ToolDefinition, ToolOutput
from gtm_mcp.contract.prompt import render_training_example

FS_READ = ToolDefinition(name="read_file", description="Read a file.",
                         input_schema={"type": "object", "properties": {"path": {"type": "string"}},
                                       "required": ["path"]})
FS_WRITE = ToolDefinition(name="write_file", description="Write a file.",
                          input_schema={"type": "object", "properties": {"path": {"type": "string"},
                                                                         "content": {"type": "string"}}})


def episode() -> EpisodeRecord:
    return EpisodeRecord(id="ep-1", tools=[FS_READ, FS_WRITE], seed=3, hidden_context="quiet", source="recorded:fs",
                         world={"files": {"/a.txt": "hello"}}, calls=[
                             CallRecord("read_file", {"path": "/nope"}, "ENOENT: no such file", True, "real"),
                             CallRecord("write_file", {"path": "/b.txt", "content": "hi"},
                                        "Successfully wrote to /b.txt", origin="real"),
                             CallRecord("read_file", {"path": "/b.txt"}, "hi", origin="real")])


def test_an_episode_round_trips_through_one_json_line() -> None:
    ep = episode()
    line = ep.to_json_line()
    assert "\n" not in line and json.loads(line)["format"] == "gtm-episode/1"
    back = EpisodeRecord.from_json_line(line)
    assert back == ep
    assert back.calls[0] == CallRecord("read_file", {"path": "/nope"}, "ENOENT: no such file", True, "real")
    assert back.tools[0].input_schema == FS_READ.input_schema and back.prompt_format == "gtm-prompt/2"


def test_steps_give_each_call_with_the_history_before_it() -> None:
    steps = list(episode().steps())
    assert [len(req.history) for req, _ in steps] == [0, 1, 2]
    last_request, last_call = steps[-1]
    assert last_request.history[1].result == "Successfully wrote to /b.txt" and last_request.output_schema is None
    example = render_training_example(last_request, last_call.output)
    assert example["messages"][-1] == {"role": "assistant", "content": "hi"}
    assert ToolOutput("x", is_error=True).text == "x" and ToolOutput({"a": 1}).text == '{"a": 1}'


def test_the_contract_imports_nothing_of_the_server() -> None:
    code = ("import sys, gtm_mcp.contract, gtm_mcp.contract.prompt; "
            "bad = [m for m in sys.modules if m.startswith(('gtm_mcp.server', 'gtm_mcp.calls', 'gtm_mcp.sessions', "
            "'gtm_mcp.backends', 'mcp', 'starlette', 'uvicorn'))]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
