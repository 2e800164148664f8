"""The periodic export of the documents into the separate backup account (P32: backups are
kept apart from the data they copy). A scheduled job writes every Cosmos DB container of the
catalogue as JSON Lines, with a manifest of counts and SHA-256 sums, under a prefix of its
time; the backup account's lifecycle rule deletes exports after the deletion window, so a
deleted project leaves no copy behind for longer than P22 allows. Continuous backup (point in
time restore within 7 days) stays Cosmos DB's own; this copy survives the loss of the account.

Short-lived containers (sessions, one-time tokens, throttles, at most a day) are left out: a
restore needs none of them, and their documents are credentials in all but name."""

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from shared.audit import operations
from shared.audit.models import PLATFORM_TENANT, SYSTEM_ACTOR
from shared.blob_files import BlockBlobWriter
from shared.clients import blob_service, cosmos_container
from shared.composition.backups import SYSTEM_FIELDS, json_lines
from shared.config import get_settings
from shared.stores import COSMOS_CONTAINERS

CONTAINER = "store-exports"
FORMAT = "webcast-store-export"
_SHORT_LIVED_SECONDS = 24 * 60 * 60
EXPORTED = tuple(
    spec.name
    for spec in COSMOS_CONTAINERS
    if spec.default_ttl is None or spec.default_ttl > _SHORT_LIVED_SECONDS
)


def _rows(name: str) -> Iterator[dict[str, Any]]:
    # The whole container, every partition: only this job reads everything.
    found = cosmos_container(name).query_items(  # nosemgrep: cosmos-query-without-partition-key
        "SELECT * FROM c", enable_cross_partition_query=True
    )
    for item in found:
        yield {key: value for key, value in item.items() if key not in SYSTEM_FIELDS}


def export_stores(*, target: Any, moment: datetime) -> dict[str, Any]:
    """Write every exported container into `target` (a blob container client of the backup
    account) under `{moment}/`; the manifest, written last, lists what is there."""
    prefix = moment.strftime("%Y-%m-%dT%H%M%SZ")
    members: list[dict[str, Any]] = []
    counts: dict[str, list[int]] = {}
    for name in EXPORTED:
        counted = [0]
        writer = BlockBlobWriter(
            target.get_blob_client(f"{prefix}/{name}.jsonl"), content_type="application/x-ndjson"
        )
        for line in json_lines(_rows(name), counted):
            writer.write(line)
        size = writer.commit()
        counts[name] = [counted[0]]
        members.append(
            {
                "container": name,
                "documents": counted[0],
                "size": size,
                "sha256": writer.sha256.hexdigest(),
            }
        )
    manifest = {"format": FORMAT, "exported_at": prefix, "members": members}
    target.get_blob_client(f"{prefix}/manifest.json").upload_blob(
        json.dumps(manifest, indent=1).encode(), overwrite=True
    )
    operations.record_event(
        tenant_id=PLATFORM_TENANT,
        actor=SYSTEM_ACTOR,
        action="platform.store_export",
        entity_type="store-export",
        entity_id=prefix,
        store_counts=counts,
    )
    return manifest


def backup_target() -> Any:
    """The export container of the backup account: in Azure the account of
    `backup_account_url` with the job's identity; locally the emulator's account."""
    settings = get_settings()
    if settings.backup_account_url:
        from azure.identity import DefaultAzureCredential
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient(
            settings.backup_account_url, credential=DefaultAzureCredential()
        )
        return service.get_container_client(CONTAINER)
    container = blob_service().get_container_client(f"{settings.storage_prefix}{CONTAINER}")
    if not container.exists():
        container.create_container()
    return container
