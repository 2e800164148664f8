"""Data-subject export and erasure for sessions, one-time tokens and sign-in throttles."""

from typing import Any

from shared.auth import sessions as session_store
from shared.auth.models import OneTimeToken
from shared.auth.repository import sessions, throttles, tokens
from shared.auth.throttle import mail_slot_key
from shared.auth.tokens import participant_owner
from shared.ids import lookup_hash
from shared.privacy.models import DataSubject

_SESSION_FIELDS = {"created_at", "last_seen_at", "stage", "absolute_expires_at", "acting_tenant_id"}


def export_sessions(*, subject: DataSubject) -> list[dict[str, Any]]:
    if subject.account_id is None:
        return []
    found = sessions.scan(
        where="c.account_id = @a AND c.home_tenant_id = @t",
        parameters={"@a": subject.account_id, "@t": subject.tenant_id},
    )
    return [s.model_dump(mode="json", include=_SESSION_FIELDS) for s in found]


def erase_sessions(*, subject: DataSubject) -> int:
    if subject.account_id is None:
        return 0
    return session_store.end_all(account_id=subject.account_id)


def _tokens_of(subject: DataSubject) -> list[OneTimeToken]:
    """An account's tokens, or a participant's (stored under 'webcast/participant')."""
    owner = subject.account_id
    if owner is None and subject.webcast_id and subject.participant_id:
        owner = participant_owner(
            webcast_id=subject.webcast_id, participant_id=subject.participant_id
        )
    if owner is None:
        return []
    return tokens.scan(
        where="c.account_id = @a AND c.tenant_id = @t",
        parameters={"@a": owner, "@t": subject.tenant_id},
    )


def export_tokens(*, subject: DataSubject) -> list[dict[str, Any]]:
    return [
        t.model_dump(mode="json", include={"purpose", "expires_at", "used_at"})
        for t in _tokens_of(subject)
    ]


def erase_tokens(*, subject: DataSubject) -> int:
    return sum(tokens.delete(t.id) for t in _tokens_of(subject))


def _throttle_id(email: str) -> str:
    return f"account:{lookup_hash('email', email)}"


def export_throttle_of(email: str) -> list[dict[str, Any]]:
    """The sign-in throttle of an admin e-mail address (accounts resolves the address)."""
    throttle = throttles.get(_throttle_id(email))
    if throttle is None:
        return []
    return [throttle.model_dump(mode="json", include={"failures", "locked_until"})]


def erase_throttle_of(email: str) -> int:
    return int(throttles.delete(_throttle_id(email)))


def erase_mail_slot_of(*, kind: str, email: str) -> int:
    """The counter of one kind of mail to an admin e-mail address (a password reset)."""
    return int(throttles.delete(mail_slot_key(kind=kind, address=email)))


def erase_tenant_tokens(tenant_id: str) -> int:
    """Every one-time token of a tenant, its accounts' and its participants' (its deletion)."""
    found = tokens.scan(where="c.tenant_id = @t", parameters={"@t": tenant_id})
    return sum(tokens.delete(token.id) for token in found)
