"""Participant sessions: a random cookie value, only its hash stored, grants per webcast."""

import secrets
from dataclasses import dataclass

from shared.auth.sessions import keep_alive, purge_stale
from shared.clock import now
from shared.config import get_settings
from shared.ids import new_secret_token, token_hash
from shared.participants.models import ParticipantSession, PrivacyGrant
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
    previous = resolve(current_token)
    grants: dict[str, str | None] = dict(previous.grants) if previous else {}
    grants[webcast_id] = participant_id
    privacy = dict(previous.privacy) if previous else {}
    return _rotated(previous, grants=grants, privacy=privacy, embedded=embedded)


def grant_privacy(
    *, current_token: str | None, webcast_id: str, participant_id: str
) -> IssuedViewerSession:
    """A new session id holding the earlier grants plus a short privacy grant for the
    participant's own data in this webcast."""
    previous = resolve(current_token)
    privacy = dict(previous.privacy) if previous else {}
    expires_at = now() + get_settings().participant_privacy_session_seconds
    privacy[webcast_id] = PrivacyGrant(participant_id=participant_id, expires_at=expires_at)
    grants = dict(previous.grants) if previous else {}
    return _rotated(previous, grants=grants, privacy=privacy, embedded=False)


def _rotated(
    previous: ParticipantSession | None,
    *,
    grants: dict[str, str | None],
    privacy: dict[str, PrivacyGrant],
    embedded: bool,
) -> IssuedViewerSession:
    s = get_settings()
    moment = now()
    token = new_secret_token()
    lifetime = s.participant_session_absolute_seconds
    named = {p for p in grants.values() if p} | {g.participant_id for g in privacy.values()}
    session = ParticipantSession(
        id=token_hash(token),
        grants=grants,
        participant_ids=sorted(named),
        privacy=privacy,
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


def privacy_participant(session: ParticipantSession | None, webcast_id: str) -> str | None:
    """The participant whose data the session may see in the webcast, while its grant runs."""
    found = session.privacy.get(webcast_id) if session is not None else None
    if found is None or found.expires_at <= now():
        return None
    return found.participant_id


def _renamed(session: ParticipantSession) -> None:
    named = {p for p in session.grants.values() if p}
    session.participant_ids = sorted(named | {g.participant_id for g in session.privacy.values()})


def end(session_id: str) -> None:
    sessions.delete(session_id)


def revoke_participant(participant_id: str) -> int:
    """Remove a deleted or disabled participant's grants from every session."""
    changed = 0
    for session in sessions.scan(
        where="ARRAY_CONTAINS(c.participant_ids, @p)", parameters={"@p": participant_id}
    ):
        session.grants = {w: p for w, p in session.grants.items() if p != participant_id}
        session.privacy = {
            w: g for w, g in session.privacy.items() if g.participant_id != participant_id
        }
        _renamed(session)
        sessions.upsert(session)
        changed += 1
    return changed


def revoke_webcast(webcast_id: str) -> int:
    """Remove every session's grant for a webcast being deleted; a session left without any
    grant goes. How many sessions changed."""
    changed = 0
    for session in sessions.scan(
        where="IS_DEFINED(c.grants[@w]) OR IS_DEFINED(c.privacy[@w])", parameters={"@w": webcast_id}
    ):
        session.grants = {w: p for w, p in session.grants.items() if w != webcast_id}
        session.privacy = {w: g for w, g in session.privacy.items() if w != webcast_id}
        if session.grants or session.privacy:
            _renamed(session)
            sessions.upsert(session)
        else:
            sessions.delete(session.id)
        changed += 1
    return changed
