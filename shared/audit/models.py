"""Audit log entries: ids and field names only, never personal values."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ValidationInfo, field_validator

from shared.cosmos.repository import Document
from shared.text import InputModel

PLATFORM_TENANT = "_platform"


class ActorKind(StrEnum):
    owner = "owner"
    subaccount = "subaccount"
    support = "support"
    system = "system"
    participant = "participant"
    anonymous = "anonymous"


ADMIN_SIDE = {ActorKind.owner, ActorKind.subaccount, ActorKind.support, ActorKind.anonymous}


class Actor(BaseModel):
    """Who acts: an id and a kind, never a name or e-mail address."""

    kind: ActorKind
    id: str | None = None
    role: str | None = None
    home_tenant_id: str | None = None


SYSTEM_ACTOR = Actor(kind=ActorKind.system, id="system", role="system")


class RequestContext(BaseModel):
    request_id: str | None = None
    client_ip: str | None = None


class AuditEntry(Document):
    doc_type = "audit"

    partition: str
    tenant_id: str
    chain: str
    seq: int
    at: str
    actor_kind: ActorKind
    actor_id: str | None = None
    actor_role: str | None = None
    actor_home_tenant_id: str | None = None
    action: str
    entity_type: str
    entity_id: str | None = None
    # One entry for many entities written together (an import chunk); absent otherwise, and
    # then left out of the hash, so that entries written before the field existed verify.
    entity_ids: list[str] | None = None
    # Counts per store of a deletion (deleted and left, per sweep); hashed only when present,
    # as entity_ids is.
    store_counts: dict[str, list[int]] | None = None
    changed_fields: list[str] = []
    outcome: str = "success"
    request_id: str | None = None
    # Kept out of the hash so that a data-subject erasure can redact it without breaking
    # the chain; recorded for admin-side actors only.
    client_ip: str | None = None
    prev_hash: str
    hash: str = ""


class ChainHead(Document):
    """The last sequence number of a chain, so that a removed tail entry shows."""

    doc_type = "audit-head"

    partition: str
    tenant_id: str
    chain: str
    seq: int
    hash: str


class PendingEntry(Document):
    """An entry whose append failed after its write succeeded, kept until a later pass
    appends it with the write's time (decision 0043); never part of a chain."""

    doc_type = "audit-pending"

    partition: str
    tenant_id: str
    at: str
    actor: Actor
    action: str
    entity_type: str
    entity_id: str | None = None
    entity_ids: list[str] | None = None
    store_counts: dict[str, list[int]] | None = None
    changed_fields: list[str] = []
    outcome: str = "success"
    context: RequestContext = RequestContext()
    failure: str
    claimed_at: str | None = None


class VerifyReport(BaseModel):
    ok: bool
    entries_checked: int
    chains_checked: int
    problems: list[str]


def moment(value: str) -> str:
    """An ISO 8601 date or time in the log's own UTC form, so that it compares as text."""
    try:
        parsed = datetime.fromisoformat(value)
        aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except (ValueError, OverflowError) as error:
        reason = "must be a date or time such as 2026-01-31 or 2026-01-31T12:00Z"
        raise ValueError(reason) from error


Moment = Annotated[str, AfterValidator(moment)]


class AuditFilter(InputModel):
    since: Moment | None = None
    until: Moment | None = None

    @field_validator("until")
    @classmethod
    def _not_before_since(cls, until: str | None, info: ValidationInfo) -> str | None:
        # A reversed period would read nothing and pass as a clean verification.
        since = info.data.get("since")
        if until is not None and since is not None and until < since:
            raise ValueError("must not be before since")
        return until

    actor_id: str | None = None
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
