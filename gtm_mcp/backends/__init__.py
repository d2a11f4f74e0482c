"""Backends: what writes a tool's output. `create_backend` builds one from `BackendOptions`.

- `schema`: no model; deterministic, instant, schema-valid outputs (the embedded default).
- `openai`: any OpenAI-compatible endpoint (vLLM serving a GTM first of all).
- `local`: a model loaded in-process with transformers.

Model backends are imported lazily so the server starts fast without heavy libraries.
"""

from __future__ import annotations

import importlib
from typing import Literal

from pydantic import BaseModel, model_validator

from gtm_mcp.backends.base import Backend, BackendError, BackendHealth
from gtm_mcp.setting import setting

BackendName = Literal["schema", "openai", "local"]

#: name -> "module:Class"; each class has `from_options(options: BackendOptions) -> Backend`.
REGISTRY: dict[str, str] = {
    "schema": "gtm_mcp.backends.schema:SchemaBackend",
    "openai": "gtm_mcp.backends.openai:OpenAIBackend",
    "local": "gtm_mcp.backends.local:LocalBackend",
}


class BackendOptions(BaseModel):
    """Settings of every backend (each reads the ones it needs). Each is also a flag, a `GTM_MCP_*`
    variable and a config-file key of the same public name (see `gtm_mcp.config`)."""

    backend: BackendName = setting("schema", help="what writes outputs: schema (no model), openai (an "
                                   "OpenAI-compatible endpoint), local (a model in-process)")
    seed: int = setting(0, help="seed for deterministic outputs")
    # schema: the rules of the session world
    world_rules: str | None = setting(metavar="FILE", help="schema: a YAML/JSON file of world rules (verbs -> "
                                      "operations, field names -> value kinds) merged over the shipped ones")
    # openai
    base_url: str | None = setting(help="openai: endpoint base URL, e.g. http://127.0.0.1:8000/v1")
    model: str | None = setting(help="openai: model name; local: model directory, GGUF file or packaged name")
    tokenizer: str | None = setting(help="openai: a local tokenizer folder for exact token budgets (default: "
                                    "estimated; the local backend always uses its model's)")
    api_key_env: str = setting("OPENAI_API_KEY", help="openai: environment variable holding the API key")
    timeout_s: float = setting(30.0, "timeout", help="model backends: seconds per request")
    max_retries: int = setting(2, help="openai: retries on connect errors, 429 and 5xx")
    max_connections: int = setting(256, help="openai: HTTP connections to the endpoint")
    structured_output: Literal["auto", "on", "off"] = setting(
        "auto", help="JSON-schema constrained decoding: the endpoint's structured output (openai; auto falls "
        "back when the endpoint lacks it) or xgrammar in-process (local)")
    # model backends
    max_new_tokens: int = setting(512, help="model backends: most tokens an answer may take")
    temperature: float = setting(0.0, help="model backends: sampling temperature (0: greedy)")
    context_window: int | None = setting(help="model backends: the model's window in tokens; the oldest history "
                                         "turns are dropped to fit (default: asked from the endpoint or model)")
    device: str = setting("auto", help="local: cpu, cuda or auto")
    dtype: str = setting("auto", help="local: torch dtype (auto: bfloat16)")
    max_queue: int = setting(256, help="local: calls waiting for the model at most; more are answered 'busy'")
    # scale-out: several model endpoints serving the same model
    endpoints: list[str] = setting(default_factory=list, metavar="URL", help="openai: more base URLs serving the same "
                                   "model as --base-url; each session sticks to one (so vLLM's prefix cache is reused) "
                                   "and moves to the next when its endpoint stops answering")
    endpoint_cooldown_s: float = setting(5.0, "endpoint-cooldown", help="openai: seconds an endpoint that refused a "
                                         "connection is skipped before it is tried again")

    @model_validator(mode="after")
    def _rules_readable(self) -> BackendOptions:
        if self.world_rules:
            from gtm_mcp.backends.schema.rules import load_rules

            load_rules(self.world_rules)  # a broken file is refused at start, naming the key
        return self


def create_backend(options: BackendOptions) -> Backend:
    target = REGISTRY.get(options.backend)
    if target is None:
        raise ValueError(f"unknown backend {options.backend!r}; known: {', '.join(REGISTRY)}")
    module_name, _, cls_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls.from_options(options)


__all__ = ["REGISTRY", "Backend", "BackendError", "BackendHealth", "BackendName", "BackendOptions", "create_backend"]
