"""Data-subject export and erasure for sessions, one-time tokens and sign-in throttles."""

from typing import Any

from shared.accounts.repository import accounts
from shared.auth import sessions as session_store
from shared.auth.maintenance import tokens
from shared.auth.throttle import throttles
from shared.ids import lookup_hash


def export_sessions(*, tenant_id: str, account_id: str) -> list[dict[str, Any]]:
    return [
        s.model_dump(
            mode="json",
            include={
                "created_at",
                "last_seen_at",
                "stage",
                "absolute_expires_at",
                "acting_tenant_id",
            },
        )
        for s in session_store.sessions.scan(
            where="c.account_id = @a AND c.home_tenant_id = @t",
            parameters={"@a": account_id, "@t": tenant_id},
        )
    ]


def erase_sessions(*, tenant_id: str, account_id: str) -> int:
    return session_store.end_all(account_id=account_id)


def _tokens_of(tenant_id: str, account_id: str) -> list[Any]:
    return tokens.scan(
        where="c.account_id = @a AND c.tenant_id = @t",
        parameters={"@a": account_id, "@t": tenant_id},
    )


def export_tokens(*, tenant_id: str, account_id: str) -> list[dict[str, Any]]:
    return [
        t.model_dump(mode="json", include={"purpose", "expires_at", "used_at"})
        for t in _tokens_of(tenant_id, account_id)
    ]


def erase_tokens(*, tenant_id: str, account_id: str) -> int:
    return sum(tokens.delete(t.id) for t in _tokens_of(tenant_id, account_id))


def _throttle_id(tenant_id: str, account_id: str) -> str | None:
    account = accounts.get(tenant_id=tenant_id, item_id=account_id, include_blocked=True)
    if account is None or not account.email:
        return None
    return f"account:{lookup_hash('email', account.email)}"


def export_throttles(*, tenant_id: str, account_id: str) -> list[dict[str, Any]]:
    key = _throttle_id(tenant_id, account_id)
    throttle = throttles.get(key) if key else None
    return (
        [throttle.model_dump(mode="json", include={"failures", "locked_until"})] if throttle else []
    )


def erase_throttles(*, tenant_id: str, account_id: str) -> int:
    key = _throttle_id(tenant_id, account_id)
    return int(throttles.delete(key)) if key else 0
