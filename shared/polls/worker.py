"""The fold worker behind the `poll-votes-{n}` queues: idempotent, poison ends visibly."""

import logging

from shared.clock import utc_iso
from shared.polls import tally
from shared.polls.queue import FoldMessage
from shared.polls.repository import (
    FoldFailure,
    failure_id,
    failures,
    get_poll,
    shard_partition,
)

log = logging.getLogger("webcast.polls.worker")


def handle_message(*, message: FoldMessage, final_attempt: bool = False) -> int:
    """Fold the named shard; any number of deliveries leave the same counts. On its last
    delivery a failing fold leaves a marker that moderators see (its votes wait, uncounted,
    for the next fold or for closing the poll)."""
    poll = get_poll(
        tenant_id=message.tenant_id, webcast_id=message.webcast_id, poll_id=message.poll_id
    )
    if poll is None:
        return 0  # deleted meanwhile: nothing to count
    try:
        added = tally.fold_shard(poll=poll, shard=message.shard)
    except Exception as error:
        if not final_attempt:
            raise
        log.exception("fold of poll %s shard %d failed on its last attempt", poll.id, message.shard)
        failures.upsert(
            tenant_id=poll.tenant_id,
            item=FoldFailure(
                id=failure_id(poll_id=poll.id, shard=message.shard),
                tenant_id=poll.tenant_id,
                webcast_id=poll.webcast_id,
                poll_id=poll.id,
                partition=poll.webcast_id,
                shard=message.shard,
                failed_at=utc_iso(),
                error=type(error).__name__,
            ),
        )
        return 0
    if added:
        tally.forget(poll.id)
    log.debug(
        "folded %d votes into %s",
        added,
        shard_partition(webcast_id=poll.webcast_id, poll_id=poll.id, shard=message.shard),
    )
    return added
