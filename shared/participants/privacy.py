"""Data-subject export and erasure for participants (answers, consents, login keys, grants)."""

from collections.abc import Callable
from itertools import islice
from typing import Any

from shared.participants import sessions
from shared.participants.models import Participant
from shared.participants.repository import participant_sessions, participants
from shared.participants.service import remove_participant
from shared.privacy.models import DataSubject


def _participant(subject: DataSubject) -> Any:
    if subject.participant_id is None or subject.webcast_id is None:
        return None
    return participants.get(
        tenant_id=subject.tenant_id,
        partition_key=subject.webcast_id,
        item_id=subject.participant_id,
        include_blocked=True,
    )


def export_participant(*, subject: DataSubject) -> list[dict[str, Any]]:
    """Everything stored about the participant, without the password hash."""
    participant = _participant(subject)
    if participant is None:
        return []
    record = participant.model_dump(mode="json", exclude={"password_hash", "etag", "search_text"})
    record["has_password"] = participant.password_hash is not None
    return [record]


def erase_participant(*, subject: DataSubject) -> int:
    """Delete the participant, its login keys and its session grants."""
    participant = _participant(subject)
    if participant is None:
        return 0
    remove_participant(participant)
    return 1


def export_sessions(*, subject: DataSubject) -> list[dict[str, Any]]:
    """The viewer sessions signed in as the participant: their times and which grant is theirs."""
    if subject.participant_id is None:
        return []
    found = participant_sessions.scan(
        where="ARRAY_CONTAINS(c.participant_ids, @p)", parameters={"@p": subject.participant_id}
    )
    return [
        {
            "created_at": session.created_at,
            "last_seen_at": session.last_seen_at,
            "absolute_expires_at": session.absolute_expires_at,
            "embedded": session.embedded,
            "webcasts": sorted(
                webcast
                for webcast, holder in session.grants.items()
                if holder == subject.participant_id
            ),
        }
        for session in found
    ]


def erase_sessions(*, subject: DataSubject) -> int:
    """Take the participant's grants out of every viewer session."""
    if subject.participant_id is None:
        return 0
    return sessions.revoke_participant(subject.participant_id)


def hold(*, subject: DataSubject, reason: str, until: str, at: str) -> int:
    """Block the participant's record under a legal hold: it stays stored, but no list,
    search, export, sign-in or mail finds it, and its session grants go."""
    participant = _participant(subject)
    if participant is None:
        return 0
    participant.blocked_at = at
    participant.blocked_reason = reason
    participant.blocked_until = until
    participants.replace(tenant_id=participant.tenant_id, item=participant)
    sessions.revoke_participant(participant.id)
    return 1


def release_hold(*, subject: DataSubject) -> int:
    """Lift the hold: the record is back in every list and may sign in again."""
    participant = _participant(subject)
    if participant is None or participant.blocked_at is None:
        return 0
    participant.blocked_at = None
    participant.blocked_reason = None
    participant.blocked_until = None
    participants.replace(tenant_id=participant.tenant_id, item=participant)
    return 1


def holds(*, tenant_id: str, limit: int) -> list[Participant]:
    """The tenant's blocked records, the hold's end first; at most `limit`."""
    # The tenant is in the text: its blocked records across its webcasts' partitions.
    found = participants.container.query_items(  # nosemgrep: cosmos-query-without-partition-key
        "SELECT * FROM c WHERE c.tenant_id = @t AND c.type = @type "
        "AND IS_DEFINED(c.blocked_at) AND NOT IS_NULL(c.blocked_at) ORDER BY c.blocked_until",
        parameters=[
            {"name": "@t", "value": tenant_id},
            {"name": "@type", "value": Participant.doc_type},
        ],
        enable_cross_partition_query=True,
        max_item_count=limit,
    )
    return [Participant.model_validate(item) for item in islice(found, limit)]


def held_record(*, subject: DataSubject) -> Participant | None:
    """The blocked record itself (the timer erases it once its hold ended)."""
    found = _participant(subject)
    return found if found is not None and found.blocked_at is not None else None


def held_until(*, before: str, limit: int) -> list[DataSubject]:
    """Records of every tenant whose hold ended before `before` (the retention timer erases
    them); at most `limit`."""
    # Across every tenant: the timer alone asks, for records whose hold has ended.
    found = participants.container.query_items(  # nosemgrep: cosmos-query-without-partition-key
        "SELECT c.tenant_id, c.webcast_id, c.id FROM c WHERE c.type = @type "
        "AND IS_DEFINED(c.blocked_until) AND NOT IS_NULL(c.blocked_until) "
        "AND c.blocked_until <= @before",
        parameters=[
            {"name": "@type", "value": Participant.doc_type},
            {"name": "@before", "value": before},
        ],
        enable_cross_partition_query=True,
        max_item_count=limit,
    )
    return [
        DataSubject(
            tenant_id=item["tenant_id"], webcast_id=item["webcast_id"], participant_id=item["id"]
        )
        for item in islice(found, limit)
    ]


def erase_webcast_participants(
    *,
    tenant_id: str,
    webcast_id: str,
    limit: int,
    erase_tied_data: Callable[[DataSubject], object],
) -> int:
    """Delete up to `limit` of the webcast's participants (answers, consents, login keys,
    grants), each after `erase_tied_data` ran for them; blocked ones stay on hold."""
    found = list(islice(participants.iterate(tenant_id=tenant_id, partition_key=webcast_id), limit))
    for participant in found:
        erase_tied_data(
            DataSubject(tenant_id=tenant_id, webcast_id=webcast_id, participant_id=participant.id)
        )
        remove_participant(participant)
    return len(found)


def has_participants(*, tenant_id: str, webcast_id: str) -> bool:
    """Whether the webcast has any participant (one read of a page of one)."""
    return (
        next(iter(participants.iterate(tenant_id=tenant_id, partition_key=webcast_id)), None)
        is not None
    )
