"""Housekeeping for admin sessions and one-time tokens past their end (TTL does it in Azure,
the local emulator never expires anything)."""

from shared.auth.repository import sessions, tokens
from shared.auth.sessions import purge_stale
from shared.clock import now
from shared.config import get_settings


def purge_expired() -> int:
    """Delete admin sessions past their limits and expired tokens; the count."""
    removed = purge_stale(store=sessions, idle_limit=get_settings().session_idle_seconds)
    expired = tokens.scan(where="c.expires_at <= @now", parameters={"@now": now()})
    return removed + sum(tokens.delete(t.id) for t in expired)
