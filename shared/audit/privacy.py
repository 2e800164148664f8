"""Data-subject export and erasure for the audit log (ids only; client addresses redacted)."""

from typing import Any

from shared.audit.repository import entries
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
    return [{k: v for k, v in item.items() if not k.startswith("_")} for item in found]


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
