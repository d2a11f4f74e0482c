"""A real GPU vLLM behind the server (needs an NVIDIA GPU and PyPI's CUDA `vllm`; skipped cleanly
without them). Set GTM_TEST_VLLM_GPU_PYTHON to the interpreter of a venv with `vllm` (default
`.venv-vllm-gpu/bin/python`) and optionally GTM_TEST_GPU_MODEL to a model folder (default: the
packaged SmolLM2). Prints the median latency per call at 1, 16 and 64 concurrent sessions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gtm_mcp.launch import free_port, spawned

pytestmark = [pytest.mark.gpu, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[3]
GPU_PY = Path(os.environ.get("GTM_TEST_VLLM_GPU_PYTHON", ROOT / ".venv-vllm-gpu" / "bin" / "python"))


def _gpu_available() -> str | None:
    if shutil.which("nvidia-smi") is None or subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode:
        return "no NVIDIA GPU (nvidia-smi finds none)"
    if not GPU_PY.exists():
        return f"no CUDA vLLM at {GPU_PY} (pip install vllm in a venv of its own; set GTM_TEST_VLLM_GPU_PYTHON)"
    return None


def test_gpu_vllm_latency_through_the_server() -> None:
    reason = _gpu_available()
    if reason:
        pytest.skip(reason)
    from gtm_mcp.models import packaged_model

    model = os.environ.get("GTM_TEST_GPU_MODEL") or str(packaged_model("smollm2"))
    port = free_port()
    cmd = [str(GPU_PY), "-m", "vllm.entrypoints.openai.api_server", "--model", model, "--served-model-name", "gtm",
           "--host", "127.0.0.1", "--port", str(port), "--max-model-len", "4096",
           "--structured-outputs-config", '{"backend":"xgrammar","disable_any_whitespace":true}']
    with spawned(cmd, f"http://127.0.0.1:{port}/v1/models", ready_s=600, stop_s=20):
        out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "backend_latency.py"), "--base-url",
                              f"http://127.0.0.1:{port}", "--model", "gtm"], capture_output=True, text=True,
                             cwd=ROOT, timeout=900)
        print(out.stdout)
        assert out.returncode == 0, out.stdout + out.stderr
