"""Running the official MCP conformance suite (`@modelcontextprotocol/conformance`, server scenarios)
against a server URL, with the Node 22 binary `scripts/setup_mcp_servers.sh` installs.

`run_suite(url, out)` runs every server scenario in one Node process (`--suite all`, ~3 s) and
reads each scenario's `checks.json`: a scenario passes when none of its checks failed (warnings
are kept). Used by tests/gtm_mcp/surface/test_conformance.py and scripts/conformance_table.py.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from real_servers import CONFORMANCE, node22

#: Scenarios no simulator can pass, whatever definitions it is given: the reference tool calls back
#: into the client (sampling, elicitation), which a simulated tool never does - its output is simulated.
NOT_APPLICABLE = {
    "tools-call-sampling": "the reference tool asks the client for an LLM completion (sampling/createMessage); "
                           "a simulated tool's output is simulated, it never calls back into the client",
    "tools-call-elicitation": "the reference tool asks the user for input (elicitation/create); a simulated tool "
                              "never calls back into the client",
    "elicitation-sep1034-defaults": "the reference tool sends an elicitation/create request with default values; "
                                    "a simulated tool never calls back into the client",
    "elicitation-sep1330-enums": "the reference tool sends an elicitation/create request with enum schemas; a "
                                 "simulated tool never calls back into the client",
}
#: Scenarios that call tools, resources or prompts of the suite's reference server by name: they
#: apply to a server that defines them (the reference surface, tests/gtm_mcp/surface/
#: conformance_reference.json), not to arbitrary tools.
NEEDS_REFERENCE = {
    "completion-complete": "completes an argument of the reference prompt test_prompt_with_arguments",
    "tools-call-simple-text": "calls the reference tool test_simple_text",
    "tools-call-image": "calls the reference tool test_image_content",
    "tools-call-audio": "calls the reference tool test_audio_content",
    "tools-call-embedded-resource": "calls the reference tool test_embedded_resource",
    "tools-call-mixed-content": "calls the reference tool test_multiple_content_types",
    "tools-call-with-logging": "calls the reference tool test_tool_with_logging",
    "tools-call-error": "calls the reference tool test_error_handling",
    "tools-call-with-progress": "calls the reference tool test_tool_with_progress",
    "json-schema-2020-12": "lists the reference tool json_schema_2020_12_tool",
    "server-sse-polling": "calls the reference tool test_reconnection",
    "resources-read-text": "reads the reference resource test://static-text",
    "resources-read-binary": "reads the reference resource test://static-binary",
    "resources-templates-read": "reads the reference template test://template/{id}/data",
    "prompts-get-simple": "gets the reference prompt test_simple_prompt",
    "prompts-get-with-args": "gets the reference prompt test_prompt_with_arguments",
    "prompts-get-embedded-resource": "gets the reference prompt test_prompt_with_embedded_resource",
    "prompts-get-with-image": "gets the reference prompt test_prompt_with_image",
}


@dataclass
class ScenarioResult:
    name: str
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checks: int = 0

    @property
    def passed(self) -> bool:
        return self.checks > 0 and not self.failures


@cache
def scenario_names() -> list[str]:
    listed = subprocess.run([str(node22()), str(CONFORMANCE), "list", "--server"], capture_output=True, text=True,
                            timeout=60, check=True).stdout
    return re.findall(r"^\s+- ([a-z0-9-]+)", listed, flags=re.M)


def run_suite(url: str, out: Path, *, timeout_s: float = 180.0) -> dict[str, ScenarioResult]:
    """Every server scenario against `url`; {scenario: result}."""
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([str(node22()), str(CONFORMANCE), "server", "--url", url, "--suite", "all", "-o", str(out)],
                          capture_output=True, text=True, timeout=timeout_s)
    (out / "suite.log").write_text(done.stdout + done.stderr)
    results: dict[str, ScenarioResult] = {}
    for name in scenario_names():
        result = results[name] = ScenarioResult(name)
        runs = sorted(out.glob(f"server-{name}-20*/checks.json"))
        if not runs:
            result.failures.append("the suite wrote no result for this scenario")
            continue
        for check in json.loads(runs[-1].read_text()):
            result.checks += 1
            text = f"{check.get('id')}: {check.get('errorMessage') or check.get('description')}"
            if check.get("status") == "FAILURE":
                result.failures.append(text)
            elif check.get("status") == "WARNING":
                result.warnings.append(text)
    return results


def verdict(result: ScenarioResult, *, reference: bool) -> str:
    """`pass`, `fail`, or `n.a.` with the reason (reference-named scenarios on servers without them)."""
    if result.passed:
        note = f" ({len(result.warnings)} warning(s))" if result.warnings else ""
        return "pass" + note
    reason = NOT_APPLICABLE.get(result.name) or (None if reference else NEEDS_REFERENCE.get(result.name))
    if reason:
        return f"n.a.: {reason}"
    return "fail: " + "; ".join(result.failures)[:200]
