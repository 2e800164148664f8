"""Data-subject export and erasure for messages tied to a participant (only those sent
while a sender switch was on; all others carry no participant id)."""

from itertools import islice
from typing import Any

from shared.messages import feed
from shared.messages.models import Message
from shared.messages.repository import messages, tallies, votes
from shared.privacy.models import DataSubject
from shared.webcasts.models import Webcast
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


def set_blocked(*, subject: DataSubject, blocked_at: str | None) -> int:
    """Stamp (or clear) the hold on the participant's messages: a blocked message leaves the
    moderators' lists and the published feed, and comes back when the hold is lifted."""
    found = _messages(subject)
    for message in found:
        messages.replace(
            tenant_id=message.tenant_id, item=message.model_copy(update={"blocked_at": blocked_at})
        )
    if any(m.published for m in found) and subject.webcast_id:
        webcast = find_in_tenant(tenant_id=subject.tenant_id, webcast_id=subject.webcast_id)
        if webcast is not None:
            feed.rebuild(webcast)
    return len(found)


def erase_webcast_senders(*, webcast: Webcast, limit: int) -> int:
    """Take the sender (participant id, session hash) off up to `limit` of the webcast's
    messages and delete their upvotes after folding them: texts and counts stay."""
    senders = messages.iterate(
        tenant_id=webcast.tenant_id,
        partition_key=webcast.id,
        where="(IS_DEFINED(c.participant_id) AND NOT IS_NULL(c.participant_id)) "
        "OR c.sender_hash != ''",
    )
    found = list(islice(senders, limit))
    for message in found:
        messages.replace(
            tenant_id=webcast.tenant_id,
            item=message.model_copy(update={"participant_id": None, "sender_hash": ""}),
        )
    changed = len(found)
    published = any(message.published for message in found)
    if published:
        feed.rebuild(webcast)
    if changed >= limit:
        return changed
    found_votes = list(
        islice(
            votes.iterate_webcast(tenant_id=webcast.tenant_id, webcast_id=webcast.id),
            limit - changed,
        )
    )
    for shard in sorted({_shard_of_partition(v.partition) for v in found_votes if not v.counted}):
        feed.fold_shard(webcast=webcast, shard=shard)  # counted first: the counts stay
    changed += sum(
        votes.delete(tenant_id=webcast.tenant_id, partition_key=vote.partition, item_id=vote.id)
        for vote in found_votes
    )
    if changed < limit:
        # Every upvote is gone: the tallies' lists of the last folded vote ids go too.
        for kept in tallies.iterate_webcast(tenant_id=webcast.tenant_id, webcast_id=webcast.id):
            if kept.folded:
                tallies.replace(
                    tenant_id=webcast.tenant_id, item=kept.model_copy(update={"folded": []})
                )
    return changed


def _shard_of_partition(partition: str) -> int:
    """The shard number of a vote partition `{webcast}:up:{shard}`."""
    return int(partition.rsplit(":", 1)[1])
