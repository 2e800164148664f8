"""Participant import (P09) as a job: upload URL, start, validate the whole file, then write.

The admin creates a job and gets a write-only URL for `imports/{tenant}/{webcast}/{job}/source`;
`start` queues the job. The worker downloads the file to a temporary file and reads it twice,
row by row: first it validates every row (form rules, e-mail addresses, duplicates inside
the file), then, unless the run is a dry run or a strict run found errors, it upserts the
valid rows by e-mail address or user name, in parallel, recording after each chunk the last
row written so that a redelivered message goes on from there. The file is deleted when the
job ends; reports name rows, columns and reasons, never values.
"""

import array
import hashlib
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.cosmos import exceptions as cosmos_errors
from pydantic import ValidationError

from shared.audit import service as audit
from shared.audit.models import Actor, ActorKind, RequestContext
from shared.auth.models import Principal
from shared.auth.passwords import check_policy
from shared.blob_sas import UploadTicket, upload_ticket
from shared.clients import blob_container_name, blob_service, queue_client
from shared.clock import now, utc_iso
from shared.cosmos.repository import Page, TenantRepository
from shared.emails import EmailNotValidError, checked_email
from shared.errors import (
    DomainError,
    InvalidField,
    conflict,
    invalid_fields,
    not_found,
    validation_error,
)
from shared.events.models import EventGridEvent
from shared.ids import new_id
from shared.malware import REFUSALS, ScanPendingError, Verdict, require_clean
from shared.participants.forms import check_answers
from shared.participants.import_models import (
    EMAIL,
    FINISHED,
    IGNORE,
    PASSWORD,
    RESERVED_TARGETS,
    RUNNING,
    USERNAME,
    ImportCounts,
    ImportCreate,
    ImportFailure,
    ImportJob,
    ImportMessage,
    ImportReport,
    ImportStart,
    ImportStatus,
    RowError,
)
from shared.participants.models import FieldType, FormField, ParticipantInput, RegistrationForm
from shared.participants.repository import get_form
from shared.participants.service import (
    PARTICIPANT_PASSWORD_MIN,
    Saved,
    import_participants,
    webcast_for,
)
from shared.participants.tabular import (
    BadFileError,
    Source,
    Table,
    detect,
    kind_of_name,
    open_table,
    supported_extensions,
)
from shared.privacy.models import DataSubject
from shared.text import text_problem
from shared.upload_size import size_refusal
from shared.webcasts.models import Webcast
from shared.webcasts.repository import webcasts

log = logging.getLogger("webcast.participants.imports")

QUEUE = "participant-imports"
CONTAINER = "imports"
MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
MAX_REPORTED_ERRORS = 1000
UPLOAD_SECONDS = 15 * 60
# A file not imported within this time (abandoned, or kept after a dry run) is deleted.
SOURCE_MAX_AGE_SECONDS = 24 * 60 * 60
# Cosmos round trips dominate the write pass; they run in parallel, a chunk at a time, and
# the job records the last row of each finished chunk.
WRITE_WORKERS = 12
WRITE_CHUNK = 480
CHECKPOINT_ROWS = 10_000
_DOWNLOAD_RANGE = 1024 * 1024
_TRANSIENT_STATUS = {408, 429, 449, 500, 503}
_WRITE_ATTEMPTS = 4
# A job refused by the malware gate (P38) fails with these codes.
_GATE_CODES = {
    Verdict.malicious: "malware",
    Verdict.unscanned: "unscanned",
    Verdict.missing: "missing",
}

jobs = TenantRepository(container="participants", model=ImportJob, partition_field="webcast_id")

_TRUE = {"true", "yes", "ja", "y", "j", "1", "x", "wahr", "✓"}
_FALSE = {"false", "no", "nein", "n", "0", "falsch", "-"}
_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_SPLIT = re.compile(r"\s*[;|\n,]\s*")
_ALIASES = {
    EMAIL: {"email", "emailadresse", "emailaddress", "mail", "mailadresse"},
    USERNAME: {"username", "benutzername", "benutzer", "login", "user"},
    PASSWORD: {"password", "passwort", "kennwort"},
}


def source_blob(job: ImportJob) -> str:
    return f"{job.tenant_id}/{job.webcast_id}/{job.id}/source"


def _blob(name: str) -> Any:
    return blob_service().get_blob_client(blob_container_name(CONTAINER), name)


def _clean_filename(filename: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable()).strip()[:255]


