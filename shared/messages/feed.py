"""The published feed viewers poll, and upvotes.

Viewers never query messages: moderator actions rebuild one feed document per webcast, and
each process keeps the rendered feed (with vote counts) for a few seconds, with an ETag
derived from its content. Votes are documents in `vote_shards` synthetic partitions; each
shard's tally is folded from its uncounted votes by whichever process refreshes the feed,
guarded by the tally's etag, so that counts stay exact with many processes and retries.
"""

import hashlib
import threading
from dataclasses import dataclass
from itertools import islice

from azure.cosmos import exceptions as cosmos_errors

from shared.clock import now, utc_iso
from shared.errors import DomainError
from shared.messages.models import Feed, FeedItem, Message, PublishedFeed, Vote, VoteTally
from shared.messages.repository import (
    FEED_ID,
    TALLY_ID,
    feeds,
    messages,
    tallies,
    vote_partition,
    votes,
)
from shared.messages.settings import settings
from shared.participants.forms import display_name
from shared.participants.service import find_participant
from shared.webcasts.models import Webcast

_MAX_REBUILD_ATTEMPTS = 10
_MAX_FEED_BYTES = 1_500_000


@dataclass
class RenderedFeed:
    body: bytes
    etag: str
    expires_at: float
    items: frozenset[str]


_cache: dict[str, RenderedFeed] = {}
_folded_at: dict[str, float] = {}
_lock = threading.Lock()
# Per webcast: held by the thread that renders its feed now (kept, so that it stays one lock),
# and a count of invalidations: a rendering begun before one is not kept.
_rendering: dict[str, threading.Lock] = {}
_generation: dict[str, int] = {}


def invalidate(webcast_id: str) -> None:
    """Forget this process's rendered feed (after a moderator action, and in tests)."""
    with _lock:
        _cache.pop(webcast_id, None)
        _folded_at.pop(webcast_id, None)
        _generation[webcast_id] = _generation.get(webcast_id, 0) + 1


def sender_name(webcast: Webcast, participant_id: str | None) -> str:
    participant = (
        find_participant(
            tenant_id=webcast.tenant_id, webcast_id=webcast.id, participant_id=participant_id
        )
        if participant_id
        else None
    )
    if participant is None:
        return ""
    return participant.name or display_name(participant.answers)


def _feed_item(webcast: Webcast, message: Message) -> FeedItem:
    show = (
        webcast.privacy.messages_show_sender_to_audience
        and not message.anonymous
        and message.participant_id is not None
    )
    return FeedItem(
        id=message.id,
        text=message.text,
        created_at=message.created_at,
        published_at=message.published_at or message.created_at,
        sender_name=(sender_name(webcast, message.participant_id) or None) if show else None,
        replies=[reply.text for reply in message.replies if reply.public],
    )


def rebuild(webcast: Webcast) -> Feed:
    """Write the feed from the published messages; the etag check makes a rebuild that read
    older messages lose against a newer one, which then wins with the current state."""
    for _ in range(_MAX_REBUILD_ATTEMPTS):
        current = feeds.get(tenant_id=webcast.tenant_id, item_id=FEED_ID, partition_key=webcast.id)
        published = messages.iterate(
            tenant_id=webcast.tenant_id,
            partition_key=webcast.id,
            where="c.published = true",
            order_by="c.published_at DESC",
        )
        items: list[FeedItem] = []
        size = 0
        for message in islice(published, settings.feed_size):
            item = _feed_item(webcast, message)
            size += len(item.model_dump_json())
            # A Cosmos item holds at most 2 MB; older published messages drop out first.
            if size > _MAX_FEED_BYTES:
                break
            items.append(item)
        feed = Feed(
            id=FEED_ID,
            tenant_id=webcast.tenant_id,
            webcast_id=webcast.id,
            partition=webcast.id,
            version=(current.version if current else 0) + 1,
            items=items,
            updated_at=utc_iso(),
            _etag=current.etag if current else None,
        )
        try:
            if current is None:
                saved = feeds.create(tenant_id=webcast.tenant_id, item=feed)
            else:
                saved = feeds.replace(tenant_id=webcast.tenant_id, item=feed)
        except DomainError as error:
            if error.status in (409, 412):
                continue
            raise
        invalidate(webcast.id)
        return saved
    raise RuntimeError("the message feed kept changing while it was rebuilt")


def shard_of(voter_hash: str) -> int:
    return int(voter_hash[:8], 16) % settings.vote_shards


