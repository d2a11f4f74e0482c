"""Checking profiles chosen per server (`--check-profile`) and per tool (the tool file, the admin
route's `?check_profile=`), seen by the official MCP client over streamable HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
import httpx
from conftest import REPO, run_server
from mcp import Client

SCHEMA = {"type": "object", "properties": {"count": {"type": "integer"}}, "required": ["count"]}


def test_server_default_tool_file_and_admin_route_each_choose(tmp_path: Path) -> None:
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps([{"name": "by_default", "input_schema": SCHEMA},
                                 {"name": "as_zod", "input_schema": SCHEMA, "check_profile": "zod"}]))
    with run_server("--tools", str(tools), "--check-profile", "pydantic", tmp_path=tmp_path) as server:
        with httpx.Client(base_url=server.base) as admin:
            added = admin.post("/admin/tools", params={"check_profile": "strict"},
                               json=[{"name": "as_strict", "input_schema": SCHEMA, "check_profile": "pydantic"}])
            assert added.status_code == 201, added.text
            refused = admin.post("/admin/tools", params={"check_profile": "lenient"},
                                 json=[{"name": "never_added", "input_schema": SCHEMA}])
            assert refused.status_code == 400 and "strict, pydantic, zod" in refused.json()["error"]
            more = tmp_path / "more.json"
            more.write_text(json.dumps({"tools": [{"name": "added_by_cli", "inputSchema": SCHEMA}]}))
            done = subprocess.run([sys.executable, "-m", "gtm_mcp", "tools", "add", str(more), "--url", server.base,
                                   "--check-profile", "zod"], cwd=REPO, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            listed = {t["name"]: t["check_profile"] for t in admin.get("/admin/tools").json()["tools"]}
        assert listed == {"by_default": None, "as_zod": "zod", "as_strict": "strict", "added_by_cli": "zod"}

        async def calls() -> dict[str, tuple[bool, str]]:
            async with Client(server.url) as client:
                out = {}
                for name in ("by_default", "as_zod", "as_strict"):
                    result = await client.call_tool(name, {"count": "2"})
                    out[name] = (result.is_error, result.content[0].text)
                return out

        answers = anyio.run(calls)
    # a tool without an output schema answers in text; the coerced 2 (not "2") is what it echoes
    assert answers["by_default"][0] is False and "count: 2" in answers["by_default"][1]
    assert '"2"' not in answers["by_default"][1]
    assert answers["as_zod"] == (True, "MCP error -32602: Input validation error: Invalid arguments for tool "
                                       "as_zod: Invalid input: expected number, received string at count")
    assert answers["as_strict"][0] is True and answers["as_strict"][1].startswith("Invalid arguments for tool")
