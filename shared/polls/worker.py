"""The fold worker behind the `poll-votes-{n}` queues: idempotent, poison ends visibly."""

import logging

from shared.clock import utc_iso
from shared.polls import tally
from shared.polls.models import Poll
from shared.polls.queue import FoldMessage
from shared.polls.repository import (
    FoldFailure,
    failure_id,
    failures,
    get_poll,
    shard_partition,
    tallies,
    tally_id,
)
from shared.webcasts.service import find_public, is_gone

log = logging.getLogger("webcast.polls.worker")


def handle_message(*, message: FoldMessage, final_attempt: bool = False) -> int:
    """Fold the named shard; any number of deliveries leave the same counts. On its last
    delivery a failing fold leaves a marker that moderators see (its votes wait, uncounted,
    for the next fold or for closing the poll). A fold for a webcast that is gone (being
    deleted) counts nothing, and one it overtook removes the tally it wrote."""
    # Cached, as on the API side: folds are many; the check at the end is exact.
    webcast = find_public(message.webcast_id)
    if webcast is None or webcast.tenant_id != message.tenant_id:
        return 0
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
        if is_gone(tenant_id=poll.tenant_id, webcast_id=poll.webcast_id):
            return 0  # no failure marker for a webcast being deleted
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
    if added and is_gone(tenant_id=poll.tenant_id, webcast_id=poll.webcast_id):
        _drop_tally(poll, message.shard)
        return 0
    if added:
        tally.forget(poll.id)
    log.debug(
        "folded %d votes into %s",
        added,
        shard_partition(webcast_id=poll.webcast_id, poll_id=poll.id, shard=message.shard),
    )
    return added


def _drop_tally(poll: Poll, shard: int) -> None:
    """The webcast went while the fold ran: the tally it wrote goes too (its votes go with
    the deletion's sweeps)."""
    tallies.delete(
        tenant_id=poll.tenant_id,
        partition_key=shard_partition(webcast_id=poll.webcast_id, poll_id=poll.id, shard=shard),
        item_id=tally_id(poll_id=poll.id, shard=shard),
    )
    tally.forget(poll.id)
