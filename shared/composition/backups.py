"""Manual backups of a webcast project (P32, issue 16): the owner asks, a queued job streams
a ZIP into the `exports` container (documents as JSON Lines per store, media files, and a
manifest with the SHA-256 of every member), the owner downloads it by a short-lived URL, and
a timer removes it after 24 hours (Azurite has no lifecycle rules).

It reads every store of the webcast, so it lives here."""

import hashlib
import json
import zipfile
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.cosmos import exceptions as cosmos_errors
from pydantic import BaseModel

from shared.audit import operations
from shared.audit.models import SYSTEM_ACTOR, RequestContext
from shared.auth.models import Principal
from shared.auth.permissions import require_owner
from shared.blob_files import BlockBlobWriter
from shared.blob_sas import read_url
from shared.clients import blob_container_name, blob_service, cosmos_container, queue_client
from shared.clock import now, utc_iso
from shared.cosmos.repository import Document, TenantRepository
from shared.errors import not_found
from shared.ids import new_id
from shared.webcasts.service import MANAGER, admin_webcast, find_in_tenant

QUEUE = "backups"
CONTAINER = "exports"
FORMAT = "webcast-project-backup"
VERSION = 1
KEPT_SECONDS = 24 * 60 * 60
DOWNLOAD_SECONDS = 10 * 60
# The webcast's own stores; sessions, tokens, throttles, idempotency markers, lookups and
# stream key hashes are not part of a project (restores issue keys and links anew).
DOCUMENT_STORES = (
    "webcasts",
    "participants",
    "messages",
    "polls",
    "tracking",
    "media",
    "downloads",
    "designs",
)
# Never part of a backup: secrets and what only works with them (embed signing keys, the
# hashes of customer servers' credentials, live channels with their stream keys and their
# sessions), and what only a running process needs (import jobs, markers, viewer sessions).
# A restore issues keys and credentials anew.
EXCLUDED_TYPES = frozenset(
    {
        "embed-keys",
        "server-credential",
        "live-channel",
        "live-session",
        "import-job",
        "job-marker",
        "participant-session",
    }
)
# Files a restore needs to serve the same project: renditions, captions, posters, handouts
# and page images (sources, live segments and pending uploads are not kept).
BLOB_STORES = ("media", "downloads", "page-images")
# Cosmos DB's own fields: no export or backup carries them.
SYSTEM_FIELDS = ("_rid", "_self", "_etag", "_attachments", "_ts", "_lsn")


class BackupStatus(StrEnum):
    queued = "queued"
    running = "running"
    ready = "ready"
    failed = "failed"
    expired = "expired"


class BackupJob(Document):
    doc_type = "backup"

    tenant_id: str
    webcast_id: str
    requested_by: str
    status: BackupStatus = BackupStatus.queued
    created_at: str
    updated_at: str
    blob: str
    size: int | None = None
    sha256: str | None = None
    counts: dict[str, int] = {}
    expires_at: str | None = None
    failure: str | None = None


class BackupView(BaseModel):
    id: str
    webcast_id: str
    status: BackupStatus
    created_at: str
    size: int | None
    sha256: str | None
    counts: dict[str, int]
    expires_at: str | None
    failure: str | None
    # Only while ready: a read URL of a few minutes, the ZIP as an attachment.
    download_url: str | None = None


class BackupMessage(BaseModel):
    tenant_id: str
    backup_id: str


backups = TenantRepository(container="backups", model=BackupJob)


def _view(job: BackupJob, *, with_url: bool = False) -> BackupView:
    url = None
    if with_url and job.status == BackupStatus.ready:
        moment = datetime.now(UTC)
        url = read_url(
            container=CONTAINER,
            blob_name=job.blob,
            start=moment - timedelta(minutes=1),
            expiry=moment + timedelta(seconds=DOWNLOAD_SECONDS),
            content_disposition=f'attachment; filename="backup-{job.webcast_id}.zip"',
            content_type="application/zip",
        )
    return BackupView(
        **job.model_dump(include=set(BackupView.model_fields) - {"download_url"}),
        download_url=url,
    )


