"""`gtm-mcp serve --mirror` refuses and accepts the same calls as the real server it copies.

Real servers started by the test: tests/servers/pydantic_server.py (the official Python SDK's
`MCPServer`, mcp 2.3.0) and tests/servers/zod_server.mjs (the TypeScript SDK 1.32 with zod 4), each
with integers, booleans, enums, arrays, nested objects and optional parameters; and the pre-installed
servers of tests/real_servers.py (time and git: Python; filesystem and memory: TypeScript) for the
detection. The same calls (valid, borderline, invalid; tests/servers/profile_calls.py) go to the real
server (stdio) and to its mirror (streamable HTTP, official client): isError agrees call by call,
refusals name the same parameters in the same words, and the mirror's backend receives what the real
tool received.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from conftest import REPO, run_server
from mcp import Client, StdioServerParameters
from real_servers import filesystem_server, git_server, memory_server, time_server
from servers.profile_calls import (
    TEST_SERVER_CALLS,
    preinstalled_calls,
    python_server_command,
    spec,
    typescript_server_command,
)

from gtm_mcp.calls.checking import check_call, refusal_parameters
from gtm_mcp.tools.loader import parse_document
from gtm_mcp.tools.mirror_profile import (
    classify_refusal,
    detect,
    from_initialize,
    from_schemas,
    probe,
    probe_target,
    with_profile,
)

COMMANDS = {"python": python_server_command, "typescript": typescript_server_command}
PROFILE = {"python": "pydantic", "typescript": "zod"}


async def _call_all(target: Any, calls: list, meta: dict[str, Any] | None = None,
                    listed: list | None = None) -> list[tuple[bool, str]]:
    answers = []
    async with Client(target) as client:
        if listed is not None:
            listed += [t.model_dump(by_alias=True, exclude_none=True, mode="json")
                       for t in (await client.list_tools()).tools]
        for call in calls:
            result = await client.call_tool(call.tool, call.arguments, meta=meta)
            answers.append((bool(result.is_error), "".join(getattr(b, "text", "") for b in result.content)))
    return answers


def _stdio(argv: list[str]) -> StdioServerParameters:
    return StdioServerParameters(command=argv[0], args=argv[1:])


@pytest.fixture(scope="module", params=["python", "typescript"])
def real_and_mirror(request, tmp_path_factory: pytest.TempPathFactory):
    """(language, the real server's answers, the mirror's answers, what the mirror's backend received,
    the real server's tools/list entries)."""
    argv = COMMANDS[request.param]()
    entries: list[dict[str, Any]] = []
    real = anyio.run(_call_all, _stdio(argv), TEST_SERVER_CALLS, None, entries)
    with run_server("--mirror", spec(argv), tmp_path=tmp_path_factory.mktemp("mirror")) as mirror:
        copied = anyio.run(_call_all, mirror.url, TEST_SERVER_CALLS, {"gtm-mcp/session": "compare"})
        history = httpx.get(f"{mirror.base}/admin/sessions/compare").json()["history"]
        listed = httpx.get(f"{mirror.base}/admin/tools").json()["tools"]
    assert {t["check_profile"] for t in listed} == {PROFILE[request.param]}
    return request.param, real, copied, history, entries


def test_mirror_refuses_and_accepts_the_same_calls(real_and_mirror) -> None:
    language, real, copied, _, _ = real_and_mirror
    assert sum(is_error for is_error, _ in real) >= 10, "the real server refuses the invalid calls"
    for call, (real_error, real_text), (copy_error, copy_text) in zip(TEST_SERVER_CALLS, real, copied, strict=True):
        assert copy_error == real_error, (language, call, real_text, copy_text)
        if real_error:
            assert refusal_parameters(copy_text) == refusal_parameters(real_text) != (), (call, real_text, copy_text)
            assert copy_text == real_text, "same schema, same checker: the same words"


def test_the_mirrors_backend_receives_what_the_real_tool_received(real_and_mirror) -> None:
    language, real, _, history, _ = real_and_mirror
    assert len(history) == len(TEST_SERVER_CALLS)  # one record per call, refused or not, in order
    compared = 0
    for call, (error, text), entry in zip(TEST_SERVER_CALLS, real, history, strict=True):
        if error:
            continue
        compared += 1
        real_received, simulated = json.loads(text), entry["arguments"]
        if language == "python":  # the Python function receives every parameter, None for those left out
            real_received = {k: v for k, v in real_received.items() if v is not None}
            simulated = {k: v for k, v in simulated.items() if v is not None}
        assert simulated == real_received, call
    assert compared >= 7


def test_before_profiles_strict_disagreed_with_both_servers(real_and_mirror) -> None:
    """What main did (strict everywhere) on the same calls: the comparison above has teeth."""
    language, real, _, _, entries = real_and_mirror
    tools = {t.name: t for t in parse_document({"tools": entries}, "mirror", "mcp")[0]}
    verdicts, both_refuse, same_words = 0, 0, 0
    for call, (error, text) in zip(TEST_SERVER_CALLS, real, strict=True):
        strict = check_call(tools[call.tool], call.arguments).problems
        verdicts += (strict is not None) != error
        both_refuse += error and strict is not None
        same_words += error and strict == text
    assert verdicts >= (5 if language == "python" else 1)  # lax coercion (Python); extra keys stripped (both)
    assert both_refuse >= 8 and same_words == 0  # and never the real server's words


def test_warnings_reach_the_official_client_over_stdio(tmp_path: Path) -> None:
    """An accepted call that strict would refuse carries `gtm-mcp/warnings` in the result's `_meta`."""
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps([{"name": "book", "check_profile": "pydantic", "input_schema": {
        "type": "object", "properties": {"count": {"type": "integer"}}, "required": ["count"]},
        "output_schema": {"type": "object", "properties": {"count": {"type": "integer"}}, "required": ["count"]}}]))

    async def go() -> Any:
        async with Client(StdioServerParameters(command=sys.executable, args=[
                "-m", "gtm_mcp", "serve", "--tools", str(tools)], cwd=str(REPO))) as client:
            return await client.call_tool("book", {"count": "2", "pets": 1})

    result = anyio.run(go)
    assert not result.is_error and result.structured_content["count"] == 2
    warnings = result.meta["gtm-mcp/warnings"]
    assert any("'count'" in w and "[wrong type]" in w for w in warnings)
    assert any("'pets'" in w and "[unexpected parameter]" in w for w in warnings)


