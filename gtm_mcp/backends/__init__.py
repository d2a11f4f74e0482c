"""Backends: what writes a tool's output. `create_backend` builds one from `BackendOptions`.

- `schema`: no model; deterministic, instant, schema-valid outputs (the embedded default).
- `openai`: any OpenAI-compatible endpoint (vLLM serving a GTM first of all).
- `local`: a model loaded in-process with transformers.

Model backends are imported lazily so the server starts fast without heavy libraries.
"""

from __future__ import annotations

import importlib
from typing import Literal

from pydantic import BaseModel, Field

from gtm_mcp.backends.base import Backend, BackendError, BackendHealth, CallRecord, SimulationRequest

BackendName = Literal["schema", "openai", "local"]

#: name -> "module:Class"; each class has `from_options(options: BackendOptions) -> Backend`.
REGISTRY: dict[str, str] = {
    "schema": "gtm_mcp.backends.schema:SchemaBackend",
    "openai": "gtm_mcp.backends.openai:OpenAIBackend",
    "local": "gtm_mcp.backends.local:LocalBackend",
}


class BackendOptions(BaseModel):
    """Settings of every backend (each reads the ones it needs). CLI flags and `GTM_MCP_*` env
    vars map onto these fields one to one (`--base-url` / `GTM_MCP_BASE_URL` -> `base_url`)."""

    backend: BackendName = "schema"
    seed: int = 0
    # openai
    base_url: str | None = None
    model: str | None = Field(default=None, description="model name (openai) or local path (local)")
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float = 30.0
    max_retries: int = 2
    max_connections: int = 256
    structured_output: Literal["auto", "on", "off"] = "auto"
    # model backends
    max_new_tokens: int = 512
    temperature: float = 0.0
    context_window: int | None = None
    device: str = "auto"
    dtype: str = "auto"


def create_backend(options: BackendOptions) -> Backend:
    target = REGISTRY.get(options.backend)
    if target is None:
        raise ValueError(f"unknown backend {options.backend!r}; known: {', '.join(REGISTRY)}")
    module_name, _, cls_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls.from_options(options)


__all__ = ["REGISTRY", "Backend", "BackendError", "BackendHealth", "BackendName", "BackendOptions", "CallRecord",
           "SimulationRequest", "create_backend"]