def fold_shard(*, webcast: Webcast, shard: int) -> VoteTally:
    """Count the shard's uncounted votes into its tally, exactly once each."""
    partition = vote_partition(webcast.id, shard)
    tally = tallies.get(tenant_id=webcast.tenant_id, item_id=TALLY_ID, partition_key=partition)
    pending = votes.query(
        tenant_id=webcast.tenant_id, partition_key=partition, where="c.counted = false"
    )
    if tally is None:
        tally = VoteTally(
            id=TALLY_ID, tenant_id=webcast.tenant_id, webcast_id=webcast.id, partition=partition
        )
    if not pending:
        return tally
    previous = set(tally.folded)
    # Votes of the tally's last fold are in its counts already: only their flag is missing.
    for vote in pending:
        if vote.id in previous:
            _mark_counted(webcast, vote)
    new = [vote for vote in pending if vote.id not in previous]
    if not new:
        return tally
    counts = dict(tally.counts)
    for vote in new:
        counts[vote.message_id] = counts.get(vote.message_id, 0) + 1
    folded = tally.model_copy(
        update={"counts": counts, "folded": [v.id for v in new], "updated_at": utc_iso()}
    )
    try:
        if tally.etag is None:
            saved = tallies.create(tenant_id=webcast.tenant_id, item=folded)
        else:
            saved = tallies.replace(tenant_id=webcast.tenant_id, item=folded)
    except DomainError as error:
        if error.status in (409, 412):
            # Another process folded first; its tally holds these votes or its next fold will.
            return (
                tallies.get(tenant_id=webcast.tenant_id, item_id=TALLY_ID, partition_key=partition)
                or tally
            )
        raise
    for vote in new:
        _mark_counted(webcast, vote)
    return saved


def _mark_counted(webcast: Webcast, vote: Vote) -> None:
    votes.upsert(tenant_id=webcast.tenant_id, item=vote.model_copy(update={"counted": True}))


def vote_counts(webcast: Webcast, *, fold: bool) -> dict[str, int]:
    counts: dict[str, int] = {}
    for shard in range(settings.vote_shards):
        if fold:
            tally: VoteTally | None = fold_shard(webcast=webcast, shard=shard)
        else:
            tally = tallies.get(
                tenant_id=webcast.tenant_id,
                item_id=TALLY_ID,
                partition_key=vote_partition(webcast.id, shard),
            )
        for message_id, count in (tally.counts if tally else {}).items():
            counts[message_id] = counts.get(message_id, 0) + count
    return counts


def _render(webcast: Webcast) -> RenderedFeed:
    feed = feeds.get(tenant_id=webcast.tenant_id, item_id=FEED_ID, partition_key=webcast.id)
    moment = now()
    fold = moment - _folded_at.get(webcast.id, 0.0) >= settings.vote_fold_seconds
    counts = vote_counts(webcast, fold=fold)
    if fold:
        _folded_at[webcast.id] = moment
    items = []
    for item in feed.items if feed else []:
        # The audience switch is read on every render: turning it off hides names at once.
        name = item.sender_name if webcast.privacy.messages_show_sender_to_audience else None
        items.append(item.model_copy(update={"votes": counts.get(item.id, 0), "sender_name": name}))
    body = (
        PublishedFeed(webcast_id=webcast.id, version=feed.version if feed else 0, items=items)
        .model_dump_json()
        .encode()
    )
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return RenderedFeed(
        body=body,
        etag=etag,
        expires_at=moment + settings.feed_cache_seconds,
        items=frozenset(item.id for item in items),
    )


def published(webcast: Webcast) -> RenderedFeed:
    """The rendered feed, from this process's cache while it is fresh.

    One thread per process and webcast renders at a time: the others serve the previous
    rendering meanwhile (at most one rendering's time staler), or wait for the first one
    when there is none. Otherwise every request arriving while a rendering runs would render
    again, and under load the renderings overlap more the slower they get."""
    cached = _cache.get(webcast.id)
    if cached is not None and cached.expires_at > now():
        return cached
    with _lock:
        rendering = _rendering.setdefault(webcast.id, threading.Lock())
    if cached is None:
        rendering.acquire()
    elif not rendering.acquire(blocking=False):
        return cached
    try:
        current = _cache.get(webcast.id)
        if current is not None and current.expires_at > now():
            return current  # rendered by the thread this one waited for
        with _lock:
            generation = _generation.get(webcast.id, 0)
        rendered = _render(webcast)
        with _lock:
            if _generation.get(webcast.id, 0) == generation:
                _cache[webcast.id] = rendered
        return rendered
    finally:
        rendering.release()


def cast_vote(*, webcast: Webcast, message_id: str, voter_hash: str) -> bool:
    """Record one vote of a session; False when the session had voted already."""
    shard = shard_of(voter_hash)
    vote = Vote(
        id=f"{message_id}:{voter_hash}",
        tenant_id=webcast.tenant_id,
        webcast_id=webcast.id,
        partition=vote_partition(webcast.id, shard),
        message_id=message_id,
        created_at=utc_iso(),
    )
    try:
        votes.create(tenant_id=webcast.tenant_id, item=vote)
    except DomainError as error:
        if error.status == 409:
            return False
        raise
    except cosmos_errors.CosmosResourceExistsError:
        return False
    return True
