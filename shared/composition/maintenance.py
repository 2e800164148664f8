"""The housekeeping timer's job: expired sessions of both sides and one-time tokens (TTL does
it in Azure, the local emulator never expires anything)."""

from shared.auth import maintenance
from shared.participants import sessions as viewer_sessions


def purge_expired() -> int:
    """Delete admin and viewer sessions past their limits and expired tokens; the count."""
    return maintenance.purge_expired() + viewer_sessions.purge_expired()
