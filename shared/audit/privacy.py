"""Data-subject export and erasure for the audit log (ids only; client addresses redacted)."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Any

from azure.cosmos import exceptions as cosmos_errors

from shared.audit.repository import entries
from shared.cosmos.repository import is_missing
from shared.privacy.models import DataSubject


def _subject_id(subject: DataSubject) -> str | None:
    return subject.account_id or subject.participant_id


def export_actor_entries(*, subject: DataSubject) -> list[dict[str, Any]]:
    """Every entry the person caused or that names them."""
    person = _subject_id(subject)
    if person is None:
        return []
    # The log is partitioned by tenant and month; the person's entries span the months, and
    # the query names the tenant (c.tenant_id = @t).
    found = entries.container.query_items(  # nosemgrep: cosmos-query-without-partition-key
        "SELECT * FROM c WHERE c.type = 'audit' AND c.tenant_id = @t "
        "AND (c.actor_id = @a OR c.entity_id = @a OR ARRAY_CONTAINS(c.entity_ids, @a))",
        parameters=[{"name": "@t", "value": subject.tenant_id}, {"name": "@a", "value": person}],
        enable_cross_partition_query=True,
    )
    return [_as_exported(item, person) for item in found]


# What an entry tells the person: what happened to their data and when. Who else acted
# (another person's id and address), other people's ids in a bulk entry and the chain's
# hashes are not theirs to receive.
_SHOWN = ("at", "action", "entity_type", "entity_id", "outcome", "changed_fields", "actor_kind")


def _as_exported(item: dict[str, Any], person: str) -> dict[str, Any]:
    own = item.get("actor_id") == person
    record = {key: item.get(key) for key in _SHOWN}
    record["actor_id"] = person if own else None
    record["client_ip"] = item.get("client_ip") if own else None
    if item.get("entity_ids"):
        record["entity_ids"] = [person] if person in item["entity_ids"] else []
    return record


def redact_actor_addresses(*, subject: DataSubject) -> int:
    """Remove client addresses from the person's entries; the chain stays intact."""
    person = _subject_id(subject)
    if person is None:
        return 0
    # As above: every month of the tenant's log, with the tenant in the query.
    found = list(
        entries.container.query_items(  # nosemgrep: cosmos-query-without-partition-key
            "SELECT c.id, c.partition FROM c WHERE c.type = 'audit' AND c.tenant_id = @t "
            "AND c.actor_id = @a AND IS_DEFINED(c.client_ip) AND NOT IS_NULL(c.client_ip)",
            parameters=[
                {"name": "@t", "value": subject.tenant_id},
                {"name": "@a", "value": person},
            ],
            enable_cross_partition_query=True,
        )
    )
    for item in found:
        entries.container.patch_item(
            item["id"],
            partition_key=item["partition"],
            patch_operations=[{"op": "set", "path": "/client_ip", "value": None}],
        )
    return len(found)


# Deletes run side by side: one at a time, a log of a million entries takes hours.
_PURGE_WORKERS = 16


def purge_tenant_log(tenant_id: str, *, max_items: int) -> tuple[int, int]:
    """Delete up to `max_items` documents of a deleted tenant's log (entries, chain heads,
    parked entries) once its retention has ended; how many it deleted and how many remain."""
    parameters: list[dict[str, object]] = [{"name": "@t", "value": tenant_id}]
    # The log spans a partition per month; the query names the tenant (c.tenant_id = @t).
    found = entries.container.query_items(  # nosemgrep: cosmos-query-without-partition-key
        "SELECT c.id, c.partition FROM c WHERE c.tenant_id = @t",
        parameters=parameters,
        enable_cross_partition_query=True,
        max_item_count=min(max_items, 1000),
    )
    batch = list(islice(found, max_items))

    def delete(item: dict[str, str]) -> int:
        try:
            entries.container.delete_item(item["id"], partition_key=item["partition"])
        except cosmos_errors.CosmosHttpResponseError as error:
            if is_missing(error):
                return 0  # purged meanwhile by an overlapping run
            raise
        return 1

    with ThreadPoolExecutor(max_workers=_PURGE_WORKERS) as pool:
        deleted = sum(pool.map(delete, batch))
    counted = entries.container.query_items(  # nosemgrep: cosmos-query-without-partition-key
        "SELECT VALUE COUNT(1) FROM c WHERE c.tenant_id = @t",
        parameters=parameters,
        enable_cross_partition_query=True,
    )
    # COUNT answers numbers, not the documents the SDK's types name.
    left: Iterator[Any] = iter(counted)
    return deleted, sum(int(count) for count in left)
