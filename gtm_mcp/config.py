"""Server settings: one table, read from flags, `GTM_MCP_*` environment variables and a config file.

Every setting has one public name, used everywhere: `--timeout` on the command line,
`GTM_MCP_TIMEOUT` in the environment, `timeout` in a YAML/JSON/TOML file named by `--config` or
`GTM_MCP_CONFIG`. Precedence: flags, then the environment, then the file, then the defaults.
Unknown names are refused in all three places (a typo never passes silently). `gtm-mcp serve
--help` prints the table (`settings_table()`).
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import PrivateAttr, ValidationError, model_validator

from gtm_mcp.backends import BackendOptions
from gtm_mcp.setting import ENV_PREFIX, setting

#: `GTM_MCP_*` variables that are not settings of `serve`, read by other parts of the project.
OTHER_VARIABLES = {
    "GTM_MCP_CONFIG": "the settings file",
    "GTM_MCP_CACHE": "the cache root (models/, embeddings/)",
    "GTM_MCP_URL": "`gtm-mcp tools`: the server to manage",
}


def example_tools_path() -> str:
    """The bundled example tool set (served when no --tools is given)."""
    return str(resources.files("gtm_mcp") / "examples" / "tools.json")


class Settings(BackendOptions):
    tools: list[str] = setting(name="tools", default_factory=list, metavar="PATH",
                               help="tool files or directories (.json/.jsonl/.yaml); default: the bundled examples")
    format: str | None = setting(help="force a tool format instead of detecting it (mcp, openai, gtm, seal-tools, "
                                 "stabletoolbench, livemcpbench, toolsdk)")
    namespace: Literal["auto", "always", "never"] = setting(
        "auto", help="tools of different servers sharing a name: qualify as server__name (auto), always qualify, "
        "or refuse (never)")
    skip_invalid: bool = setting(False, help="serve the valid tools and log the broken ones instead of refusing "
                                 "to start")
    mirror: list[str] = setting(default_factory=list, metavar="URL_OR_COMMAND", commands=("serve",),
                                help="copy the tool list of live MCP servers (http(s) URL, or a command over stdio)")
    watch: list[str] = setting(default_factory=list, metavar="DIR", commands=("serve",),
                               help="directories whose tool files are (re)loaded while the server runs")
    watch_interval_s: float = setting(1.0, "watch-interval", commands=("serve",),
                                      help="seconds between scans of watched directories")
    transport: Literal["stdio", "http"] = setting("stdio", commands=("serve",), help="stdio or streamable HTTP")
    host: str = setting("127.0.0.1", commands=("serve",), help="HTTP bind address")
    port: int = setting(8765, commands=("serve",), help="HTTP port")
    admin_token: str | None = setting(commands=("serve",), secret=True,
                                      help="Bearer token the /admin routes require (needed off loopback); prefer "
                                      "GTM_MCP_ADMIN_TOKEN or --admin-token-file: argv is visible to every user")
    admin_token_file: str | None = setting(commands=("serve",), metavar="FILE",
                                           help="read the admin token from this file")
    max_admin_body: int = setting(32 * 1024 * 1024, "max-admin-body", commands=("serve",),
                                  help="largest request body in bytes of every HTTP route but /mcp (admin, shims)")
    max_sessions: int = setting(10_000, commands=("serve",), help="sessions kept (least recently used evicted)")
    session_ttl_s: float = setting(3600.0, "session-ttl", commands=("serve",), help="seconds an idle session is kept")
    max_history: int = setting(200, help="calls kept per session")
    max_session_bytes: int = setting(8 * 1024 * 1024, help="bytes of history and world kept per session")
    max_output_bytes: int = setting(1024 * 1024, help="largest tool output in bytes; larger is an error")
    allow_extra_params: bool = setting(False, help="accept parameters a tool's schema does not declare "
                                       "(default: refuse them)")
    # argument checking (gtm_mcp/calls/checking.py)
    check_profile: Literal["auto", "strict", "pydantic", "zod"] = setting(
        "auto", help="how tools that name no check_profile check their arguments: strict (the JSON Schema as "
        "written, undeclared parameters refused), pydantic (a Python MCP server: lax coercion, extras ignored), "
        "zod (a TypeScript MCP server: no coercion, extras stripped); auto: strict, and --mirror detects each "
        "mirrored server's own")
    call_timeout_s: float = setting(120.0, "call-timeout", help="seconds a whole call may take")
    page_size: int = setting(500, commands=("serve",), help="tools per tools/list page")
    # RL shims: StableToolBench's POST /virtual and Search-R1's POST /retrieve (gtm_mcp/server/shims.py)
    retrieve_tool: str = setting("web_search", commands=("serve",),
                                 help="the search tool that answers Search-R1's POST /retrieve")
    # scale-out: several server processes behind a load balancer share sessions through Redis
    session_store: Literal["memory", "redis"] = setting(
        "memory", commands=("serve",), help="where sessions live: memory (this process) or redis (shared by every "
        "replica that names the same --redis-url and --redis-prefix)")
    redis_url: str = setting("redis://127.0.0.1:6379/0", commands=("serve",), secret=True,
                             help="--session-store redis: the Redis server (redis://[user:password@]host:port/db)")
    redis_prefix: str = setting("gtm-mcp:", commands=("serve",),
                                help="--session-store redis: key prefix (replicas of one deployment share it)")
    session_lock_ttl_s: float = setting(10.0, "session-lock-ttl", commands=("serve",),
                                        help="--session-store redis: seconds a call's session lock lives unless "
                                        "renewed (how long a replica that died mid-call blocks its session)")
    # hardening (issue 7): which Host/Origin headers every HTTP route accepts; argument size limits
    allowed_hosts: list[str] = setting(default_factory=list, commands=("serve",), metavar="HOST",
                                       help="Host headers accepted besides the loopback names (HOST:PORT, or HOST:* "
                                       "for any port); on a non-loopback bind, naming any turns on the "
                                       "DNS-rebinding protection of every route")
    allowed_origins: list[str] = setting(default_factory=list, commands=("serve",), metavar="ORIGIN",
                                         help="Origin headers accepted besides the loopback ones (e.g. "
                                         "https://app.example.com, or http://host:* for any port)")
    max_argument_bytes: int = setting(4 * 1024 * 1024, help="largest call arguments in bytes (as JSON); larger "
                                      "is an isError result")
    max_argument_depth: int = setting(64, help="deepest nesting of call arguments; deeper is an isError result")
    cpu_threads: int = setting(2, commands=("serve",), help="worker threads for work whose size the input controls "
                               "(large argument and output checks, uploads, reloads); few keep the event loop "
                               "responsive, since Python threads share one interpreter lock")
    log_level: str = setting("INFO", help="DEBUG, INFO, WARNING (logs go to stderr)")
    # hybrid, recording, faults (gtm_mcp/calls/routing.py, cassette.py, faults.py; gtm_mcp/upstream.py)
    real: list[str] = setting(default_factory=list, metavar="TOOL_GLOB", commands=("serve",),
                              help="hybrid: tools (names or globs) answered by the real server they were mirrored "
                              "from (--mirror); the others are simulated")
    warmup: int = setting(0, commands=("serve",), help="hybrid: real tools are simulated for their first N calls, "
                          "then answered by the real server")
    warmup_per: Literal["session", "global"] = setting("session", commands=("serve",),
                                                       help="hybrid: count warm-up calls per session or server-wide")
    upstream_timeout_s: float = setting(30.0, "upstream-timeout", commands=("serve",),
                                        help="hybrid: seconds a real call may take (a broken connection is re-opened)")
    rules: str | None = setting(metavar="FILE", help="YAML/JSON file of per-tool hybrid routes (real:) and fault "
                                "rules (faults:), tried in order before the flags' own")
    record: str | None = setting(metavar="CASSETTE", help="record every call and result as episodes "
                                 "(gtm-episode/1 JSON Lines, secrets redacted) appended to this file")
    replay: str | None = setting(metavar="CASSETTE", help="answer calls from this recorded cassette; a call it "
                                 "never recorded is an isError result")
    replay_miss: Literal["error", "live"] = setting("error", help="replay: a call the cassette lacks is refused "
                                                    "(error) or answered as without a cassette (live)")
    replay_ignore: list[str] = setting(default_factory=list, metavar="KEY",
                                       help="replay: argument keys (names, dotted paths, globs) left out when "
                                       "matching calls to the cassette, e.g. request_id")
    replay_volatile: bool = setting(False, help="replay: match timestamps, UUIDs and id-like values in arguments "
                                    "as placeholders")
    redact_keys: list[str] = setting(default_factory=list, metavar="KEY", help="recording: more keys whose values "
                                     "are redacted (added to api_key, token, password, authorization, secret, ...)")
    redact_patterns: list[str] = setting(default_factory=list, metavar="REGEX", help="recording: more RE2 "
                                         "patterns redacted in any text (added to Bearer ..., sk-..., JWTs, ...)")
    redact_defaults: bool = setting(True, help="recording: also redact the built-in secret keys and patterns")
    faults: Literal["flaky", "slow", "errors", "timeouts", "garbage", "chaos"] | None = setting(
        help="inject faults with a preset: flaky, slow, errors, timeouts, garbage, chaos (--fault-* flags override)")
    fault_rate: float | None = setting(help="faults: probability that a call gets a fault (0-1)")
    fault_kinds: list[str] = setting(default_factory=list, metavar="KIND", help="faults: error, timeout, empty, "
                                     "malformed, oversized (drawn with equal weights)")
    fault_tools: list[str] = setting(default_factory=list, metavar="TOOL_GLOB",
                                     help="faults: tools the flags' faults apply to (default: all)")
    latency: str | None = setting(metavar="SPEC", help="faults: added latency, e.g. 200ms, uniform:50ms,300ms, "
                                  "normal:200ms,40ms, lognormal:150ms,0.5, exponential:100ms")
    fault_seed: int | None = setting(help="faults: seed of the draws (default: --seed); same seed, same calls, "
                                     "same faults")

    # session world
    world: str | None = setting(metavar="FILE", help="a declared initial world (JSON/YAML: files, entities, "
                                "records, clock) every new session starts from; what it does not hold is not found")
    invent_json: bool = setting(False, help="tools without an output schema answer with an invented JSON object "
                                "(the old behaviour) instead of text")
    _declared_world: dict[str, Any] | None = PrivateAttr(default=None)

    # MCP surface: resources, resource templates and prompts (loaded from the --tools files, watched
    # directories, admin routes and --mirror), completion, logging, non-text tool content
    mirror_probe: bool = setting(False, commands=("serve",),
                                 help="--mirror also calls the mirrored server's read-only tools that need no "
                                 "arguments once at start, to learn the content they return (images, audio, "
                                 "embedded resources)")
    mirror_max_content: int = setting(64 * 1024, commands=("serve",),
                                      help="--mirror records a static resource's content up to this many bytes "
                                      "(larger ones are simulated)")

    @model_validator(mode="after")
    def _token_from_file(self) -> Settings:
        if self.admin_token_file and not self.admin_token:
            try:
                token = Path(self.admin_token_file).read_text(encoding="utf-8").strip()
            except OSError as e:
                raise ValueError(f"admin-token-file: cannot read {self.admin_token_file}: {e.strerror}") from None
            if not token:
                raise ValueError(f"admin-token-file: {self.admin_token_file} is empty")
            self.admin_token = token
        return self

    @model_validator(mode="after")
    def _world_from_file(self) -> Settings:
        if self.world:
            from gtm_mcp.sessions.world import load_world_file

            self._declared_world = load_world_file(self.world)
        return self

    def declared_world(self) -> dict[str, Any] | None:
        """The world every new session starts from (`--world FILE`), read and checked at load."""
        return self._declared_world

    def tool_paths(self) -> list[str]:
        return self.tools or ([] if self.watch or self.mirror else [example_tools_path()])


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class SettingInfo:
    """One row of the settings table."""

    field: str  # the Python field of `Settings`
    name: str  # the public name: flag --name, variable GTM_MCP_NAME, file key name
    help: str
    commands: tuple[str, ...]
    kind: str  # "bool", "int", "float", "str", "list", "choice"
    choices: tuple[str, ...] | None
    default: Any
    metavar: str | None
    secret: bool

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper().replace("-", "_")


def _kind(annotation: Any) -> tuple[str, tuple[str, ...] | None]:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _kind(args[0])
    if origin is Literal:
        return "choice", tuple(str(a) for a in typing.get_args(annotation))
    if origin is list:
        return "list", None
    return {bool: "bool", int: "int", float: "float"}.get(annotation, "str"), None


def settings_table() -> list[SettingInfo]:
    rows = []
    for field, info in Settings.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        kind, choices = _kind(info.annotation)
        rows.append(SettingInfo(
            field=field, name=str(extra.get("public") or field.replace("_", "-")), help=info.description or "",
            commands=tuple(extra.get("commands") or ("serve",)), kind=kind, choices=choices,
            default=info.get_default(call_default_factory=True), metavar=extra.get("metavar"),
            secret=bool(extra.get("secret"))))
    return rows


def _by_public_name() -> dict[str, SettingInfo]:
    return {row.name: row for row in settings_table()}


def _unknown(kind: str, names: list[str], known: list[str]) -> ConfigError:
    hints = []
    for name in names:
        close = difflib.get_close_matches(name, known, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return ConfigError(f"unknown {kind} {', '.join(hints)}; `gtm-mcp serve --help` lists every setting")


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
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping of settings")
    table = _by_public_name()
    values, unknown = {}, []
    for key, value in data.items():
        row = table.get(str(key).replace("_", "-"))
        if row is None:
            unknown.append(str(key))
        else:
            values[row.field] = value
    if unknown:
        raise _unknown(f"setting(s) in {path}:", unknown, list(table))
    return values


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    by_env = {row.env: row for row in settings_table()}
    values: dict[str, Any] = {}
    unknown = []
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name in OTHER_VARIABLES:
            continue
        row = by_env.get(name)
        if row is None:
            unknown.append(name)
        elif row.kind == "list":
            values[row.field] = [x for x in raw.split(",") if x]
        else:
            values[row.field] = raw
    if unknown:
        raise _unknown("environment variable(s)", unknown, [*by_env, *OTHER_VARIABLES])
    return values


def load_settings(flags: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    """Settings from `flags` (field names, None for flags not given), the environment and the file."""
    env = os.environ if env is None else env
    config_path = flags.get("config") or env.get(ENV_PREFIX + "CONFIG")
    merged: dict[str, Any] = _read_file(config_path) if config_path else {}
    merged.update(_from_env(env))
    merged.update({k: v for k, v in flags.items() if v is not None and k in Settings.model_fields})
    try:
        return Settings(**merged)
    except ValidationError as e:
        table = {row.field: row for row in settings_table()}

        def where(loc: tuple[Any, ...]) -> str:
            row = table.get(str(loc[0])) if loc else None
            return row.name if row else ".".join(map(str, loc)) or "settings"

        raise ConfigError("; ".join(f"{where(err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
                                    for err in e.errors())) from None


def describe_table(command: str = "serve") -> str:
    """The settings table as text for `--help`: flag, variable, file key, default."""
    lines = ["settings (flag | environment variable | config-file key; flags win over the environment, the",
             "environment over the file given with --config or GTM_MCP_CONFIG):"]
    for row in settings_table():
        if command not in row.commands:
            continue
        default = "(secret)" if row.secret else ("" if row.default in (None, [], "") else f" = {row.default}")
        lines.append(f"  {row.flag:<24} {row.env:<30} {row.name}{default}")
    return "\n".join(lines)