def request_backup(*, principal: Principal, webcast_id: str, context: RequestContext) -> BackupView:
    """The owner asks for a backup of the whole project; the job runs queued."""
    require_owner(principal)
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    backup_id = new_id()
    moment = utc_iso()
    job = operations.create(
        backups,
        tenant_id=webcast.tenant_id,
        item=BackupJob(
            id=backup_id,
            tenant_id=webcast.tenant_id,
            webcast_id=webcast.id,
            requested_by=principal.account_id,
            created_at=moment,
            updated_at=moment,
            blob=f"{webcast.tenant_id}/{webcast.id}/backups/{backup_id}.zip",
        ),
        actor=principal.actor,
        action="webcast.backup",
        entity_type="backup",
        context=context,
    )
    message = BackupMessage(tenant_id=webcast.tenant_id, backup_id=backup_id)
    queue_client(QUEUE).send_message(message.model_dump_json().encode())
    return _view(job)


def read_backup(*, principal: Principal, webcast_id: str, backup_id: str) -> BackupView:
    """The job's state; once ready, with a download URL valid for a few minutes."""
    tenant_id = require_owner(principal)
    admin_webcast(principal, webcast_id, needs=MANAGER, write=False)  # 404 once being deleted
    job = backups.get(tenant_id=tenant_id, item_id=backup_id)
    if job is None or job.webcast_id != webcast_id:
        raise not_found("Backup")
    return _view(job, with_url=True)


def _documents(store: str, tenant_id: str, webcast_id: str) -> Iterator[dict[str, Any]]:
    # Every partition of the store (a webcast spans shard partitions); the tenant and the
    # webcast are in the text. Blocked documents stay out of every export (P24).
    found = cosmos_container(store).query_items(  # nosemgrep: cosmos-query-without-partition-key
        "SELECT * FROM c WHERE c.tenant_id = @t AND (c.webcast_id = @w OR c.id = @w) "
        "AND (NOT IS_DEFINED(c.blocked_at) OR IS_NULL(c.blocked_at))",
        parameters=[{"name": "@t", "value": tenant_id}, {"name": "@w", "value": webcast_id}],
        enable_cross_partition_query=True,
    )
    for item in found:
        if item.get("type") not in EXCLUDED_TYPES:
            yield {key: value for key, value in item.items() if key not in SYSTEM_FIELDS}


def _member(archive: zipfile.ZipFile, name: str, chunks: Iterator[bytes]) -> dict[str, Any]:
    """Write one member from its chunks; its name, size and SHA-256 for the manifest."""
    digest = hashlib.sha256()
    size = 0
    with archive.open(name, "w", force_zip64=True) as member:
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            member.write(chunk)
    return {"name": name, "size": size, "sha256": digest.hexdigest()}


def json_lines(rows: Iterator[dict[str, Any]], counted: list[int]) -> Iterator[bytes]:
    """Each row as one line of JSON, counted into `counted[0]`."""
    for row in rows:
        counted[0] += 1
        yield json.dumps(row, ensure_ascii=False, sort_keys=True).encode() + b"\n"


def _write_zip(job: BackupJob, out: BlockBlobWriter) -> dict[str, int]:
    counts: dict[str, int] = {}
    members: list[dict[str, Any]] = []
    prefix = f"{job.tenant_id}/{job.webcast_id}/"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for store in DOCUMENT_STORES:
            counted = [0]
            rows = json_lines(_documents(store, job.tenant_id, job.webcast_id), counted)
            members.append(_member(archive, f"documents/{store}.jsonl", rows))
            counts[f"cosmos:{store}"] = counted[0]
        for store in BLOB_STORES:
            container = blob_service().get_container_client(blob_container_name(store))
            files = 0
            for blob in container.list_blobs(name_starts_with=prefix):
                download = container.get_blob_client(blob.name).download_blob()
                relative = blob.name.removeprefix(prefix)
                members.append(_member(archive, f"blobs/{store}/{relative}", download.chunks()))
                files += 1
            counts[f"blob:{store}"] = files
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "tenant_id": job.tenant_id,
            "webcast_id": job.webcast_id,
            "backup_id": job.id,
            "created_at": job.created_at,
            "members": members,
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
    return counts


