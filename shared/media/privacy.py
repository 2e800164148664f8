"""Exporters and erasers of the media blob containers, by the prefix {tenant}/{webcast}/.

Video shows people the system cannot name (P20: the customer is responsible for what is
recorded), so a participant's request lists what the webcast holds but erases nothing; the
webcast's own deletion (a subject without account and participant) erases the whole prefix.
"""

from typing import Any

from shared.clients import blob_container_name, blob_service
from shared.privacy.registry import DataSubject


def _prefix(subject: DataSubject) -> str | None:
    if subject.webcast_id is None:
        return None
    return f"{subject.tenant_id}/{subject.webcast_id}/"


def _is_whole_webcast(subject: DataSubject) -> bool:
    return subject.account_id is None and subject.participant_id is None


def export_prefix(container: str, subject: DataSubject) -> list[dict[str, Any]]:
    """Name, size and time of every blob the subject's webcast holds in `container`."""
    prefix = _prefix(subject)
    if prefix is None:
        return []
    client = blob_service().get_container_client(blob_container_name(container))
    return [
        {
            "container": container,
            "file": blob.name,
            "size": blob.size,
            "created_at": blob.last_modified.isoformat() if blob.last_modified else None,
            "kept_until": "the webcast is deleted or its retention period ends (P21)",
        }
        for blob in client.list_blobs(name_starts_with=prefix)
    ]


def erase_prefix(container: str, subject: DataSubject) -> int:
    """Delete every blob of the webcast in `container`; only for the webcast's own deletion."""
    prefix = _prefix(subject)
    if prefix is None or not _is_whole_webcast(subject):
        return 0
    return delete_prefix(container, prefix)


def delete_prefix(container: str, prefix: str) -> int:
    """Delete every blob under `prefix` in `container` (logical name); how many went."""
    client = blob_service().get_container_client(blob_container_name(container))
    names = [blob.name for blob in client.list_blobs(name_starts_with=prefix)]
    # Batches of 256 (the service's limit); a blob deleted meanwhile is no failure.
    for start in range(0, len(names), 256):
        client.delete_blobs(
            *names[start : start + 256], delete_snapshots="include", raise_on_any_failure=False
        )
    return len(names)


def export_uploads(*, subject: DataSubject) -> list[dict[str, Any]]:
    return export_prefix("uploads", subject)


def erase_uploads(*, subject: DataSubject) -> int:
    return erase_prefix("uploads", subject)


def export_media(*, subject: DataSubject) -> list[dict[str, Any]]:
    return export_prefix("media", subject)


def erase_media(*, subject: DataSubject) -> int:
    return erase_prefix("media", subject)


def export_live(*, subject: DataSubject) -> list[dict[str, Any]]:
    return export_prefix("live", subject)


def erase_live(*, subject: DataSubject) -> int:
    return erase_prefix("live", subject)


def export_exports(*, subject: DataSubject) -> list[dict[str, Any]]:
    return export_prefix("exports", subject)


def erase_exports(*, subject: DataSubject) -> int:
    return erase_prefix("exports", subject)


def export_downloads(*, subject: DataSubject) -> list[dict[str, Any]]:
    return export_prefix("downloads", subject)


def erase_downloads(*, subject: DataSubject) -> int:
    return erase_prefix("downloads", subject)
