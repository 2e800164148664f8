"""Participant import jobs (P09): the job document, its report and what the API exchanges."""

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.audit.models import Actor
from shared.blob_sas import UploadTicket
from shared.cosmos.repository import Document
from shared.text import InputModel

# Mapping targets besides form field ids; "" leaves a column out.
EMAIL, USERNAME, PASSWORD, IGNORE = "email", "username", "password", ""
RESERVED_TARGETS = (EMAIL, USERNAME, PASSWORD)


class ImportStatus(StrEnum):
    created = "created"  # waiting for the file
    uploaded = "uploaded"  # the file is there; columns detected when it was seen
    queued = "queued"
    validating = "validating"
    validated = "validated"  # a dry run ended: the report is ready, the file kept for a run
    importing = "importing"
    done = "done"
    failed = "failed"


RUNNING = (ImportStatus.queued, ImportStatus.validating, ImportStatus.importing)
FINISHED = (ImportStatus.done, ImportStatus.failed)


class RowError(BaseModel):
    """One problem of one row: where and why, never the cell's value."""

    row: int
    column: str | None = None
    reason: str
    phase: str = "validation"  # or "write": refused by the database (e.g. a taken user name)


class ImportCounts(BaseModel):
    rows: int = 0  # non-empty data rows
    blank: int = 0  # empty rows between the header and the last data row, skipped
    valid: int = 0
    invalid: int = 0
    duplicates: int = 0  # rows naming a person an earlier row of the file named (counted invalid)
    created: int = 0
    updated: int = 0
    failed: int = 0  # valid rows the database refused
    erased: int = 0  # valid rows naming a person erased at their request: skipped


class ImportReport(BaseModel):
    errors: list[RowError] = []
    errors_truncated: bool = False  # more rows were wrong than the report lists
    blank_rows: list[int] = []  # the numbers of skipped empty rows (the first ones)


class ImportFailure(BaseModel):
    code: str
    reason: str


class ImportJob(Document):
    """Stored in the webcast's participants partition; holds no cell values."""

    doc_type = "import-job"

    tenant_id: str
    webcast_id: str
    filename: str
    content_type: str | None = None
    created_by: str
    created_at: str
    updated_at: str
    status: ImportStatus = ImportStatus.created
    run: int = 0  # counts starts: a message of an earlier start does nothing
    mapping: dict[str, str] | None = None
    dry_run: bool = False
    strict: bool = False
    started_by: Actor | None = None
    file_format: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    declared_size: int | None = None
    size: int | None = None
    columns: list[str] | None = None
    header_row: int | None = None
    counts: ImportCounts = ImportCounts()
    rows_validated: int = 0
    progress: int = 0  # the last row number written in this run: a resumed run goes on after it
    report: ImportReport = ImportReport()
    failure: ImportFailure | None = None
    finished_at: str | None = None
    source_deleted: bool = False


class ImportJobView(BaseModel):
    id: str
    webcast_id: str
    filename: str
    status: ImportStatus
    created_at: str
    updated_at: str
    finished_at: str | None
    mapping: dict[str, str] | None
    dry_run: bool
    strict: bool
    file_format: str | None
    columns: list[str] | None
    counts: ImportCounts
    rows_validated: int
    progress: int
    report: ImportReport
    failure: ImportFailure | None
    source_deleted: bool

    @classmethod
    def of(cls, job: ImportJob) -> "ImportJobView":
        return cls.model_validate(job.model_dump(include=set(cls.model_fields)))


Filename = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Header = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Target = Annotated[str, StringConstraints(max_length=40)]


class ImportCreate(InputModel):
    model_config = ConfigDict(extra="forbid")

    filename: Filename
    size: int = Field(gt=0)  # bytes; the file that arrives must have exactly this size
    content_type: Annotated[str, StringConstraints(max_length=200)] | None = None


class ImportStart(InputModel):
    """Column header -> form field id, "email", "username", "password" or "" (left out).

    Without a mapping (dry runs only) the columns are matched to fields by their names."""

    model_config = ConfigDict(extra="forbid")

    mapping: Annotated[dict[Header, Target], Field(max_length=500)] | None = None
    dry_run: bool = False
    strict: bool = False


class CreatedImport(BaseModel):
    job: ImportJobView
    upload: UploadTicket


class ImportMessage(BaseModel):
    """The queue message: ids only."""

    tenant_id: str
    webcast_id: str
    job_id: str
    run: int
