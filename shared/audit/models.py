"""Audit log entries: ids and field names only, never personal values."""

from enum import StrEnum

from pydantic import BaseModel

from shared.cosmos.repository import Document

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


class VerifyReport(BaseModel):
    ok: bool
    entries_checked: int
    chains_checked: int
    problems: list[str]


class AuditFilter(BaseModel):
    since: str | None = None
    until: str | None = None
    actor_id: str | None = None
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
