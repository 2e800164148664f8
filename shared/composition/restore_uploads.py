"""The `restores` blob container: backup ZIPs waiting to be restored into a new webcast
(`{tenant}/{webcast}/restore/{restore}.zip`, the webcast being the one restored into), and
what data-subject requests and deletions do with them."""

from typing import Any

from shared.clients import blob_container_name, blob_service
from shared.privacy.blobs import delete_prefix
from shared.privacy.models import DataSubject

CONTAINER = "restores"


def export_uploads(*, subject: DataSubject) -> list[dict[str, Any]]:
    """Backup ZIPs waiting to be restored into the subject's webcast (held at most 24 hours;
    once restored, their rows are exported from the webcast)."""
    if subject.webcast_id is None or subject.speaker_id is not None:
        return []
    container = blob_service().get_container_client(blob_container_name(CONTAINER))
    prefix = f"{subject.tenant_id}/{subject.webcast_id}/"
    return [
        {"file": blob.name, "size": blob.size, "kept_until": "the restore ends, at most 24 hours"}
        for blob in container.list_blobs(name_starts_with=prefix)
    ]


def erase_uploads(*, subject: DataSubject) -> int:
    """Delete the waiting ZIPs of a webcast being deleted. One person's erasure leaves them:
    the erasure ledger keeps the person out of the restore, and the ZIP goes when it ends."""
    if not subject.is_whole_webcast:
        return 0
    return delete_prefix(CONTAINER, f"{subject.tenant_id}/{subject.webcast_id}/")
