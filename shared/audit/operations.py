"""The one write path of the features: a write and its audit entry in one call (decision 0043).

Cosmos cannot write a document and an audit entry atomically, so the order is fixed: the
document first, then the entry. An append that still fails after a few attempts parks the
entry as a pending document in the audit container, which `replay_pending` appends later
with the write's own time; if even that fails the error propagates and the whole entry is
logged, so an entry is never silently lost (a replay may append one twice, never zero times).

Ordinary writes go through `create`, `upsert`, `replace` and `delete`; a write the caller
makes some other way (several documents, another feature's service) is logged with
`record_write`; a write of many entities with `record_bulk`; what writes no document of its
own (sign-ins, exports, reads) with `record_event`.
"""

import logging
import time
from typing import TypeVar

from azure.core.exceptions import AzureError
from pydantic import BaseModel

from shared.audit import service as audit
from shared.audit.models import Actor, PendingEntry, RequestContext
from shared.audit.repository import pending
from shared.clock import now, utc_iso
from shared.cosmos.repository import Document, TenantRepository
from shared.errors import DomainError
from shared.ids import new_id

T = TypeVar("T", bound=Document)

APPEND_ATTEMPTS = 3
_RETRY_PAUSE_SECONDS = 0.05
# A pass that claimed an entry and died leaves the claim; another pass may take it after this.
CLAIM_SECONDS = 10 * 60

log = logging.getLogger("webcast.audit.operations")


def pending_partition(tenant_id: str) -> str:
    """Pending entries sit in one partition per tenant, apart from the monthly log partitions."""
    return f"{tenant_id}:pending"


def changed_fields(update: BaseModel, stored: BaseModel) -> list[str]:
    """The fields an update sets to a value other than the stored one (unset and null ignored)."""
    return sorted(
        name
        for name in update.model_fields_set
        if getattr(update, name) is not None and getattr(stored, name) != getattr(update, name)
    )


def _append(entry: PendingEntry) -> None:
    """Append the entry, retrying; park it as pending when every attempt failed."""
    failure: Exception | None = None
    for attempt in range(APPEND_ATTEMPTS):
        if attempt:
            time.sleep(_RETRY_PAUSE_SECONDS * 2**attempt)
        try:
            _append_now(entry)
            return
        except (AzureError, RuntimeError) as error:
            failure = error
    assert failure is not None
    entry.failure = type(failure).__name__
    try:
        pending.create(tenant_id=entry.tenant_id, item=entry)
    except (AzureError, DomainError) as parking_error:
        # Neither the log nor the outbox took it: this line keeps it (ids and field names, as
        # in the entry; not the client address) and the caller's request fails.
        log.error(
            "audit entry neither appended nor parked: %s",
            entry.model_dump_json(exclude={"context": {"client_ip"}}),
        )
        raise parking_error from failure
    log.warning("audit append failed (%s); entry %s parked for replay", entry.failure, entry.id)


def _append_now(entry: PendingEntry) -> None:
    audit.record(
        tenant_id=entry.tenant_id,
        actor=entry.actor,
        action=entry.action,
        entity_type=entry.entity_type,
        entity_id=entry.entity_id,
        entity_ids=entry.entity_ids,
        store_counts=entry.store_counts,
        changed_fields=entry.changed_fields,
        outcome=entry.outcome,
        context=entry.context,
        at=entry.at,
    )


def _entry(
    *,
    tenant_id: str,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: str | None = None,
    entity_ids: list[str] | None = None,
    store_counts: dict[str, list[int]] | None = None,
    changed_fields: list[str] | None = None,
    outcome: str = "success",
    context: RequestContext | None = None,
) -> PendingEntry:
    return PendingEntry(
        id=new_id(),
        partition=pending_partition(tenant_id),
        tenant_id=tenant_id,
        at=utc_iso(),
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        entity_ids=entity_ids,
        store_counts=store_counts,
        changed_fields=changed_fields or [],
        outcome=outcome,
        context=context or RequestContext(),
        failure="",
    )


def create(
    repository: TenantRepository[T],
    *,
    tenant_id: str,
    item: T,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: str | None = None,
    changed_fields: list[str] | None = None,
    context: RequestContext | None = None,
) -> T:
    """Create the document, then log the entry (for `entity_id`, else for the document)."""
    stored = repository.create(tenant_id=tenant_id, item=item)
    record_write(
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id or stored.id,
        changed_fields=changed_fields,
        context=context,
    )
    return stored


