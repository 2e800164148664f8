"""Exact live counts under at-least-once delivery: per-shard tallies folded from votes.

A fold reads the shard's tally, takes up to `FOLD_BATCH` votes not yet counted, adds those
that are not among the tally's recent folds and replaces the tally with its etag; only then
are they marked as counted. A crash between the two steps leaves their ids in
`tally.recent`, so the next fold marks them instead of counting them again; two folds at once
meet at the etag and the loser starts over.
"""

import logging
import threading
import time

from shared.clock import utc_iso
from shared.errors import DomainError
from shared.polls.models import CHOICE_TYPES, Poll, QuestionType, Tally, Vote
from shared.polls.repository import (
    VOTE_SHARDS,
    failure_id,
    failures,
    mark_counted,
    shard_partition,
    tallies,
    tally_id,
    votes,
)

log = logging.getLogger("webcast.polls.tally")
FOLD_BATCH = 500
RECENT_FOLDS = 3  # ids of this many folds are kept: stale reads of `counted` stay harmless
MAX_FOLD_ATTEMPTS = 20
MAX_WORDS_PER_SHARD = 1000  # word clouds: rarer words beyond this go to "other"
OTHER = "_other"
READ_CACHE_SECONDS = 2.0

_cache: dict[str, tuple[float, list[Tally]]] = {}
_cache_lock = threading.Lock()
# Per poll: held by the thread that reads its tallies for the cache now, and a count of
# `forget` calls (a read begun before one is not kept).
_reading: dict[str, threading.Lock] = {}
_generation: dict[str, int] = {}


def _empty(poll: Poll, shard: int) -> Tally:
    return Tally(
        id=tally_id(poll_id=poll.id, shard=shard),
        tenant_id=poll.tenant_id,
        webcast_id=poll.webcast_id,
        poll_id=poll.id,
        partition=shard_partition(webcast_id=poll.webcast_id, poll_id=poll.id, shard=shard),
        shard=shard,
    )


def _read(poll: Poll, shard: int) -> Tally | None:
    return tallies.get(
        tenant_id=poll.tenant_id,
        partition_key=shard_partition(webcast_id=poll.webcast_id, poll_id=poll.id, shard=shard),
        item_id=tally_id(poll_id=poll.id, shard=shard),
    )


def _add(poll: Poll, tally: Tally, vote: Vote) -> None:
    tally.responses += 1
    tally.score_total += vote.score or 0
    for question in poll.questions:
        value = vote.answers.get(question.id)
        if value is None:
            continue
        tally.answered[question.id] = tally.answered.get(question.id, 0) + 1
        counts = tally.counts.setdefault(question.id, {})
        keys: list[str] = []
        if question.type in CHOICE_TYPES or question.type == QuestionType.word_cloud:
            keys = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        elif question.type == QuestionType.rating:
            keys = [str(value)]
        for key in keys:
            if (
                question.type == QuestionType.word_cloud
                and key not in counts
                and len(counts) >= MAX_WORDS_PER_SHARD
            ):
                key = OTHER
            counts[key] = counts.get(key, 0) + 1


def _uncounted(poll: Poll, partition: str, recent: list[str]) -> list[Vote]:
    """Up to FOLD_BATCH uncounted votes of the shard outside the recent folds."""
    page = votes.page(
        tenant_id=poll.tenant_id,
        partition_key=partition,
        max_items=FOLD_BATCH,
        where="c.poll_id = @poll AND c.counted = false AND NOT ARRAY_CONTAINS(@recent, c.id)",
        parameters={"@poll": poll.id, "@recent": recent},
    )
    return page.items


def _mark_leftovers(poll: Poll, partition: str, recent: list[str]) -> None:
    """Uncounted votes of the recent folds are in the tally already (a fold died before
    marking them): mark them before a new fold pushes their ids out of `recent`."""
    leftover = votes.query(
        tenant_id=poll.tenant_id,
        partition_key=partition,
        where="c.poll_id = @poll AND c.counted = false AND ARRAY_CONTAINS(@recent, c.id)",
        parameters={"@poll": poll.id, "@recent": recent},
    )
    mark_counted(partition=partition, ids=[v.id for v in leftover])


def fold_shard(*, poll: Poll, shard: int) -> int:
    """Count the shard's uncounted votes into its tally; returns how many were added."""
    partition = shard_partition(webcast_id=poll.webcast_id, poll_id=poll.id, shard=shard)
    added = 0
    # Goes on until a query finds nothing new: a page may hold fewer items than asked for.
    for _ in range(MAX_FOLD_ATTEMPTS + 200):
        tally = _read(poll, shard) or _empty(poll, shard)
        recent = [item for group in tally.recent for item in group]
        if recent:
            _mark_leftovers(poll, partition, recent)
        batch = _uncounted(poll, partition, recent)
        if not batch:
            return added
        for vote in batch:
            _add(poll, tally, vote)
        ids = [v.id for v in batch]
        tally.recent = [*tally.recent, ids][-RECENT_FOLDS:]
        tally.updated_at = utc_iso()
        try:
            if tally.etag:
                tallies.replace(tenant_id=poll.tenant_id, item=tally)
            else:
                tallies.create(tenant_id=poll.tenant_id, item=tally)
        except DomainError as error:
            if error.status in (409, 412):
                continue  # another fold won; start over from its tally
            raise
        mark_counted(partition=partition, ids=ids)
        added += len(ids)
    raise RuntimeError(f"fold of poll {poll.id} shard {shard} kept losing to other folds")


def fold_all(*, poll: Poll) -> int:
    """Fold every shard (evaluation, closing): exact even if a nudge message was lost."""
    added = 0
    for shard in range(VOTE_SHARDS):
        added += fold_shard(poll=poll, shard=shard)
        failures.delete(
            tenant_id=poll.tenant_id,
            partition_key=poll.webcast_id,
            item_id=failure_id(poll_id=poll.id, shard=shard),
        )
    forget(poll.id)
    return added


def _read_all(poll: Poll) -> list[Tally]:
    """Every shard's tally now, kept for the cached readers unless forgotten meanwhile."""
    at = time.monotonic()
    with _cache_lock:
        generation = _generation.get(poll.id, 0)
    found = [t for shard in range(VOTE_SHARDS) if (t := _read(poll, shard)) is not None]
    with _cache_lock:
        if _generation.get(poll.id, 0) == generation:
            _cache[poll.id] = (at, found)
    return found


def shard_tallies(*, poll: Poll, cached: bool) -> list[Tally]:
    """All shard tallies: VOTE_SHARDS point reads, kept a moment for the many live readers.

    Cached readers refresh the copy one thread per process and poll at a time: the others
    serve the previous copy meanwhile, or wait for the first one when there is none."""
    if not cached:
        return _read_all(poll)
    with _cache_lock:
        hit = _cache.get(poll.id)
        reading = _reading.setdefault(poll.id, threading.Lock())
    if hit and time.monotonic() - hit[0] < READ_CACHE_SECONDS:
        return hit[1]
    if hit is None:
        reading.acquire()
    elif not reading.acquire(blocking=False):
        return hit[1]
    try:
        with _cache_lock:
            current = _cache.get(poll.id)
        if current and time.monotonic() - current[0] < READ_CACHE_SECONDS:
            return current[1]  # read by the thread this one waited for
        return _read_all(poll)
    finally:
        reading.release()


def forget(poll_id: str) -> None:
    with _cache_lock:
        _cache.pop(poll_id, None)
        _generation[poll_id] = _generation.get(poll_id, 0) + 1