def _importable(fields: list[FormField]) -> dict[str, FormField]:
    return {
        f.id: f
        for f in fields
        if not f.removed and f.type not in (FieldType.display_text, FieldType.consent)
    }


def _mapping_errors(
    mapping: dict[str, str], fields: list[FormField], columns: list[str] | None
) -> list[InvalidField]:
    importable = _importable(fields)
    consent_ids = {f.id for f in fields if f.type == FieldType.consent}
    errors: list[InvalidField] = []
    used: set[str] = set()
    for header, target in mapping.items():
        where = f"mapping.{header}"
        if columns is not None and header not in columns:
            errors.append(InvalidField(where, "is not a column of the file"))
            continue
        if target == IGNORE:
            continue
        if target in consent_ids:
            errors.append(InvalidField(where, "consents can only be given by participants"))
        elif target not in RESERVED_TARGETS and target not in importable:
            errors.append(InvalidField(where, "is not a field of this form"))
        elif target in used:
            errors.append(InvalidField(where, "names a target that another column has already"))
        used.add(target)
    if not used & {EMAIL, USERNAME}:
        errors.append(InvalidField("mapping", "must map a column to email or username"))
    return errors


def _raise_all(errors: list[InvalidField]) -> None:
    if errors:
        raise invalid_fields(errors)


def _normal(name: str) -> str:
    return re.sub(r"[\s_\-.:]+", "", name.lower())


def auto_mapping(columns: list[str], fields: list[FormField]) -> dict[str, str]:
    """Columns matched to targets by name (field id or label, or a usual name for e-mail)."""
    names: dict[str, str] = {}
    for target, aliases in _ALIASES.items():
        names.update(dict.fromkeys(aliases, target))
    for form_field in _importable(fields).values():
        names.setdefault(_normal(form_field.id), form_field.id)
        names.setdefault(_normal(form_field.label), form_field.id)
    mapping: dict[str, str] = {}
    for column in columns:
        found = names.get(_normal(column))
        if found and found not in mapping.values():
            mapping[column] = found
    return mapping


# -------------------------------------------------------------------------------------------
# API side
# -------------------------------------------------------------------------------------------


