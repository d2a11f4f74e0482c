"""The `gtm-mcp` command line, run as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from gtm_mcp.config import ConfigError, load_settings


def gtm(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "gtm_mcp", *args], capture_output=True, text=True, cwd=REPO,
                          input=stdin, timeout=120, env={**os.environ, **(env or {})})


def test_call_prints_json_and_bad_arguments_exit_1() -> None:
    ok = gtm("call", "get_weather", '{"city": "Lima"}', "--seed", "4")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["city"] == "Lima"
    assert json.loads(gtm("call", "get_weather", '{"city": "Lima"}', "--seed", "4").stdout) == json.loads(ok.stdout)
    bad = gtm("call", "get_weather", '{"city": 7}')
    assert bad.returncode == 1 and "[wrong type]" in bad.stderr and bad.stdout == ""
    assert gtm("call", "get_weather", "{not json").returncode == 2


def test_check_exit_codes(tmp_path: Path) -> None:
    good = gtm("check", str(REPO / "gtm_mcp" / "examples" / "tools.json"))
    assert good.returncode == 0 and "10 tool(s) usable" in good.stderr
    (tmp_path / "bad.json").write_text(json.dumps([{"name": "t", "inputSchema": {"type": "object", "properties": {
        "n": {"type": "integer", "minimum": "zero"}}}}]))
    bad = gtm("check", str(tmp_path))
    assert bad.returncode == 1
    assert f"{tmp_path / 'bad.json'}: tool 't' at /0/inputSchema/properties/n/minimum:" in bad.stdout


def test_serve_refuses_broken_tools_and_logs_only_to_stderr(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("- name: t\n  inputSchema: {type: object, required: nope}\n")
    refused = gtm("serve", "--tools", str(tmp_path / "bad.yaml"), stdin="")
    assert refused.returncode == 1
    assert "bad.yaml: tool 't' at /0/inputSchema/required" in refused.stderr and refused.stdout == ""
    # With stdin closed at once, a stdio server starts, logs to stderr and writes nothing to stdout.
    started = gtm("serve", "--tools", str(REPO / "gtm_mcp" / "examples" / "tools.json"), stdin="")
    assert started.returncode == 0 and started.stdout == ""
    assert "serving 10 tools with the schema backend over stdio" in started.stderr


def test_serve_on_a_busy_port_says_so(example_server) -> None:
    busy = gtm("serve", "--transport", "http", "--port", str(example_server.port))
    assert busy.returncode == 1
    assert f"cannot listen on 127.0.0.1:{example_server.port}: the port is already in use" in busy.stderr
    assert "Traceback" not in busy.stderr


def test_settings_precedence(tmp_path: Path) -> None:
    config = tmp_path / "gtm.yaml"
    config.write_text("port: 9001\nseed: 5\nbackend: schema\nmax-history: 7\n")
    settings = load_settings({"config": str(config), "seed": 9}, env={"GTM_MCP_PORT": "9002",
                                                                      "GTM_MCP_TOOLS": "a.json,b.json"})
    assert (settings.port, settings.seed, settings.max_history, settings.tools) == (9002, 9, 7, ["a.json", "b.json"])
    typo = tmp_path / "typo.json"
    typo.write_text('{"prot": 1}')
    with pytest.raises(ConfigError, match=r"unknown setting.*prot"):
        load_settings({}, env={"GTM_MCP_CONFIG": str(typo)})
    with pytest.raises(ConfigError, match="port"):
        load_settings({}, env={"GTM_MCP_PORT": "not-a-port"})


def test_help_has_examples() -> None:
    out = gtm("serve", "--help")
    assert out.returncode == 0 and "examples:" in out.stdout and "GTM_MCP_" in out.stdout


def test_one_public_name_per_setting_everywhere(tmp_path: Path) -> None:
    """`--timeout`, `GTM_MCP_TIMEOUT` and `timeout:` are the same setting; unknown names are refused
    in the environment as in files (a typo never passes silently)."""
    assert load_settings({}, env={"GTM_MCP_TIMEOUT": "5"}).timeout_s == 5.0
    config = tmp_path / "c.yaml"
    config.write_text("timeout: 7\ncall-timeout: 9\nsession_ttl: 11\n")
    s = load_settings({"config": str(config)}, env={})
    assert (s.timeout_s, s.call_timeout_s, s.session_ttl_s) == (7.0, 9.0, 11.0)
    with pytest.raises(ConfigError, match=r"GTM_MCP_TIMOUT.*did you mean 'GTM_MCP_TIMEOUT'"):
        load_settings({}, env={"GTM_MCP_TIMOUT": "5"})
    config.write_text("timeout_s: 7\n")  # the Python field name is not a public name
    with pytest.raises(ConfigError, match=r"unknown setting.*timeout_s"):
        load_settings({"config": str(config)}, env={})
    assert load_settings({}, env={"GTM_MCP_CACHE": "/tmp/x", "GTM_MCP_URL": "http://h"}).port == 8765


def test_every_setting_has_a_flag_and_help_lists_the_table() -> None:
    from gtm_mcp.cli import build_parser
    from gtm_mcp.config import settings_table

    serve = build_parser()._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    flags = {opt for action in serve._actions for opt in action.option_strings}
    for row in settings_table():
        if "serve" in row.commands:
            assert row.flag in flags, row
    out = gtm("serve", "--help").stdout
    assert "--timeout" in out and "GTM_MCP_TIMEOUT" in out and "GTM_MCP_CALL_TIMEOUT" in out


def test_admin_token_from_a_file_or_the_environment(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    assert load_settings({"admin_token_file": str(token)}, env={}).admin_token == "s3cret"
    assert load_settings({}, env={"GTM_MCP_ADMIN_TOKEN": "t2"}).admin_token == "t2"
    with pytest.raises(ConfigError, match=r"admin-token-file.*cannot read"):
        load_settings({"admin_token_file": str(tmp_path / "missing")}, env={})


def test_call_takes_tools_before_the_tool_name(tmp_path: Path) -> None:
    tools = REPO / "gtm_mcp" / "examples" / "tools.json"
    done = gtm("call", "--tools", str(tools), "get_weather", '{"city": "Lima"}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["city"] == "Lima"
