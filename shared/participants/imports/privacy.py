"""Data-subject requests on import files: what is held for a webcast, and its erasure."""

from contextlib import suppress
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from shared.clients import blob_container_name, blob_service
from shared.participants.import_models import FINISHED
from shared.participants.imports.files import CONTAINER, job_of_blob
from shared.participants.imports.worker import JobRun, LostJobError
from shared.privacy.models import DataSubject


def export_sources(*, subject: DataSubject) -> list[dict[str, Any]]:
    """Import files held right now for the subject's webcast (kept only while a job needs
    them); their rows of other people are not handed out, what was imported is exported
    with the participant. A speaker is in no import."""
    if subject.webcast_id is None or subject.speaker_id is not None:
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
    """Delete every import file of a webcast being deleted (prefix {tenant}/{webcast}/);
    pending imports of the webcast end as failed. One person's erasure leaves the files: a
    file cannot lose one row, the erasure ledger makes a running import skip the person, and
    the file goes when its job ends (at most 24 hours)."""
    if not subject.is_whole_webcast:
        return 0
    container = blob_service().get_container_client(blob_container_name(CONTAINER))
    prefix = f"{subject.tenant_id}/{subject.webcast_id}/"
    removed = 0
    for blob in container.list_blobs(name_starts_with=prefix):
        job, _ = job_of_blob(blob.name)
        if job is not None and job.status not in FINISHED:
            with suppress(LostJobError):
                JobRun(job).fail("erased", "the file was deleted on a data-protection request")
        with suppress(ResourceNotFoundError):
            container.delete_blob(blob.name)
        removed += 1
    return removed
