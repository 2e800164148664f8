"""Participant sessions: a random cookie value, only its hash stored, grants per webcast."""

import secrets
from dataclasses import dataclass

from shared.auth.sessions import keep_alive, purge_stale
from shared.clock import now
from shared.config import get_settings
from shared.ids import new_secret_token, token_hash
from shared.participants.models import ParticipantSession
from shared.participants.repository import participant_sessions as sessions


@dataclass
class IssuedViewerSession:
    token: str
    session: ParticipantSession


def purge_expired() -> int:
    """Delete viewer sessions past their limits (TTL does it in Azure); the count."""
    return purge_stale(store=sessions, idle_limit=get_settings().participant_session_idle_seconds)


def resolve(token: str | None) -> ParticipantSession | None:
    """The live session for a cookie value; expired ones are deleted on sight."""
    if not token or len(token) > 256:
        return None
    session = sessions.get(token_hash(token))
    if session is None:
        return None
    idle_limit = get_settings().participant_session_idle_seconds
    return session if keep_alive(store=sessions, session=session, idle_limit=idle_limit) else None


def grant(
    *,
    current_token: str | None,
    webcast_id: str,
    participant_id: str | None,
    embedded: bool = False,
) -> IssuedViewerSession:
    """A new session id holding the earlier grants plus this webcast's (new id at sign-in)."""
    s = get_settings()
    previous = resolve(current_token)
    grants: dict[str, str | None] = dict(previous.grants) if previous else {}
    grants[webcast_id] = participant_id
    moment = now()
    token = new_secret_token()
    lifetime = s.participant_session_absolute_seconds
    session = ParticipantSession(
        id=token_hash(token),
        grants=grants,
        participant_ids=sorted({p for p in grants.values() if p}),
        csrf_token=secrets.token_urlsafe(32),
        created_at=moment,
        last_seen_at=moment,
        absolute_expires_at=(previous.absolute_expires_at if previous else moment + lifetime),
        embedded=embedded or bool(previous and previous.embedded),
        ttl=lifetime + 60,
    )
    stored = sessions.create(session)
    if previous:
        sessions.delete(previous.id)
    return IssuedViewerSession(token=token, session=stored)


def end(session_id: str) -> None:
    sessions.delete(session_id)


def revoke_participant(participant_id: str) -> int:
    """Remove a deleted or disabled participant's grants from every session."""
    changed = 0
    for session in sessions.scan(
        where="ARRAY_CONTAINS(c.participant_ids, @p)", parameters={"@p": participant_id}
    ):
        session.grants = {w: p for w, p in session.grants.items() if p != participant_id}
        session.participant_ids = [p for p in session.participant_ids if p != participant_id]
        sessions.upsert(session)
        changed += 1
    return changed


def revoke_webcast(webcast_id: str) -> int:
    """Remove every session's grant for a webcast being deleted; a session left without any
    grant goes. How many sessions changed."""
    changed = 0
    for session in sessions.scan(where="IS_DEFINED(c.grants[@w])", parameters={"@w": webcast_id}):
        session.grants = {w: p for w, p in session.grants.items() if w != webcast_id}
        if session.grants:
            session.participant_ids = sorted({p for p in session.grants.values() if p})
            sessions.upsert(session)
        else:
            sessions.delete(session.id)
        changed += 1
    return changed
