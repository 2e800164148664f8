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
from shared.polls.repository import VOTE_SHARDS, polls, shard_partition, tallies, tally_id, votes
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


def erase_webcast_answers(*, tenant_id: str, webcast_id: str, limit: int) -> int:
    """Delete up to `limit` of the webcast's answers, tied and anonymous alike, each counted
    into its shard's tally first: the tallies (counts only) stay as the polls' results."""
    erased = 0
    for poll in polls.iterate(tenant_id=tenant_id, partition_key=webcast_id):
        for shard in range(VOTE_SHARDS):
            partition = shard_partition(webcast_id=webcast_id, poll_id=poll.id, shard=shard)
            found = list(
                islice(votes.iterate(tenant_id=tenant_id, partition_key=partition), limit - erased)
            )
            if not found:
                continue
            if not all(vote.counted for vote in found):
                tally.fold_shard(poll=poll, shard=shard)
            for vote in found:
                erased += votes.delete(
                    tenant_id=tenant_id, partition_key=partition, item_id=vote.id
                )
            if erased >= limit:
                return erased
            _forget_recent(tenant_id, partition, tally_id(poll_id=poll.id, shard=shard))
        tally.forget(poll.id)
    return erased


def _forget_recent(tenant_id: str, partition: str, item_id: str) -> None:
    """Drop the vote ids a tally keeps of its last folds once the votes are gone."""
    found = tallies.get(tenant_id=tenant_id, partition_key=partition, item_id=item_id)
    if (
        found is not None
        and found.recent
        and not votes.query(tenant_id=tenant_id, partition_key=partition)
    ):
        tallies.replace(tenant_id=tenant_id, item=found.model_copy(update={"recent": []}))
