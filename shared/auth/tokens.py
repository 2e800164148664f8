"""Expiring one-time tokens: the raw value goes to its holder, only its hash is stored."""

from collections.abc import Collection

from shared.auth.models import OneTimeToken
from shared.auth.repository import tokens
from shared.clock import now
from shared.errors import DomainError
from shared.ids import new_secret_token, token_hash


def participant_owner(*, webcast_id: str, participant_id: str) -> str:
    """How a participant's tokens name their owner (data-subject requests find them so)."""
    return f"{webcast_id}/{participant_id}"


def mint(*, purpose: str, tenant_id: str, owner: str, lifetime: int) -> str:
    """A new token for the owner (an account id or a participant owner), valid lifetime s."""
    token = new_secret_token()
    tokens.create(
        OneTimeToken(
            id=token_hash(token),
            purpose=purpose,
            tenant_id=tenant_id,
            account_id=owner,
            expires_at=now() + lifetime,
            ttl=lifetime + 60,
        )
    )
    return token


def usable(
    token: str | None, *, purposes: Collection[str], owner_prefix: str = ""
) -> OneTimeToken | None:
    """The stored token for a raw value if it has one of the purposes, is unused, unexpired
    and its owner starts with owner_prefix (a participant's tokens: 'webcast/'); else None."""
    stored = tokens.get(token_hash(token)) if token else None
    if (
        stored is None
        or stored.purpose not in purposes
        or stored.used_at is not None
        or stored.expires_at <= now()
        or not stored.account_id.startswith(owner_prefix)
    ):
        return None
    return stored


def spend(stored: OneTimeToken) -> bool:
    """Mark a usable token used; False when a concurrent use spent it first (its ETag moved)."""
    stored.used_at = now()
    try:
        tokens.replace(stored)
    except DomainError:
        return False
    return True


def remember_spent(*, key: str, tenant_id: str, owner: str, purpose: str, until: float) -> bool:
    """Keep a spent token's hash until `until` so it works once; False if it was spent already."""
    try:
        tokens.create(
            OneTimeToken(
                id=token_hash(key),
                purpose=purpose,
                tenant_id=tenant_id,
                account_id=owner,
                expires_at=until,
                used_at=now(),
                ttl=max(60, int(until - now()) + 60),
            )
        )
    except DomainError:
        return False
    return True
