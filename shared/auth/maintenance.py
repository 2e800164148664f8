"""Housekeeping for sessions and one-time tokens past their end (TTL does it in Azure, the
local emulator never expires anything)."""

from typing import Any

from shared.auth.repository import sessions, tokens
from shared.clock import now
from shared.config import get_settings
from shared.cosmos.repository import KeyedRepository


def _purge_sessions(store: KeyedRepository[Any], idle_seconds: int, moment: float) -> int:
    stale = store.scan(
        where="c.absolute_expires_at <= @now OR c.last_seen_at <= @idle",
        parameters={"@now": moment, "@idle": moment - idle_seconds},
    )
    return sum(store.delete(s.id) for s in stale)


def purge_expired() -> int:
    """Delete admin and viewer sessions past their limits and expired tokens; the count."""
    from shared.participants.repository import participant_sessions

    settings = get_settings()
    moment = now()
    removed = _purge_sessions(sessions, settings.session_idle_seconds, moment)
    removed += _purge_sessions(
        participant_sessions, settings.participant_session_idle_seconds, moment
    )
    expired = tokens.scan(where="c.expires_at <= @now", parameters={"@now": moment})
    return removed + sum(tokens.delete(t.id) for t in expired)
