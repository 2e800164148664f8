"""Data-subject export and erasure of attendance data tied to a participant (P17).

Only viewing documents written while `attendance_tied_to_participant` was on name a
participant; pseudonymous ones cannot be linked to anyone and are not a subject's data.
"""

from itertools import islice
from typing import Any

from shared.privacy.models import DataSubject
from shared.tracking.models import Viewing
from shared.tracking.repository import shard_of, shard_partition, viewings


def _viewings(subject: DataSubject) -> list[Viewing]:
    if subject.participant_id is None or subject.webcast_id is None:
        return []
    # A participant's heartbeats are sharded by the participant id: one partition to read.
    return viewings.query(
        tenant_id=subject.tenant_id,
        partition_key=shard_partition(subject.webcast_id, shard_of(subject.participant_id)),
        where="c.participant_id = @p",
        parameters={"@p": subject.participant_id},
        include_blocked=True,
    )


def export_viewings(*, subject: DataSubject) -> list[dict[str, Any]]:
    """The participant's viewing sessions: mode, time slots, last on-demand position."""
    return [v.model_dump(mode="json", exclude={"etag"}) for v in _viewings(subject)]


def erase_viewings(*, subject: DataSubject) -> int:
    """Delete the participant's viewing sessions; reports recompute without them."""
    erased = 0
    for viewing in _viewings(subject):
        if viewings.delete(
            tenant_id=subject.tenant_id, item_id=viewing.id, partition_key=viewing.partition
        ):
            erased += 1
    return erased


def set_blocked(*, subject: DataSubject, blocked_at: str | None) -> int:
    """Stamp (or clear) the hold on the participant's viewing sessions: reports leave them
    out while the hold lasts."""
    found = _viewings(subject)
    for viewing in found:
        viewings.replace(
            tenant_id=subject.tenant_id,
            item=viewing.model_copy(update={"blocked_at": blocked_at}),
        )
    return len(found)


def erase_webcast_viewings(*, tenant_id: str, webcast_id: str, limit: int) -> int:
    """Delete up to `limit` of the webcast's viewing documents, tied and pseudonymous alike
    (its participant data's retention ended; the report was frozen first)."""
    found = list(
        islice(viewings.iterate_webcast(tenant_id=tenant_id, webcast_id=webcast_id), limit)
    )
    return sum(
        viewings.delete(tenant_id=tenant_id, item_id=viewing.id, partition_key=viewing.partition)
        for viewing in found
    )
