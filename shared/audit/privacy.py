"""Data-subject export and erasure for the audit log."""

from typing import Any

from shared.audit.service import entries


def export_actor_entries(*, tenant_id: str, account_id: str) -> list[dict[str, Any]]:
    """Every entry the person caused or that names them."""
    found = entries.container.query_items(
        "SELECT * FROM c WHERE c.type = 'audit' AND c.tenant_id = @t "
        "AND (c.actor_id = @a OR c.entity_id = @a)",
        parameters=[{"name": "@t", "value": tenant_id}, {"name": "@a", "value": account_id}],
        enable_cross_partition_query=True,
    )
    return [{k: v for k, v in item.items() if not k.startswith("_")} for item in found]


def redact_actor_addresses(*, tenant_id: str, account_id: str) -> int:
    """Remove client addresses from the person's entries; the chain stays intact."""
    found = list(
        entries.container.query_items(
            "SELECT c.id, c.partition FROM c WHERE c.type = 'audit' AND c.tenant_id = @t "
            "AND c.actor_id = @a AND IS_DEFINED(c.client_ip) AND NOT IS_NULL(c.client_ip)",
            parameters=[{"name": "@t", "value": tenant_id}, {"name": "@a", "value": account_id}],
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