def create_import(
    *, principal: Principal, webcast_id: str, data: ImportCreate, context: RequestContext
) -> tuple[ImportJob, UploadTicket]:
    """A new import job and a short-lived write-only URL for its file."""
    webcast = webcast_for(principal, webcast_id, write=True)
    filename = _clean_filename(data.filename)
    if not filename or kind_of_name(filename) is None:
        raise validation_error(
            "filename", f"must end in one of {', '.join(supported_extensions())}"
        )
    if data.size > MAX_BYTES:
        raise validation_error("size", f"must be at most {MAX_BYTES} bytes")
    moment = utc_iso()
    job = jobs.create(
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
    audit.record(
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
    job = jobs.get(tenant_id=webcast.tenant_id, partition_key=webcast.id, item_id=job_id)
    if job is None:
        raise not_found("Import")
    return job


def get_import(*, principal: Principal, webcast_id: str, job_id: str) -> ImportJob:
    """One import job with its status, progress and report."""
    webcast = webcast_for(principal, webcast_id, write=False)
    return _job_or_404(webcast, job_id)


def list_imports(
    *, principal: Principal, webcast_id: str, max_items: int, continuation: str | None
) -> Page[ImportJob]:
    """The webcast's import jobs, newest first."""
    webcast = webcast_for(principal, webcast_id, write=False)
    return jobs.page(
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
    webcast = webcast_for(principal, webcast_id, write=True)
    job = _job_or_404(webcast, job_id)
    if job.status in RUNNING:
        raise conflict("This import is running already")
    if job.status in FINISHED:
        raise conflict("This import has ended; create a new import for the file")
    if data.mapping is None and not data.dry_run:
        raise validation_error("mapping", "is required unless dry_run is true")
    if data.mapping is not None:
        form = get_form(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
        _raise_all(_mapping_errors(data.mapping, form.fields, job.columns))
    if not _blob(source_blob(job)).exists():
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
    job = jobs.replace(tenant_id=webcast.tenant_id, item=job)
    message = ImportMessage(
        tenant_id=job.tenant_id, webcast_id=job.webcast_id, job_id=job.id, run=job.run
    )
    queue_client(QUEUE).send_message(message.model_dump_json().encode())
    audit.record(
        tenant_id=webcast.tenant_id,
        actor=principal.actor,
        action="participant.import.start",
        entity_type="participant-import",
        entity_id=job.id,
        changed_fields=["dry_run", "mapping", "strict"],
        context=context,
    )
    return job


# -------------------------------------------------------------------------------------------
# Reading rows
# -------------------------------------------------------------------------------------------


def _coerce(form_field: FormField, text: str) -> Any:
    """A cell's text as the answer type the form expects (check_answers judges it after)."""
    kind = form_field.type
    if kind == FieldType.checkbox:
        lowered = text.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else text
    if kind == FieldType.date:
        match = _GERMAN_DATE.match(text)
        if match:
            day, month, year = match.groups()
            return f"{year}-{int(month):02d}-{int(day):02d}"
        return text[:10] if re.match(r"^\d{4}-\d{2}-\d{2}[ T]00:00(:00)?$", text) else text
    if kind in (FieldType.single_choice, FieldType.multiple_choice):
        options = {o.id.lower(): o.id for o in form_field.options}
        options.update({o.label.lower(): o.id for o in form_field.options})
        if kind == FieldType.single_choice:
            return options.get(text.lower(), text)
        parts = [p for p in _SPLIT.split(text) if p]
        return [options.get(p.lower(), p) for p in parts]
    return text


@dataclass
class ParsedRow:
    row: int
    data: ParticipantInput | None
    email_key: str | None = None
    username_key: str | None = None
    errors: list[RowError] = field(default_factory=list)


class Plan:
    """Which column feeds which target, and how one row becomes a participant input."""

    def __init__(self, mapping: dict[str, str], columns: list[str], fields: list[FormField]):
        index = {name: position for position, name in enumerate(columns)}
        self.fields = fields
        self.targets: dict[str, tuple[int, str]] = {}
        self.answers: list[tuple[int, str, FormField]] = []
        self.header_of: dict[str, str] = {}
        importable = _importable(fields)
        for header, target in mapping.items():
            if target == IGNORE or header not in index:
                continue
            self.header_of[target] = header
            if target in RESERVED_TARGETS:
                self.targets[target] = (index[header], header)
            elif target in importable:
                self.answers.append((index[header], header, importable[target]))

    def column(self, target: str) -> str | None:
        return self.header_of.get(target)

    def _cell(self, cells: list[str], target: str) -> tuple[str, str | None]:
        found = self.targets.get(target)
        return (cells[found[0]], found[1]) if found else ("", None)

    def parse(self, row: int, cells: list[str]) -> ParsedRow:
        """The participant input of one row, or the reasons it is wrong (never its values)."""
        errors: list[RowError] = []
        email_text, email_column = self._cell(cells, EMAIL)
        username, username_column = self._cell(cells, USERNAME)
        password, password_column = self._cell(cells, PASSWORD)
        for text, column in (
            (email_text, email_column),
            (username, username_column),
            (password, password_column),
        ):
            if (reason := text_problem(text)) is not None:
                errors.append(RowError(row=row, column=column, reason=reason))
        if errors:
            # A cell that is no valid text is not judged further (nor held in a model).
            return ParsedRow(row=row, data=None, errors=errors)
        email: str | None = None
        if email_text:
            try:
                email = checked_email(email_text).lower()
            except EmailNotValidError:
                errors.append(RowError(row=row, column=email_column, reason=_INVALID_EMAIL))
        if username and len(username) > 200:
            errors.append(
                RowError(row=row, column=username_column, reason="must have at most 200 characters")
            )
        if not email_text and not username:
            errors.append(
                RowError(
                    row=row,
                    column=email_column or username_column,
                    reason="an e-mail address or a user name is required",
                )
            )
        if password:
            try:
                check_policy(password, min_length=PARTICIPANT_PASSWORD_MIN)
            except DomainError as error:
                reason = error.errors[0].reason if error.errors else error.detail
                errors.append(RowError(row=row, column=password_column, reason=reason))
        answers: dict[str, Any] = {}
        for position, header, form_field in self.answers:
            text = cells[position]
            if not text:
                if form_field.required:
                    errors.append(RowError(row=row, column=header, reason="is required"))
                continue
            answers[form_field.id] = _coerce(form_field, text)
        try:
            check_answers(self.fields, answers, partial=True)
        except DomainError as error:
            for invalid in error.errors:
                field_id = invalid.field.removeprefix("answers.")
                column = self.header_of.get(field_id)
                errors.append(RowError(row=row, column=column, reason=invalid.reason))
        if errors:
            return ParsedRow(row=row, data=None, errors=errors)
        try:
            data = ParticipantInput(
                email=email, username=username or None, answers=answers, password=password or None
            )
        except ValidationError:
            return ParsedRow(
                row=row,
                data=None,
                errors=[RowError(row=row, column=None, reason="cannot be read as a participant")],
            )
        return ParsedRow(
            row=row,
            data=data,
            email_key=email,
            username_key=username.lower() if username else None,
        )


_INVALID_EMAIL = "is not a valid e-mail address"


def _key_hash(kind: str, value: str) -> int:
    digest = hashlib.blake2b(f"{kind}:{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass
class Validation:
    """What the validation pass found; `skip` marks the n-th data row to leave out."""

    counts: ImportCounts
    errors: list[RowError]
    truncated: bool
    skip: bytearray
    blank_rows: list[int]


class _Keys:
    """Compact (hash, ordinal, row) triples of e-mails or user names: 16 bytes per row."""

    def __init__(self) -> None:
        self.hashes = array.array("Q")
        self.ordinals = array.array("L")
        self.rows = array.array("L")

    def add(self, value: int, ordinal: int, row: int) -> None:
        self.hashes.append(value)
        self.ordinals.append(ordinal)
        self.rows.append(row)

    def repeats(self) -> Iterator[tuple[int, int, int]]:
        """(ordinal, row, row of the first occurrence) of every repeated key.

        A 2 MiB bit set finds the few hashes seen before (repeats, and about 1 % false
        alarms at 200,000 rows); only those are looked at again."""
        seen = bytearray(1 << 21)
        candidates: set[int] = set()
        for value in self.hashes:
            slot = value & 0xFFFFFF
            bit = 1 << (slot & 7)
            if seen[slot >> 3] & bit:
                candidates.add(value)
            else:
                seen[slot >> 3] |= bit
        first: dict[int, int] = {}
        for index, value in enumerate(self.hashes):
            if value not in candidates:
                continue
            if value in first:
                yield self.ordinals[index], self.rows[index], self.rows[first[value]]
            else:
                first[value] = index


def validate_rows(table: Table, plan: Plan, on_progress: Any = None) -> Validation:
    """Check every row of the file (form rules, e-mail, duplicates) without writing anything."""
    counts = ImportCounts()
    errors: list[RowError] = []
    truncated = False
    skip = bytearray()
    blank_rows: list[int] = []
    previous = table.header_row
    emails, usernames = _Keys(), _Keys()

    def report(new: list[RowError]) -> None:
        nonlocal truncated
        room = MAX_REPORTED_ERRORS - len(errors)
        errors.extend(new[: max(room, 0)])
        truncated = truncated or len(new) > room

    for ordinal, (row, cells) in enumerate(table.rows):
        if ordinal >= MAX_ROWS:
            raise BadFileError("too-many-rows", f"the file has more than {MAX_ROWS:,} rows")
        if row > previous + 1:
            # The table leaves empty rows out; the gap in the row numbers shows them.
            counts.blank += row - previous - 1
            room = max(MAX_REPORTED_ERRORS - len(blank_rows), 0)
            blank_rows.extend(range(previous + 1, row)[:room])
        previous = row
        parsed = plan.parse(row, cells)
        counts.rows += 1
        if parsed.errors:
            counts.invalid += 1
            skip.append(1)
            report(parsed.errors)
        else:
            counts.valid += 1
            skip.append(0)
            if parsed.email_key:
                emails.add(_key_hash("email", parsed.email_key), ordinal, row)
            if parsed.username_key:
                usernames.add(_key_hash("username", parsed.username_key), ordinal, row)
        if on_progress is not None and counts.rows % CHECKPOINT_ROWS == 0:
            on_progress(counts.rows)
    repeated: list[RowError] = []
    for keys, target in ((emails, EMAIL), (usernames, USERNAME)):
        for ordinal, row, first in keys.repeats():
            if skip[ordinal]:
                continue  # repeats its e-mail and its user name: reported once
            skip[ordinal] = 1
            counts.duplicates += 1
            counts.valid -= 1
            counts.invalid += 1
            repeated.append(
                RowError(
                    row=row,
                    column=plan.column(target),
                    reason=f"names the same person as row {first}",
                )
            )
    report(sorted(repeated, key=lambda e: e.row))
    errors.sort(key=lambda e: e.row)
    return Validation(
        counts=counts, errors=errors, truncated=truncated, skip=skip, blank_rows=blank_rows
    )


# -------------------------------------------------------------------------------------------
# The worker
# -------------------------------------------------------------------------------------------


class _LostJobError(Exception):
    """The job document changed under this worker (another run took it over)."""


@contextmanager
def _downloaded(job: ImportJob) -> Iterator[Path]:
    """The job's file in a temporary file, refused whole when missing or too large."""
    blob = _blob(source_blob(job))
    try:
        properties = blob.get_blob_properties()
    except ResourceNotFoundError as error:
        raise BadFileError("missing", "the file has not been uploaded or was removed") from error
    refused = size_refusal(actual=properties.size, declared=job.declared_size, limit=MAX_BYTES)
    if refused is not None:
        raise BadFileError("too-large" if refused.too_large else "size-mismatch", refused.reason)
    _require_scanned(job, properties.last_modified)
    descriptor, name = tempfile.mkstemp(prefix="import-", suffix=Path(job.filename).suffix.lower())
    path = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            # In 1 MiB ranges: the SDK buffers a whole range (up to 32 MiB) several times over.
            for offset in range(0, properties.size, _DOWNLOAD_RANGE):
                blob.download_blob(
                    offset=offset,
                    length=min(_DOWNLOAD_RANGE, properties.size - offset),
                    etag=properties.etag,
                    match_condition=_if_not_modified(),
                ).readinto(handle)
        if path.stat().st_size > MAX_BYTES:
            raise BadFileError("too-large", "the file is larger than allowed")
        yield path
    finally:
        path.unlink(missing_ok=True)


def _require_scanned(job: ImportJob, uploaded_at: datetime | None) -> None:
    """Nothing of the file is read before the malware scan found it clean (P38); waits
    (`ScanPendingError`) while the result may still come."""
    found = require_clean(container=CONTAINER, blob_name=source_blob(job), uploaded_at=uploaded_at)
    if found != Verdict.clean:
        raise BadFileError(_GATE_CODES[found], REFUSALS[found])


def _if_not_modified() -> Any:
    from azure.core import MatchConditions

    return MatchConditions.IfNotModified


def _delete_source(job: ImportJob) -> None:
    with suppress(ResourceNotFoundError):
        _blob(source_blob(job)).delete_blob()


def _transient(error: Exception) -> bool:
    if isinstance(error, cosmos_errors.CosmosHttpResponseError):
        return error.status_code in _TRANSIENT_STATUS
    return isinstance(error, AzureError)


class _Run:
    """One run of one job, from download to the end; `save` fails when the job moved on."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.webcast: Webcast | None = None
        self.form: RegistrationForm | None = None

    def save(self) -> None:
        self.job.updated_at = utc_iso()
        try:
            stored = jobs.replace(tenant_id=self.job.tenant_id, item=self.job)
        except DomainError as error:
            if error.status == 412:
                raise _LostJobError from error
            raise
        self.job.etag = stored.etag  # the same object goes on: callers may hold it

    def fail(self, code: str, reason: str) -> None:
        self.job.status = ImportStatus.failed
        self.job.failure = ImportFailure(code=code, reason=reason)
        self._end(outcome="failure")

    def _end(self, *, outcome: str) -> None:
        self.job.finished_at = utc_iso()
        self.save()
        _delete_source(self.job)
        self.job.source_deleted = True
        self.save()
        self._audit_end(outcome)

    def _audit_end(self, outcome: str) -> None:
        audit.record(
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
        webcast = webcasts.get(tenant_id=job.tenant_id, item_id=job.webcast_id)
        if webcast is None:
            self.fail("webcast-missing", "the webcast no longer exists")
            return
        self.webcast = webcast
        self.form = get_form(tenant_id=job.tenant_id, webcast_id=job.webcast_id)
        fields = self.form.fields
        try:
            with _downloaded(job) as path:
                source = detect(path, filename=job.filename)
                table = open_table(path, source)
                self.describe(source, table, path)
                if job.mapping is None:
                    job.mapping = auto_mapping(table.columns, fields)
                mapping_errors = _mapping_errors(job.mapping, fields, table.columns)
                if mapping_errors:
                    first = mapping_errors[0]
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
        outcomes = self._import_chunk(pool, [data for _, data in chunk])
        counts = self.job.counts
        new_errors: list[RowError] = []
        for (row, _), outcome in zip(chunk, outcomes, strict=True):
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
    job = jobs.get(
        tenant_id=message.tenant_id, partition_key=message.webcast_id, item_id=message.job_id
    )
    if job is None or job.run != message.run or job.status not in RUNNING:
        return False
    run = _Run(job)
    try:
        run.execute()
    except ScanPendingError as pending:
        # The same message comes back once the scan result may be there (not a failed try).
        queue_client(QUEUE).send_message(
            message.model_dump_json().encode(), visibility_timeout=pending.retry_after
        )
        return False
    except _LostJobError:
        log.warning("import %s changed under this run; another run goes on with it", job.id)
        return False
    except Exception:
        if not final_attempt:
            raise
        log.exception("import %s failed on its last attempt", job.id)
        latest = jobs.get(tenant_id=job.tenant_id, partition_key=job.webcast_id, item_id=job.id)
        if latest is not None and latest.status not in FINISHED:
            _Run(latest).fail(
                "internal-error",
                "the import failed repeatedly; rows written so far stay, the rest was not written",
            )
    return True


# -------------------------------------------------------------------------------------------
# Blob events, expiry, data-subject requests
# -------------------------------------------------------------------------------------------


def _job_of_blob(name: str) -> tuple[ImportJob | None, bool]:
    """The job a blob in the imports container belongs to, and whether the name is ours."""
    parts = name.split("/")
    if len(parts) != 4 or parts[3] != "source":
        return None, False
    tenant_id, webcast_id, job_id = parts[:3]
    return jobs.get(tenant_id=tenant_id, partition_key=webcast_id, item_id=job_id), True


def on_source_created(event: EventGridEvent) -> None:
    """An uploaded file: detect its kind and columns so that the admin can map them."""
    job, ours = _job_of_blob(event.blob_name)
    if not ours:
        return
    if job is None or job.status in FINISHED:
        _blob(event.blob_name).delete_blob(delete_snapshots="include")
        return
    if job.status not in (ImportStatus.created, ImportStatus.uploaded, ImportStatus.validated):
        return
    run = _Run(job)
    try:
        try:
            with _downloaded(job) as path:
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
    except _LostJobError:
        return  # started (or changed) meanwhile: the run reads the file itself


def _age_seconds(iso: str) -> float:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    return now() - moment.timestamp()


def expire_sources(*, max_age_seconds: int = SOURCE_MAX_AGE_SECONDS) -> int:
    """Delete files of ended jobs and of jobs not started in time; returns how many."""
    container = blob_service().get_container_client(blob_container_name(CONTAINER))
    removed = 0
    for blob in container.list_blobs():
        job, _ours = _job_of_blob(blob.name)
        if job is not None and job.status in RUNNING:
            continue
        if job is not None and job.status not in FINISHED:
            if _age_seconds(job.updated_at) < max_age_seconds:
                continue
            _Run(job).fail("expired", "the file was not imported in time and has been deleted")
        else:
            container.delete_blob(blob.name)
            if job is not None and not job.source_deleted:
                job.source_deleted = True
                _Run(job).save()
        removed += 1
    return removed


def export_sources(*, subject: DataSubject) -> list[dict[str, Any]]:
    """Import files held right now for the subject's webcast (kept only while a job needs
    them); their rows of other people are not handed out, what was imported is exported
    with the participant."""
    if subject.webcast_id is None:
        return []
    container = blob_service().get_container_client(blob_container_name(CONTAINER))
    prefix = f"{subject.tenant_id}/{subject.webcast_id}/"
    return [
        {
            "file": blob.name,
            "size": blob.size,
            "uploaded_at": blob.last_modified.isoformat() if blob.last_modified else None,
            "kept_until": "the import job ends, at most 24 hours when it is not started",
        }
        for blob in container.list_blobs(name_starts_with=prefix)
    ]


def erase_sources(*, subject: DataSubject) -> int:
    """Delete every import file of the subject's webcast (prefix {tenant}/{webcast}/); a
    file cannot lose one person's row, so pending imports of the webcast end as failed."""
    if subject.webcast_id is None:
        return 0
    container = blob_service().get_container_client(blob_container_name(CONTAINER))
    prefix = f"{subject.tenant_id}/{subject.webcast_id}/"
    removed = 0
    for blob in container.list_blobs(name_starts_with=prefix):
        job, _ = _job_of_blob(blob.name)
        if job is not None and job.status not in FINISHED:
            with suppress(_LostJobError):
                _Run(job).fail("erased", "the file was deleted on a data-protection request")
        with suppress(ResourceNotFoundError):
            container.delete_blob(blob.name)
        removed += 1
    return removed