def run_backup(*, message: BackupMessage, final_attempt: bool = False) -> bool:
    """Build the job's ZIP; a redelivered message of a finished job does nothing. A failure
    on the last delivery leaves the job failed, with its reason, and no partial file."""
    job = backups.get(tenant_id=message.tenant_id, item_id=message.backup_id)
    if job is None or job.status not in (BackupStatus.queued, BackupStatus.running):
        return False
    if find_in_tenant(tenant_id=job.tenant_id, webcast_id=job.webcast_id) is None:
        _finish(job, BackupStatus.failed, failure="the webcast is being deleted")
        return False
    job.status = BackupStatus.running
    job.updated_at = utc_iso()
    job = backups.replace(tenant_id=job.tenant_id, item=job)
    blob = blob_service().get_blob_client(blob_container_name(CONTAINER), job.blob)
    writer = BlockBlobWriter(blob, content_type="application/zip")
    try:
        counts = _write_zip(job, writer)
        size = writer.commit()
    except (cosmos_errors.CosmosHttpResponseError, OSError, ValueError) as error:
        if final_attempt:
            _finish(job, BackupStatus.failed, failure=type(error).__name__)
            return False
        raise
    job.size, job.sha256, job.counts = size, writer.sha256.hexdigest(), counts
    expires = datetime.fromtimestamp(now() + KEPT_SECONDS, UTC)
    job.expires_at = expires.isoformat().replace("+00:00", "Z")
    _finish(job, BackupStatus.ready)
    return True


def _finish(job: BackupJob, status: BackupStatus, *, failure: str | None = None) -> None:
    job.status = status
    job.failure = failure
    job.updated_at = utc_iso()
    backups.replace(tenant_id=job.tenant_id, item=job)
    operations.record_event(
        tenant_id=job.tenant_id,
        actor=SYSTEM_ACTOR,
        action=f"webcast.backup.{status.value}",
        entity_type="backup",
        entity_id=job.id,
        store_counts={store: [count] for store, count in job.counts.items()} or None,
        outcome="success" if status == BackupStatus.ready else "failure",
    )


def expire_backups() -> int:
    """Remove the ZIPs of backups past their 24 hours; how many went."""
    moment = datetime.fromtimestamp(now(), UTC).isoformat().replace("+00:00", "Z")
    # Every tenant's: only this timer asks, for backups past their time.
    due = cosmos_container("backups").query_items(  # nosemgrep: cosmos-query-without-partition-key
        "SELECT c.id, c.tenant_id FROM c WHERE c.type = @type AND c.status = @ready "
        "AND c.expires_at <= @now",
        parameters=[
            {"name": "@type", "value": BackupJob.doc_type},
            {"name": "@ready", "value": BackupStatus.ready.value},
            {"name": "@now", "value": moment},
        ],
        enable_cross_partition_query=True,
    )
    removed = 0
    for item in list(due):
        job = backups.get(tenant_id=item["tenant_id"], item_id=item["id"])
        if job is None:
            continue
        client = blob_service().get_blob_client(blob_container_name(CONTAINER), job.blob)
        with suppress(ResourceNotFoundError):
            client.delete_blob(delete_snapshots="include")
        job.status = BackupStatus.expired
        job.updated_at = utc_iso()
        backups.replace(tenant_id=job.tenant_id, item=job)
        removed += 1
    return removed
