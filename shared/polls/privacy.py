"""Data-subject export and erasure for poll answers tied to a participant (P16).

Only answers given while `poll_results_tied_to_participant` was on carry a participant id;
all others are anonymous and belong to no data subject. Counts already folded into a tally
stay: they are aggregates without any link to a person.
"""

from collections.abc import Iterator
from itertools import islice
from typing import Any

from shared.polls import tally
from shared.polls.models import Vote
from shared.polls.repository import VOTE_SHARDS, polls, shard_partition, tallies, votes
from shared.privacy.models import DataSubject


def _tied_votes(subject: DataSubject) -> Iterator[Vote]:
    if subject.participant_id is None or subject.webcast_id is None:
        return
    for poll in polls.iterate(
        tenant_id=subject.tenant_id, partition_key=subject.webcast_id, include_blocked=True
    ):
        for shard in range(VOTE_SHARDS):
            yield from votes.iterate(
                tenant_id=subject.tenant_id,
                partition_key=shard_partition(
                    webcast_id=subject.webcast_id, poll_id=poll.id, shard=shard
                ),
                where="c.participant_id = @participant",
                parameters={"@participant": subject.participant_id},
                include_blocked=True,
            )


def export_answers(*, subject: DataSubject) -> list[dict[str, Any]]:
    """The participant's tied answers with poll id, answers, score and time."""
    return [
        vote.model_dump(mode="json", include={"poll_id", "answers", "score", "created_at"})
        for vote in _tied_votes(subject)
    ]


def erase_answers(*, subject: DataSubject) -> int:
    """Delete the participant's tied answers."""
    erased = 0
    for vote in list(_tied_votes(subject)):
        erased += votes.delete(
            tenant_id=subject.tenant_id, partition_key=vote.partition, item_id=vote.id
        )
    return erased


def set_blocked(*, subject: DataSubject, blocked_at: str | None) -> int:
    """Stamp (or clear) the hold on the participant's tied answers: a blocked answer is no
    longer listed or exported; counts folded into a tally before stay (aggregates only)."""
    found = list(_tied_votes(subject))
    for vote in found:
        votes.replace(
            tenant_id=subject.tenant_id, item=vote.model_copy(update={"blocked_at": blocked_at})
        )
    return len(found)


def erase_webcast_answers(*, tenant_id: str, webcast_id: str, limit: int) -> int:
    """Delete up to `limit` of the webcast's answers, tied and anonymous alike, each counted
    into its shard's tally first: the tallies (counts only) stay as the polls' results."""
    found = list(islice(votes.iterate_webcast(tenant_id=tenant_id, webcast_id=webcast_id), limit))
    for poll_id, shard in sorted({(v.poll_id, v.shard) for v in found if not v.counted}):
        poll = polls.get(tenant_id=tenant_id, partition_key=webcast_id, item_id=poll_id)
        if poll is not None:
            tally.fold_shard(poll=poll, shard=shard)
    erased = sum(
        votes.delete(tenant_id=tenant_id, partition_key=vote.partition, item_id=vote.id)
        for vote in found
    )
    if len(found) < limit:
        # Every answer is gone: the tallies' lists of recently folded vote ids go too.
        for kept in tallies.iterate_webcast(tenant_id=tenant_id, webcast_id=webcast_id):
            if kept.recent:
                tallies.replace(tenant_id=tenant_id, item=kept.model_copy(update={"recent": []}))
    for poll_id in {vote.poll_id for vote in found}:
        tally.forget(poll_id)
    return erased