@pytest.fixture(scope="module")
def preinstalled(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("world")
    servers = {"time": time_server(), "git": git_server(root), "filesystem": filesystem_server(root),
               "memory": memory_server(root)}
    (root / "files" / "notes.txt").write_text("one\ntwo\n")
    return root, servers


@pytest.mark.parametrize("name,profile", [("time", "pydantic"), ("git", "pydantic"), ("filesystem", "zod"),
                                          ("memory", "zod")])
def test_detects_preinstalled_servers_and_agrees_with_them(preinstalled, name: str, profile: str) -> None:
    root, servers = preinstalled
    server = servers[name]

    async def answers() -> tuple[Any, Any, list[dict[str, Any]], list[tuple[bool, str]]]:
        async with Client(_stdio(server.argv)) as client:
            entries = [t.model_dump(by_alias=True, exclude_none=True, mode="json")
                       for t in (await client.list_tools()).tools]
            detection = await detect(client, entries)
            probed = await probe(client, entries)  # the probe alone, without the schemas' fingerprints
            out = []
            for call in preinstalled_calls(root)[name]:
                result = await client.call_tool(call.tool, call.arguments)
                out.append((bool(result.is_error), "".join(getattr(b, "text", "") for b in result.content)))
            return detection, probed, entries, out

    detection, probed, entries, real = anyio.run(answers)
    assert detection.profile == profile, detection
    assert probed is not None and probed.profile == profile, probed
    tools = {t.name: t for t in parse_document({"tools": with_profile(entries, profile)}, "m", "mcp")[0]}
    for call, (is_error, text) in zip(preinstalled_calls(root)[name], real, strict=True):
        refused_by_checker = is_error and classify_refusal(text) == profile
        check = check_call(tools[call.tool], call.arguments)
        assert (check.problems is not None) == refused_by_checker, (call, text, check.problems)
        if refused_by_checker:
            assert check.problems == text


def test_mirror_command_saves_the_profile(tmp_path: Path) -> None:
    out = tmp_path / "tools.json"
    done = subprocess.run([sys.executable, "-m", "gtm_mcp", "mirror", spec(typescript_server_command()), "-o",
                           str(out)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "argument checking: zod" in done.stderr
    tools, problems = parse_document(json.loads(out.read_text()), str(out))
    assert problems == [] and {t.check_profile for t in tools} == {"zod"}


def test_detection_rules_without_a_server() -> None:
    """The evidence each rule reads, and what it refuses to conclude from."""
    pydantic_entry = {"name": "git_log", "inputSchema": {"type": "object", "title": "logArguments"}}
    zod_entry = {"name": "read", "inputSchema": {"$schema": "http://json-schema.org/draft-07/schema#",
                                                 "type": "object"}}
    plain = {"name": "plain", "inputSchema": {"type": "object", "properties": {"q": {"type": "string"}}},
             "annotations": {"readOnlyHint": True}}
    assert from_schemas([pydantic_entry, plain]).profile == "pydantic"
    assert from_schemas([zod_entry]).profile == "zod"
    assert from_schemas([pydantic_entry, zod_entry]) is None and from_schemas([plain]) is None
    assert probe_target([pydantic_entry, plain]) == ("plain", {"q": {"gtm-mcp-probe": True}})
    assert probe_target([{**plain, "annotations": {"readOnlyHint": False}}]) is None  # never a tool that writes
    assert classify_refusal("Error executing tool a: 2 validation errors for aArguments\nx") == "pydantic"
    assert classify_refusal("MCP error -32602: Input validation error: Invalid arguments for tool a: x") == "zod"
    assert classify_refusal("Invalid arguments for tool 'a' (1 problem)") is None

    class Tools:
        list_changed = True

    class Capabilities:
        tools = Tools()

    assert from_initialize("2026-07-28", None).profile == "pydantic"
    assert from_initialize("2025-11-25", Capabilities()).profile == "zod"
    assert from_initialize("2025-11-25", object()) is None
