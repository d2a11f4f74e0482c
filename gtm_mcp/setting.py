"""Declaring one setting: its default, its help, and its one public name.

A setting declared with `setting(default, "timeout", ...)` is `--timeout` on the command line,
`GTM_MCP_TIMEOUT` in the environment and `timeout` in a config file: one name everywhere, whatever
the Python field is called. `gtm_mcp.config` reads the whole table from the models' fields.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

ENV_PREFIX = "GTM_MCP_"


def setting(default: Any = None, name: str | None = None, *, help: str, commands: tuple[str, ...] = ("serve", "call"),
            metavar: str | None = None, secret: bool = False, default_factory: Any = None) -> Any:
    """A settings field with its public `name` (defaults to the field name with `-` for `_`), the
    `commands` whose parser offers it, and whether its value is a `secret` (never printed)."""
    extra = {"public": name, "commands": list(commands), "metavar": metavar, "secret": secret}
    if default_factory is not None:
        return Field(default_factory=default_factory, description=help, json_schema_extra=extra)
    return Field(default, description=help, json_schema_extra=extra)
