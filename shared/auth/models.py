"""Sessions, throttles, one-time tokens and the principal a request acts as."""

from enum import StrEnum

from pydantic import BaseModel

from shared.audit.models import Actor, ActorKind
from shared.cosmos.repository import Document


class Role(StrEnum):
    """What an admin-side account is: the tenant's owner, a sub-account, or vendor support."""

    owner = "owner"
    subaccount = "subaccount"
    support = "support"


class Permission(StrEnum):
    """A module a sub-account may work in (the owner and support have them all)."""

    participants = "participants"
    polls = "polls"
    moderation = "moderation"
    meetings = "meetings"


class SessionStage(StrEnum):
    mfa = "mfa"  # password checked, TOTP code still due
    enroll = "enroll"  # password checked, MFA must be set up first
    full = "full"


class TimedSession(Document):
    """What every session has: stored under the SHA-256 of the cookie value (the value itself
    is never stored), a CSRF token, and the times its idle and absolute limits count from."""

    csrf_token: str
    created_at: float
    last_seen_at: float
    absolute_expires_at: float
    ttl: int


class Session(TimedSession):
    """An admin-side session."""

    doc_type = "session"

    account_id: str
    home_tenant_id: str
    role: Role
    permissions: list[Permission] = []
    stage: SessionStage
    acting_tenant_id: str | None = None
    grant_id: str | None = None


class Throttle(Document):
    """Attempts (or mails) counted for one key in the current window, and its lock."""

    doc_type = "throttle"

    failures: int = 0  # attempts or mails counted in the window (refused ones too)
    first_failure_at: float = 0
    locked_until: float = 0
    locks: int = 0  # locks started in the window; each next one lasts twice as long
    ttl: int = 24 * 60 * 60


class OneTimeToken(Document):
    doc_type = "token"

    purpose: str
    tenant_id: str
    account_id: str
    expires_at: float
    used_at: float | None = None
    ttl: int


class Principal(BaseModel):
    """The signed-in account as a request sees it; tenant_id is the tenant it acts in."""

    account_id: str
    role: Role
    home_tenant_id: str
    tenant_id: str | None
    permissions: list[Permission] = []
    read_only: bool = False
    session_id: str
    grant_id: str | None = None

    @classmethod
    def of(cls, session: Session, *, tenant_id: str | None, read_only: bool) -> "Principal":
        """The session's account acting in `tenant_id` (None: support without a grant)."""
        return cls(
            account_id=session.account_id,
            role=session.role,
            home_tenant_id=session.home_tenant_id,
            tenant_id=tenant_id,
            permissions=session.permissions,
            read_only=read_only,
            session_id=session.id,
            grant_id=session.grant_id,
        )

    @property
    def actor(self) -> Actor:
        kind = {
            Role.owner: ActorKind.owner,
            Role.subaccount: ActorKind.subaccount,
            Role.support: ActorKind.support,
        }[self.role]
        return Actor(
            kind=kind, id=self.account_id, role=self.role.value, home_tenant_id=self.home_tenant_id
        )
