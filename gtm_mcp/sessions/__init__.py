"""Sessions: one consistent world per episode, keyed explicitly, isolated, bounded, expiring."""

from gtm_mcp.sessions.keys import META_HIDDEN_CONTEXT, META_RESET, META_SESSION, META_SESSION_CONTEXT
from gtm_mcp.sessions.store import Session, SessionStore

__all__ = ["META_HIDDEN_CONTEXT", "META_RESET", "META_SESSION", "META_SESSION_CONTEXT", "Session", "SessionStore"]
