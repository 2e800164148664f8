"""The import worker: one run of a job from its queue message, uploaded files, expiry."""

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from azure.core.exceptions import AzureError
from azure.cosmos import exceptions as cosmos_errors

from shared.audit import operations
from shared.audit.models import Actor, ActorKind, RequestContext
from shared.clients import blob_container_name, blob_service, queue_client
from shared.clock import now, utc_iso
from shared.errors import DomainError
from shared.events.models import EventGridEvent
from shared.malware import ScanPendingError
from shared.participants import erasure_ledger
from shared.participants.import_models import (
    FINISHED,
    RUNNING,
    ImportCounts,
    ImportFailure,
    ImportJob,
    ImportMessage,
    ImportReport,
    ImportStatus,
    RowError,
)
from shared.participants.imports.files import (
    CONTAINER,
    blob_client,
    delete_source,
    downloaded,
    job_of_blob,
)
from shared.participants.imports.jobs import QUEUE
from shared.participants.imports.rows import (
    MAX_REPORTED_ERRORS,
    Plan,
    Validation,
    auto_mapping,
    mapping_errors,
    validate_rows,
)
from shared.participants.models import ParticipantInput, RegistrationForm
from shared.participants.repository import get_form, import_jobs
from shared.participants.service import Saved, import_participants
from shared.participants.tabular import BadFileError, Source, Table, detect, open_table
from shared.webcasts.models import Webcast
from shared.webcasts.service import find_in_tenant, is_gone

log = logging.getLogger("webcast.participants.imports")

# A file not imported within this time (abandoned, or kept after a dry run) is deleted.
SOURCE_MAX_AGE_SECONDS = 24 * 60 * 60
# Cosmos round trips dominate the write pass; they run in parallel, a chunk at a time, and
# the job records the last row of each finished chunk.
WRITE_WORKERS = 12
WRITE_CHUNK = 480
_TRANSIENT_STATUS = {408, 429, 449, 500, 503}
ERASED_ROW = "skipped: this person's data was erased at their request"
_WRITE_ATTEMPTS = 4


class LostJobError(Exception):
    """The job document changed under this worker (another run took it over)."""


class WebcastGoneError(Exception):
    """The job's webcast is gone (being deleted): the run stops and writes nothing more."""


def _transient(error: Exception) -> bool:
    if isinstance(error, cosmos_errors.CosmosHttpResponseError):
        return error.status_code in _TRANSIENT_STATUS
    return isinstance(error, AzureError)


