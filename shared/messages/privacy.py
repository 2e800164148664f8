"""Data-subject export and erasure for messages tied to a participant (only those sent
while a sender switch was on; all others carry no participant id)."""

from typing import Any

from shared.messages import feed
from shared.messages.models import Message
from shared.messages.repository import messages
from shared.privacy.models import DataSubject
from shared.webcasts.service import find_in_tenant


def _messages(subject: DataSubject) -> list[Message]:
    if subject.participant_id is None or subject.webcast_id is None:
        return []
    return messages.query(
        tenant_id=subject.tenant_id,
        partition_key=subject.webcast_id,
        where="c.participant_id = @p",
        parameters={"@p": subject.participant_id},
        include_blocked=True,
    )


def export_messages(*, subject: DataSubject) -> list[dict[str, Any]]:
    """The participant's messages with the replies they received."""
    return [
        m.model_dump(mode="json", include={"id", "text", "created_at", "anonymous", "replies"})
        for m in _messages(subject)
    ]


def erase_messages(*, subject: DataSubject) -> int:
    """Delete the participant's messages and take them out of the published feed."""
    found = _messages(subject)
    for message in found:
        messages.delete(
            tenant_id=message.tenant_id, item_id=message.id, partition_key=message.partition
        )
    if any(m.published for m in found) and subject.webcast_id:
        webcast = find_in_tenant(tenant_id=subject.tenant_id, webcast_id=subject.webcast_id)
        if webcast is not None:
            feed.rebuild(webcast)
    return len(found)