def upsert(
    repository: TenantRepository[T],
    *,
    tenant_id: str,
    item: T,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: str | None = None,
    changed_fields: list[str] | None = None,
    context: RequestContext | None = None,
) -> T:
    """Create or overwrite the document, then log the entry (for `entity_id`, else for it)."""
    stored = repository.upsert(tenant_id=tenant_id, item=item)
    record_write(
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id or stored.id,
        changed_fields=changed_fields,
        context=context,
    )
    return stored


def replace(
    repository: TenantRepository[T],
    *,
    tenant_id: str,
    item: T,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: str | None = None,
    changed_fields: list[str] | None = None,
    context: RequestContext | None = None,
) -> T:
    """Replace the document (etag-guarded when it carries one), then log the entry."""
    stored = repository.replace(tenant_id=tenant_id, item=item)
    record_write(
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id or stored.id,
        changed_fields=changed_fields,
        context=context,
    )
    return stored


def delete(
    repository: TenantRepository[T],
    *,
    tenant_id: str,
    item_id: str,
    partition_key: str | None = None,
    actor: Actor,
    action: str,
    entity_type: str,
    context: RequestContext | None = None,
) -> bool:
    """Delete the document, then log the entry (also when it was gone already)."""
    deleted = repository.delete(tenant_id=tenant_id, item_id=item_id, partition_key=partition_key)
    record_write(
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=item_id,
        context=context,
    )
    return deleted


def record_write(
    *,
    tenant_id: str,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: str,
    changed_fields: list[str] | None = None,
    outcome: str = "success",
    context: RequestContext | None = None,
) -> None:
    """Log a write of one entity the caller made itself (several documents, another service)."""
    _append(
        _entry(
            tenant_id=tenant_id,
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            changed_fields=changed_fields,
            outcome=outcome,
            context=context,
        )
    )


def record_bulk(
    *,
    tenant_id: str,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_ids: list[str],
    changed_fields: list[str] | None = None,
    entity_id: str | None = None,
    context: RequestContext | None = None,
) -> None:
    """Log one entry for a write of many entities (`entity_id` names a source, if any)."""
    _append(
        _entry(
            tenant_id=tenant_id,
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            entity_ids=entity_ids,
            changed_fields=changed_fields,
            context=context,
        )
    )


def record_event(
    *,
    tenant_id: str,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: str | None,
    store_counts: dict[str, list[int]] | None = None,
    changed_fields: list[str] | None = None,
    outcome: str = "success",
    context: RequestContext | None = None,
    entity_ids: list[str] | None = None,
) -> None:
    """Log what writes no document of its own: a sign-in, an export, a read, a mail sent."""
    _append(
        _entry(
            tenant_id=tenant_id,
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            entity_ids=entity_ids,
            store_counts=store_counts,
            changed_fields=changed_fields,
            outcome=outcome,
            context=context,
        )
    )


def replay_pending(*, max_items: int = 1000) -> int:
    """Append the parked entries with their writes' times; the number appended.

    A pass claims each entry (etag-guarded) before appending, so two passes do not both
    append it; a claim older than CLAIM_SECONDS is taken over."""
    # Maintenance across every tenant's pending partition, as the session purge does.
    found = pending.container.query_items(  # nosemgrep: cosmos-query-without-partition-key
        "SELECT * FROM c WHERE c.type = @type",
        parameters=[{"name": "@type", "value": PendingEntry.doc_type}],
        enable_cross_partition_query=True,
        max_item_count=max_items,
    )
    stale = utc_iso(now() - CLAIM_SECONDS)
    appended = 0
    for raw in found:
        entry = PendingEntry.model_validate(raw)
        if entry.claimed_at is not None and entry.claimed_at > stale:
            continue
        entry.claimed_at = utc_iso()
        try:
            entry = pending.replace(tenant_id=entry.tenant_id, item=entry)
        except DomainError:
            continue  # another pass claimed it first
        _append_now(entry)
        pending.delete(tenant_id=entry.tenant_id, item_id=entry.id, partition_key=entry.partition)
        appended += 1
        if appended >= max_items:
            break
    return appended