class JobRun:
    """One run of one job, from download to the end; `save` fails when the job moved on."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.webcast: Webcast | None = None
        self.form: RegistrationForm | None = None

    def save(self) -> None:
        self.job.updated_at = utc_iso()
        try:
            stored = import_jobs.replace(tenant_id=self.job.tenant_id, item=self.job)
        except DomainError as error:
            if error.status == 412:
                raise LostJobError from error
            raise
        self.job.etag = stored.etag  # the same object goes on: callers may hold it

    def fail(self, code: str, reason: str) -> None:
        self.job.status = ImportStatus.failed
        self.job.failure = ImportFailure(code=code, reason=reason)
        self._end(outcome="failure")

    def _end(self, *, outcome: str) -> None:
        self.job.finished_at = utc_iso()
        self.save()
        delete_source(self.job)
        self.job.source_deleted = True
        self.save()
        self._audit_end(outcome)

    def _audit_end(self, outcome: str) -> None:
        operations.record_write(
            tenant_id=self.job.tenant_id,
            actor=self.job.started_by or Actor(kind=ActorKind.system, id="system", role="import"),
            action="participant.import.finish",
            entity_type="participant-import",
            entity_id=self.job.id,
            changed_fields=["counts", "report", "status"],
            outcome=outcome,
        )

    def execute(self) -> None:
        job = self.job
        webcast = find_in_tenant(tenant_id=job.tenant_id, webcast_id=job.webcast_id)
        if webcast is None:
            raise WebcastGoneError(job.webcast_id)
        self.webcast = webcast
        self.form = get_form(tenant_id=job.tenant_id, webcast_id=job.webcast_id)
        fields = self.form.fields
        try:
            with downloaded(job) as path:
                source = detect(path, filename=job.filename)
                table = open_table(path, source)
                self.describe(source, table, path)
                if job.mapping is None:
                    job.mapping = auto_mapping(table.columns, fields)
                problems = mapping_errors(job.mapping, fields, table.columns)
                if problems:
                    first = problems[0]
                    self.fail("mapping", f"{first.field}: {first.reason}")
                    return
                plan = Plan(job.mapping, table.columns, fields)
                if job.status == ImportStatus.queued:
                    job.status = ImportStatus.validating
                    self.save()
                validation = validate_rows(table, plan, on_progress=self._validated)
                self._report(validation)
                if job.dry_run:
                    job.status = ImportStatus.validated
                    self.save()
                    self._audit_end("success")
                    return
                if job.strict and validation.counts.invalid:
                    self.fail(
                        "invalid-rows",
                        f"{validation.counts.invalid} rows are invalid; strict mode wrote nothing",
                    )
                    return
                self.job.status = ImportStatus.importing
                self.save()
                self._write(open_table(path, source), plan, validation.skip)
        except BadFileError as bad:
            self.fail(bad.code, bad.reason)
            return
        if is_gone(tenant_id=job.tenant_id, webcast_id=job.webcast_id):
            raise WebcastGoneError(job.webcast_id)
        self.job.status = ImportStatus.done
        self._end(outcome="success")

    def describe(self, source: Source, table: Table, path: Path) -> None:
        job = self.job
        job.file_format = source.kind
        job.encoding = source.encoding
        job.delimiter = source.delimiter
        job.size = path.stat().st_size
        job.columns = table.columns
        job.header_row = table.header_row

    def _validated(self, rows: int) -> None:
        self.job.rows_validated = rows
        self.save()

    def _report(self, validation: Validation) -> None:
        job = self.job
        earlier_writes = [
            e for e in job.report.errors if e.phase == "write" and e.row <= job.progress
        ]
        job.counts = validation.counts.model_copy(
            update={
                "created": job.counts.created,
                "updated": job.counts.updated,
                "failed": job.counts.failed,
            }
        )
        job.rows_validated = validation.counts.rows
        errors = validation.errors + earlier_writes
        job.report = ImportReport(
            errors=sorted(errors, key=lambda e: e.row)[:MAX_REPORTED_ERRORS],
            errors_truncated=validation.truncated or len(errors) > MAX_REPORTED_ERRORS,
            blank_rows=validation.blank_rows,
        )

    def _write(self, table: Table, plan: Plan, skip: bytearray) -> None:
        chunk: list[tuple[int, ParticipantInput]] = []
        with ThreadPoolExecutor(WRITE_WORKERS, thread_name_prefix="import") as pool:
            for ordinal, (row, cells) in enumerate(table.rows):
                if row <= self.job.progress or ordinal >= len(skip) or skip[ordinal]:
                    continue
                parsed = plan.parse(row, cells)
                if parsed.data is None:
                    continue  # the same file and rules as the validation pass: cannot happen
                chunk.append((row, parsed.data))
                if len(chunk) >= WRITE_CHUNK:
                    self._write_chunk(pool, chunk, plan)
                    chunk = []
            if chunk:
                self._write_chunk(pool, chunk, plan)

    def _write_chunk(
        self, pool: ThreadPoolExecutor, chunk: list[tuple[int, ParticipantInput]], plan: Plan
    ) -> None:
        # Before each chunk: a webcast deleted meanwhile gets no more people.
        if is_gone(tenant_id=self.job.tenant_id, webcast_id=self.job.webcast_id):
            raise WebcastGoneError(self.job.webcast_id)
        # Read again for every chunk: a person erased while the import runs is skipped too.
        erased = erasure_ledger.erased_in(
            tenant_id=self.job.tenant_id, webcast_id=self.job.webcast_id
        )
        counts = self.job.counts
        new_errors: list[RowError] = []
        kept: list[tuple[int, ParticipantInput]] = []
        for row, data in chunk:
            if erasure_ledger.names_erased(data, webcast_id=self.job.webcast_id, erased=erased):
                counts.erased += 1
                new_errors.append(RowError(row=row, reason=ERASED_ROW, phase="write"))
            else:
                kept.append((row, data))
        outcomes = self._import_chunk(pool, [data for _, data in kept]) if kept else []
        for (row, _), outcome in zip(kept, outcomes, strict=True):
            if isinstance(outcome, Saved):
                counts.created += outcome.created
                counts.updated += not outcome.created
                continue
            counts.failed += 1
            first = outcome.errors[0] if outcome.errors else None
            target = (first.field if first else "").removeprefix("answers.")
            reason = first.reason if first else outcome.detail
            new_errors.append(
                RowError(row=row, column=plan.column(target), reason=reason, phase="write")
            )
        report = self.job.report
        room = MAX_REPORTED_ERRORS - len(report.errors)
        report.errors.extend(new_errors[: max(room, 0)])
        report.errors_truncated = report.errors_truncated or len(new_errors) > room
        self.job.progress = chunk[-1][0]
        self.save()

    def _import_chunk(
        self, pool: ThreadPoolExecutor, rows: list[ParticipantInput]
    ) -> list[Saved | DomainError]:
        """Write a chunk, again as a whole after a transient failure: it is an upsert, so
        people written by the failed attempt are updated, not duplicated."""
        assert self.webcast is not None and self.form is not None
        assert self.job.started_by is not None
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                return import_participants(
                    webcast=self.webcast,
                    rows=rows,
                    actor=self.job.started_by,
                    form=self.form,
                    pool=pool,
                    context=RequestContext(request_id=f"import-{self.job.id}"),
                )
            except Exception as error:
                if not _transient(error) or attempt == _WRITE_ATTEMPTS - 1:
                    raise
                time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")


def handle_message(*, message: ImportMessage, final_attempt: bool = False) -> bool:
    """Run or resume the job a queue message names; False when there is nothing to do."""
    job = import_jobs.get(
        tenant_id=message.tenant_id, partition_key=message.webcast_id, item_id=message.job_id
    )
    if job is None or job.run != message.run or job.status not in RUNNING:
        return False
    run = JobRun(job)
    try:
        run.execute()
    except ScanPendingError as pending:
        # The same message comes back once the scan result may be there (not a failed try).
        queue_client(QUEUE).send_message(
            message.model_dump_json().encode(), visibility_timeout=pending.retry_after
        )
        return False
    except LostJobError:
        log.warning("import %s changed under this run; another run goes on with it", job.id)
        return False
    except WebcastGoneError:
        # The deletion's sweeps take the job and the people; the file goes now.
        log.info("import %s stopped: its webcast is being deleted", job.id)
        delete_source(job)
        return False
    except Exception:
        if not final_attempt:
            raise
        if is_gone(tenant_id=job.tenant_id, webcast_id=job.webcast_id):
            delete_source(job)
            return False
        log.exception("import %s failed on its last attempt", job.id)
        latest = import_jobs.get(
            tenant_id=job.tenant_id, partition_key=job.webcast_id, item_id=job.id
        )
        if latest is not None and latest.status not in FINISHED:
            JobRun(latest).fail(
                "internal-error",
                "the import failed repeatedly; rows written so far stay, the rest was not written",
            )
    return True


def on_source_created(event: EventGridEvent) -> None:
    """An uploaded file: detect its kind and columns so that the admin can map them."""
    job, ours = job_of_blob(event.blob_name)
    if not ours:
        return
    if job is None or job.status in FINISHED:
        blob_client(event.blob_name).delete_blob(delete_snapshots="include")
        return
    if job.status not in (ImportStatus.created, ImportStatus.uploaded, ImportStatus.validated):
        return
    run = JobRun(job)
    try:
        try:
            with downloaded(job) as path:
                source = detect(path, filename=job.filename)
                run.describe(source, open_table(path, source), path)
        except BadFileError as bad:
            run.fail(bad.code, bad.reason)
            return
        job = run.job
        if job.status == ImportStatus.validated:
            job.counts, job.report, job.rows_validated = ImportCounts(), ImportReport(), 0
        job.status = ImportStatus.uploaded
        run.save()
    except LostJobError:
        return  # started (or changed) meanwhile: the run reads the file itself


def _age_seconds(iso: str) -> float:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    return now() - moment.timestamp()


def expire_sources(*, max_age_seconds: int = SOURCE_MAX_AGE_SECONDS) -> int:
    """Delete files of ended jobs and of jobs not started in time; returns how many."""
    container = blob_service().get_container_client(blob_container_name(CONTAINER))
    removed = 0
    for blob in container.list_blobs():
        job, _ours = job_of_blob(blob.name)
        if job is not None and job.status in RUNNING:
            continue
        if job is not None and job.status not in FINISHED:
            if _age_seconds(job.updated_at) < max_age_seconds:
                continue
            JobRun(job).fail("expired", "the file was not imported in time and has been deleted")
        else:
            container.delete_blob(blob.name)
            if job is not None and not job.source_deleted:
                job.source_deleted = True
                JobRun(job).save()
        removed += 1
    return removed
