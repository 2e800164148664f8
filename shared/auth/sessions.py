"""Server-side sessions: random 256-bit cookie value, only its hash stored, timeouts in code."""

import secrets
from dataclasses import dataclass
from typing import Protocol, TypeVar

from shared.auth.models import Permission, Role, Session, SessionStage, TimedSession
from shared.auth.repository import sessions
from shared.clock import now
from shared.config import get_settings
from shared.cosmos.repository import KeyedRepository
from shared.ids import new_secret_token, token_hash

T = TypeVar("T", bound=TimedSession)


class SigningIn(Protocol):
    """What a session copies from the account signing in (the accounts feature's Account)."""

    @property
    def id(self) -> str: ...
    @property
    def tenant_id(self) -> str: ...
    @property
    def role(self) -> Role: ...
    @property
    def permissions(self) -> list[Permission]: ...


@dataclass
class IssuedSession:
    token: str
    session: Session


def start(*, account: SigningIn, stage: SessionStage) -> IssuedSession:
    """A new session with a new id (called at every sign-in step, so ids never carry over)."""
    s = get_settings()
    token = new_secret_token()
    moment = now()
    lifetime = (
        s.session_absolute_seconds if stage == SessionStage.full else s.pending_session_seconds
    )
    session = Session(
        id=token_hash(token),
        account_id=account.id,
        home_tenant_id=account.tenant_id,
        role=account.role,
        permissions=account.permissions,
        stage=stage,
        csrf_token=secrets.token_urlsafe(32),
        created_at=moment,
        last_seen_at=moment,
        absolute_expires_at=moment + lifetime,
        ttl=lifetime + 60,
    )
    return IssuedSession(token=token, session=sessions.create(session))


def rotate(*, old: Session, account: SigningIn, stage: SessionStage) -> IssuedSession:
    sessions.delete(old.id)
    return start(account=account, stage=stage)


def resolve(token: str | None) -> Session | None:
    """The live session for a cookie value; expired ones are deleted on sight."""
    if not token or len(token) > 256:
        return None
    session = sessions.get(token_hash(token))
    if session is None:
        return None
    s = get_settings()
    idle_limit = (
        s.session_idle_seconds if session.stage == SessionStage.full else s.pending_session_seconds
    )
    return session if keep_alive(store=sessions, session=session, idle_limit=idle_limit) else None


def keep_alive(*, store: KeyedRepository[T], session: T, idle_limit: int) -> bool:
    """False (and the session deleted) past its idle or absolute limit; otherwise the idle
    clock restarts, written at most once per session_touch_seconds to spare the database."""
    moment = now()
    if moment >= session.absolute_expires_at or moment - session.last_seen_at >= idle_limit:
        store.delete(session.id)
        return False
    if moment - session.last_seen_at >= get_settings().session_touch_seconds:
        store.container.patch_item(
            session.id,
            partition_key=session.id,
            patch_operations=[{"op": "set", "path": "/last_seen_at", "value": moment}],
        )
        session.last_seen_at = moment
    return True


def purge_stale(*, store: KeyedRepository[T], idle_limit: int) -> int:
    """Delete the store's sessions past their idle or absolute limit; the count."""
    moment = now()
    stale = store.scan(
        where="c.absolute_expires_at <= @now OR c.last_seen_at <= @idle",
        parameters={"@now": moment, "@idle": moment - idle_limit},
    )
    return sum(store.delete(s.id) for s in stale)


def end(session_id: str) -> None:
    sessions.delete(session_id)


def _of_account(account_id: str) -> list[Session]:
    return sessions.scan(where="c.account_id = @a", parameters={"@a": account_id})


def end_all(*, account_id: str, except_session_id: str | None = None) -> int:
    """Sign the account out everywhere (disable, password change, MFA reset)."""
    ended = 0
    for session in _of_account(account_id):
        if session.id != except_session_id:
            ended += sessions.delete(session.id)
    return ended


def end_in_tenant(tenant_id: str) -> int:
    """Sign out everyone of a tenant and vendor support acting in it (its deletion)."""
    found = sessions.scan(
        where="c.home_tenant_id = @t OR c.acting_tenant_id = @t", parameters={"@t": tenant_id}
    )
    return sum(sessions.delete(session.id) for session in found)


def update_permissions(*, account_id: str, permissions: list[Permission]) -> None:
    for session in _of_account(account_id):
        sessions.container.patch_item(
            session.id,
            partition_key=session.id,
            patch_operations=[
                {"op": "set", "path": "/permissions", "value": [p.value for p in permissions]}
            ],
        )


def set_acting_tenant(*, session: Session, tenant_id: str | None, grant_id: str | None) -> None:
    sessions.container.patch_item(
        session.id,
        partition_key=session.id,
        patch_operations=[
            {"op": "set", "path": "/acting_tenant_id", "value": tenant_id},
            {"op": "set", "path": "/grant_id", "value": grant_id},
        ],
    )
