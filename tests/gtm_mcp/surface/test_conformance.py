"""The official MCP conformance suite (`@modelcontextprotocol/conformance` 0.1.16, every server
scenario, run by Node 22) against real `gtm-mcp serve --transport http` processes:

- the default tools (the bundled examples, with their resources and prompts) plus the suite's
  reference server as definitions (conformance_reference.json: its tools, resources, template and
  prompts): every scenario a simulator can pass passes, the generic ones included; the four whose
  reference tool calls back into the client (sampling, elicitation) are listed in
  tests/conformance.py with the reason, and checked to fail for exactly that reason
  (scripts/conformance_table.py also runs the default tools alone);
- a mirror of a real server with resources and prompts (server-everything, running over HTTP):
  it passes every scenario the real server passes; the two suites run side by side.

`test_error_handling` is left out of the reference definitions on purpose: the reference tool always
throws, which is its implementation, not its definition. The suite then calls an unknown tool,
and the simulator's refusal (an isError result with text) is what the scenario checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conformance import NEEDS_REFERENCE, NOT_APPLICABLE, ScenarioResult, run_suite, scenario_names
from conftest import EXAMPLE_TOOLS, run_server
from real_servers import NODE_BIN, everything_server

from gtm_mcp.launch import free_port, spawned

REFERENCE = Path(__file__).with_name("conformance_reference.json")
#: Scenarios any MCP server must pass, whatever its tools.
GENERIC = {"server-initialize", "ping", "logging-set-level", "tools-list", "resources-list", "resources-subscribe",
           "resources-unsubscribe", "prompts-list", "server-sse-multiple-streams", "dns-rebinding-protection"}


def _report(results: dict[str, ScenarioResult]) -> str:
    return "\n".join(f"{name}: {'pass' if r.passed else r.failures}" for name, r in results.items())


def test_every_scenario_is_accounted_for() -> None:
    names = set(scenario_names())
    assert names == GENERIC | set(NEEDS_REFERENCE) | set(NOT_APPLICABLE), names ^ (
        GENERIC | set(NEEDS_REFERENCE) | set(NOT_APPLICABLE))


@pytest.fixture(scope="module")
def reference_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ScenarioResult]:
    logs = tmp_path_factory.mktemp("reference")
    with run_server("--tools", str(EXAMPLE_TOOLS), str(REFERENCE), tmp_path=logs) as server:
        return run_suite(server.url, logs / "suite")


def test_with_the_reference_definitions_every_scenario_a_simulator_can_pass_passes(reference_results) -> None:
    failed = {name for name, r in reference_results.items() if not r.passed and name not in NOT_APPLICABLE}
    assert not failed and GENERIC <= set(reference_results), _report(reference_results)
    for name in NOT_APPLICABLE:  # and the listed ones fail for the reason given, nothing else
        assert reference_results[name].failures, name
        assert all("did not request" in f for f in reference_results[name].failures), reference_results[name].failures


@pytest.fixture(scope="module")
def real_everything(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    everything_server()  # fails with the set-up command when the real servers are not installed
    port = free_port()
    log = tmp_path_factory.mktemp("everything") / "server.log"
    with spawned([str(NODE_BIN / "mcp-server-everything"), "streamableHttp"], f"http://127.0.0.1:{port}/mcp",
                 log=log, env={"PORT": str(port)}):
        yield f"http://127.0.0.1:{port}/mcp"


def test_a_mirror_of_a_real_server_passes_what_the_real_server_passes(real_everything, tmp_path: Path) -> None:
    with run_server("--mirror", real_everything, tmp_path=tmp_path) as mirror, ThreadPoolExecutor(2) as pool:
        real_run = pool.submit(run_suite, real_everything, tmp_path / "real")
        mirrored = run_suite(mirror.url, tmp_path / "mirror")
        real = real_run.result()
    assert {"resources-list", "prompts-list", "logging-set-level"} <= {n for n, r in real.items() if r.passed}
    lost = {name for name, r in real.items() if r.passed and not mirrored[name].passed}
    assert not lost, _report(mirrored)
    assert all(mirrored[name].passed for name in GENERIC), _report(mirrored)
