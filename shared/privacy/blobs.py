"""Export and erasure of blob containers laid out by the prefix {tenant}/{webcast}/.

Video shows people the system cannot name (P20: the customer is responsible for what is
recorded), so a participant's request lists what the webcast holds but erases nothing; the
webcast's own deletion (a subject without account and participant) erases the whole prefix.
"""

from typing import Any

from shared.clients import blob_container_name, blob_service
from shared.privacy.models import DataSubject


def _prefix(subject: DataSubject) -> str | None:
    if subject.webcast_id is None:
        return None
    return f"{subject.tenant_id}/{subject.webcast_id}/"


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
    if prefix is None or not subject.is_whole_webcast:
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
