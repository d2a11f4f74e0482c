"""Server settings from flags, `GTM_MCP_*` environment variables and an optional config file.

Precedence: command-line flags, then environment (`GTM_MCP_PORT=9000`, lists comma-separated),
then the file named by `--config` or `GTM_MCP_CONFIG` (YAML, JSON or TOML with the same keys),
then the defaults below.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError

from gtm_mcp.backends import BackendOptions

ENV_PREFIX = "GTM_MCP_"


def example_tools_path() -> str:
    """The bundled example tool set (served when no --tools is given)."""
    return str(resources.files("gtm_mcp") / "examples" / "tools.json")


class Settings(BackendOptions):
    tools: list[str] = Field(default_factory=list, description="tool files or directories")
    format: str | None = None
    namespace: Literal["auto", "always", "never"] = "auto"
    skip_invalid: bool = False
    mirror: list[str] = Field(default_factory=list, description="live MCP servers (URL or command) to copy tools from")
    watch: list[str] = Field(default_factory=list)
    watch_interval_s: float = 1.0
    transport: Literal["stdio", "http"] = "stdio"
    host: str = "127.0.0.1"
    port: int = 8765
    admin_token: str | None = None
    max_sessions: int = 10_000
    session_ttl_s: float = 3600.0
    max_history: int = 200
    allow_extra_params: bool = False
    call_timeout_s: float = 120.0
    log_level: str = "INFO"

    def tool_paths(self) -> list[str]:
        return self.tools or ([] if self.watch or self.mirror else [example_tools_path()])


class ConfigError(ValueError):
    pass


def _read_file(path: str) -> dict[str, Any]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        if p.suffix == ".toml":
            data = tomllib.loads(text)
        elif p.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as e:
        raise ConfigError(f"config file {path}: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping of settings")
    return {k.replace("-", "_"): v for k, v in data.items()}


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is None:
            continue
        if "list" in str(field.annotation):
            values[name] = [x for x in raw.split(",") if x]
        else:
            values[name] = raw
    return values


def load_settings(flags: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    config_path = flags.get("config") or env.get(ENV_PREFIX + "CONFIG")
    merged: dict[str, Any] = _read_file(config_path) if config_path else {}
    merged.update(_from_env(env))
    merged.update({k: v for k, v in flags.items() if v is not None and k in Settings.model_fields})
    unknown = sorted(set(merged) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(f"unknown setting(s) {unknown}; known: {sorted(Settings.model_fields)}")
    try:
        return Settings(**merged)
    except ValidationError as e:
        raise ConfigError("; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())) from None
