"""Housekeeping for sessions and one-time tokens past their end."""

from shared.auth.models import OneTimeToken, Session
from shared.auth.sessions import sessions
from shared.clock import now
from shared.config import get_settings
from shared.cosmos.repository import KeyedRepository

tokens = KeyedRepository(container="tokens", model=OneTimeToken)


def purge_expired() -> int:
    """Delete sessions past their absolute or idle limit and expired tokens; returns the count."""
    moment = now()
    idle_since = moment - get_settings().session_idle_seconds
    stale: list[Session] = sessions.scan(
        where="c.absolute_expires_at <= @now OR c.last_seen_at <= @idle",
        parameters={"@now": moment, "@idle": idle_since},
    )
    removed = sum(sessions.delete(s.id) for s in stale)
    expired = tokens.scan(where="c.expires_at <= @now", parameters={"@now": moment})
    removed += sum(tokens.delete(t.id) for t in expired)
    return removed
