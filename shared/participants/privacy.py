"""Data-subject export and erasure for participants (answers, consents, login keys, grants)."""

from typing import Any

from shared.participants.repository import participants
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
