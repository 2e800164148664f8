"""The import job API: create a job with an upload URL, read jobs, start a run."""

from shared.audit import operations
from shared.audit.models import Actor, ActorKind, RequestContext
from shared.auth.models import Permission, Principal
from shared.blob_sas import UploadTicket, upload_ticket
from shared.clients import queue_client
from shared.clock import utc_iso
from shared.cosmos.repository import Page
from shared.errors import InvalidField, conflict, invalid_fields, not_found, validation_error
from shared.ids import new_id
from shared.participants.import_models import (
    FINISHED,
    RUNNING,
    ImportCounts,
    ImportCreate,
    ImportJob,
    ImportMessage,
    ImportReport,
    ImportStart,
    ImportStatus,
)
from shared.participants.imports.files import CONTAINER, MAX_BYTES, blob_client, source_blob
from shared.participants.imports.rows import mapping_errors
from shared.participants.repository import get_form, import_jobs
from shared.participants.tabular import kind_of_name, supported_extensions
from shared.webcasts.models import Webcast
from shared.webcasts.service import admin_webcast

QUEUE = "participant-imports"
UPLOAD_SECONDS = 15 * 60


def _clean_filename(filename: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable()).strip()[:255]


def _raise_all(errors: list[InvalidField]) -> None:
    if errors:
        raise invalid_fields(errors)


def create_import(
    *, principal: Principal, webcast_id: str, data: ImportCreate, context: RequestContext
) -> tuple[ImportJob, UploadTicket]:
    """A new import job and a short-lived write-only URL for its file."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=True)
    filename = _clean_filename(data.filename)
    if not filename or kind_of_name(filename) is None:
        raise validation_error(
            "filename", f"must end in one of {', '.join(supported_extensions())}"
        )
    if data.size > MAX_BYTES:
        raise validation_error("size", f"must be at most {MAX_BYTES} bytes")
    moment = utc_iso()
    job = import_jobs.create(
        tenant_id=webcast.tenant_id,
        item=ImportJob(
            id=new_id(),
            tenant_id=webcast.tenant_id,
            webcast_id=webcast.id,
            filename=filename,
            content_type=data.content_type,
            declared_size=data.size,
            created_by=principal.account_id,
            created_at=moment,
            updated_at=moment,
        ),
    )
    ticket = upload_ticket(
        container=CONTAINER,
        blob_name=source_blob(job),
        lifetime_seconds=UPLOAD_SECONDS,
        max_bytes=MAX_BYTES,
    )
    operations.record_write(
        tenant_id=webcast.tenant_id,
        actor=principal.actor,
        action="participant.import.create",
        entity_type="participant-import",
        entity_id=job.id,
        changed_fields=["filename"],
        context=context,
    )
    return job, ticket


def _job_or_404(webcast: Webcast, job_id: str) -> ImportJob:
    job = import_jobs.get(tenant_id=webcast.tenant_id, partition_key=webcast.id, item_id=job_id)
    if job is None:
        raise not_found("Import")
    return job


def get_import(*, principal: Principal, webcast_id: str, job_id: str) -> ImportJob:
    """One import job with its status, progress and report."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=False)
    return _job_or_404(webcast, job_id)


def list_imports(
    *, principal: Principal, webcast_id: str, max_items: int, continuation: str | None
) -> Page[ImportJob]:
    """The webcast's import jobs, newest first."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=False)
    return import_jobs.page(
        tenant_id=webcast.tenant_id,
        partition_key=webcast.id,
        max_items=max_items,
        continuation=continuation,
        order_by="c.created_at DESC",
    )


def start_import(
    *,
    principal: Principal,
    webcast_id: str,
    job_id: str,
    data: ImportStart,
    context: RequestContext,
) -> ImportJob:
    """Queue the job with its column mapping (again after a dry run, for the real run)."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=True)
    job = _job_or_404(webcast, job_id)
    if job.status in RUNNING:
        raise conflict("This import is running already")
    if job.status in FINISHED:
        raise conflict("This import has ended; create a new import for the file")
    if data.mapping is None and not data.dry_run:
        raise validation_error("mapping", "is required unless dry_run is true")
    if data.mapping is not None:
        form = get_form(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
        _raise_all(mapping_errors(data.mapping, form.fields, job.columns))
    if not blob_client(source_blob(job)).exists():
        raise conflict("The file has not been uploaded yet")
    job.run += 1
    job.status = ImportStatus.queued
    job.mapping = data.mapping
    job.dry_run = data.dry_run
    job.strict = data.strict
    job.started_by = Actor(
        kind=ActorKind.system,
        id=principal.account_id,
        role="import",
        home_tenant_id=principal.home_tenant_id,
    )
    job.counts = ImportCounts()
    job.report = ImportReport()
    job.failure = None
    job.progress = 0
    job.rows_validated = 0
    job.updated_at = utc_iso()
    job = import_jobs.replace(tenant_id=webcast.tenant_id, item=job)
    message = ImportMessage(
        tenant_id=job.tenant_id, webcast_id=job.webcast_id, job_id=job.id, run=job.run
    )
    queue_client(QUEUE).send_message(message.model_dump_json().encode())
    operations.record_write(
        tenant_id=webcast.tenant_id,
        actor=principal.actor,
        action="participant.import.start",
        entity_type="participant-import",
        entity_id=job.id,
        changed_fields=["dry_run", "mapping", "strict"],
        context=context,
    )
    return job
