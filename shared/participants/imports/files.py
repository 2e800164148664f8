"""The file of an import job: its blob, the download for a run, the malware gate, deletion."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from shared.clients import blob_container_name, blob_service
from shared.malware import REFUSALS, Verdict, require_clean
from shared.participants.import_models import ImportJob
from shared.participants.repository import import_jobs
from shared.participants.tabular import BadFileError
from shared.upload_size import size_refusal

CONTAINER = "imports"
MAX_BYTES = 50 * 1024 * 1024
_DOWNLOAD_RANGE = 1024 * 1024
# A job refused by the malware gate (P38) fails with these codes.
_GATE_CODES = {
    Verdict.malicious: "malware",
    Verdict.unscanned: "unscanned",
    Verdict.missing: "missing",
}


def source_blob(job: ImportJob) -> str:
    return f"{job.tenant_id}/{job.webcast_id}/{job.id}/source"


def blob_client(name: str) -> Any:
    return blob_service().get_blob_client(blob_container_name(CONTAINER), name)


@contextmanager
def downloaded(job: ImportJob) -> Iterator[Path]:
    """The job's file in a temporary file, refused whole when missing or too large."""
    blob = blob_client(source_blob(job))
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


def delete_source(job: ImportJob) -> None:
    with suppress(ResourceNotFoundError):
        blob_client(source_blob(job)).delete_blob()


def job_of_blob(name: str) -> tuple[ImportJob | None, bool]:
    """The job a blob in the imports container belongs to, and whether the name is ours."""
    parts = name.split("/")
    if len(parts) != 4 or parts[3] != "source":
        return None, False
    tenant_id, webcast_id, job_id = parts[:3]
    return import_jobs.get(tenant_id=tenant_id, partition_key=webcast_id, item_id=job_id), True
