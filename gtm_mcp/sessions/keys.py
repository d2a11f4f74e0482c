"""Which session a call belongs to, and the `_meta` keys that steer sessions.

Resolution order: the call's `_meta["gtm-mcp/session"]`, the HTTP path `/mcp/<session>`, the
legacy `Mcp-Session-Id` header, the stdio process, else the default session.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: `_meta` key naming the session (episode) a call belongs to.
META_SESSION = "gtm-mcp/session"
#: `_meta` key with hidden context for this call only (text the agent never sees).
META_HIDDEN_CONTEXT = "gtm-mcp/hidden-context"
#: `_meta` key that sets the session's hidden context for this and all later calls.
META_SESSION_CONTEXT = "gtm-mcp/session-context"
#: `_meta` key that, when true, starts the session afresh (a new episode) before this call.
META_RESET = "gtm-mcp/reset"
#: `_meta` key declaring the session's initial world (a JSON object; see gtm_mcp.sessions.world).
#: A world different from the session's current one starts the session again from it.
META_WORLD = "gtm-mcp/world"

DEFAULT_SESSION = "default"
STDIO_SESSION = "stdio"
MAX_KEY_LENGTH = 200


def _clean(key: object) -> str | None:
    if isinstance(key, (str, int)) and not isinstance(key, bool):
        text = str(key).strip()
        if text:
            return text[:MAX_KEY_LENGTH]
    return None


def resolve_session_key(meta: Mapping[str, Any] | None, path_session: str | None = None,
                        header_session: str | None = None, stdio: bool = False) -> str:
    """The session key for a call, by the documented order of precedence."""
    if meta:
        explicit = _clean(meta.get(META_SESSION))
        if explicit:
            return explicit
    for candidate in (path_session, header_session):
        cleaned = _clean(candidate)
        if cleaned:
            return cleaned
    return STDIO_SESSION if stdio else DEFAULT_SESSION
