"""Expiring one-time tokens: the raw value goes to its holder, only its hash is stored."""

from shared.auth.models import OneTimeToken
from shared.auth.repository import tokens
from shared.clock import now
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
