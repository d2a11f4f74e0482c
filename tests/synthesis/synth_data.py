"""Shared by the synthesis tests (imported by each module: a conftest.py here would shadow the
top-level one): the backends' real-endpoint helpers (vLLM, the scriptable OpenAI-compatible
endpoint) on the import path, and real tools from ../shared/data through the server's importers
(a fixed share of the big sets, so that the tests stay quick on 2 busy cores)."""

from __future__ import annotations

import json
import random
import sys
from functools import cache
from pathlib import Path

BACKEND_HELPERS = Path(__file__).resolve().parents[1] / "gtm_mcp" / "backends"
if str(BACKEND_HELPERS) not in sys.path:
    sys.path.insert(0, str(BACKEND_HELPERS))

from conftest import LIVEMCPBENCH, SEAL_TOOLS, STABLETOOLBENCH, need  # noqa: E402
from openai_fakes import FakeEndpoint  # noqa: E402
from vllm_proc import require_vllm, vllm_server  # noqa: E402

from gtm_mcp.contract import ToolDefinition  # noqa: E402
from gtm_mcp.tools.loader import load_lenient, parse_document  # noqa: E402

__all__ = ["FakeEndpoint", "need", "real_mix", "require_vllm", "seal_sample", "vllm_server"]


@cache
def seal_sample(count: int = 1200) -> tuple[ToolDefinition, ...]:
    """`count` Seal-Tools records (a seeded sample) through the Seal-Tools importer."""
    lines = need(SEAL_TOOLS).read_text(encoding="utf-8").splitlines()
    picked = sorted(random.Random(0).sample(range(len(lines)), min(count, len(lines))))
    tools, problems = parse_document([json.loads(lines[i]) for i in picked], str(SEAL_TOOLS), "seal-tools",
                                     [i + 1 for i in picked])
    assert not problems, problems[:3]
    return tuple(tools)


@cache
def real_mix() -> tuple[ToolDefinition, ...]:
    """Seal-Tools (sample), StableToolBench (one query file) and LiveMCPBench (all) tools."""
    stable, _ = load_lenient([need(STABLETOOLBENCH) / "G1_tool.json"])
    live, _ = load_lenient([need(LIVEMCPBENCH)])
    return (*seal_sample(), *stable, *live)
