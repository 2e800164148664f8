"""Cosmos access for polls: definitions in the webcast's partition, votes and tallies sharded.

Partitions of the `polls` container (path `/partition`):
- `{webcast_id}`: poll definitions and fold-failure markers (few, small);
- `{webcast_id}:{poll_id}:v{shard}`: the votes of one shard and that shard's tally, so that
  a burst of votes spreads over `VOTE_SHARDS` logical partitions instead of one.
"""

from azure.cosmos import exceptions as cosmos_errors

from shared.cosmos.repository import Document, TenantRepository, is_missing
from shared.ids import lookup_hash
from shared.polls.models import Poll, Tally, Vote

CONTAINER = "polls"
# 100,000 votes in ~30 s is ~3,300 creates/s; 32 shards put ~100 votes/s on each logical
# partition (~2,500 RU/s with create, mark and fold), far below a physical partition's 10,000.
VOTE_SHARDS = 32


class FoldFailure(Document):
    """A shard whose fold failed on its last delivery: shown to moderators until a fold of
    that shard succeeds (its votes stay uncounted, never lost)."""

    doc_type = "poll-fold-failure"

    tenant_id: str
    webcast_id: str
    poll_id: str
    partition: str
    shard: int
    failed_at: str
    error: str


polls = TenantRepository(container=CONTAINER, model=Poll, partition_field="partition")
votes = TenantRepository(container=CONTAINER, model=Vote, partition_field="partition")
tallies = TenantRepository(container=CONTAINER, model=Tally, partition_field="partition")
failures = TenantRepository(container=CONTAINER, model=FoldFailure, partition_field="partition")


def vote_id(*, poll_id: str, session_id: str) -> str:
    """Keyed, so a stored vote id reveals nothing about the session it came from."""
    return lookup_hash("poll-vote", f"{poll_id}:{session_id}")


def shard_of(vote: str) -> int:
    return int(vote[:8], 16) % VOTE_SHARDS


def shard_partition(*, webcast_id: str, poll_id: str, shard: int) -> str:
    return f"{webcast_id}:{poll_id}:v{shard}"


def tally_id(*, poll_id: str, shard: int) -> str:
    return f"tally-{poll_id}-{shard}"


def failure_id(*, poll_id: str, shard: int) -> str:
    return f"fold-failure-{poll_id}-{shard}"


def get_poll(*, tenant_id: str, webcast_id: str, poll_id: str) -> Poll | None:
    return polls.get(tenant_id=tenant_id, partition_key=webcast_id, item_id=poll_id)


def mark_counted(*, partition: str, ids: list[str]) -> None:
    """Set `counted` on the votes a fold added; a vote erased meanwhile is skipped."""
    for item_id in ids:
        try:
            votes.container.patch_item(
                item=item_id,
                partition_key=partition,
                patch_operations=[{"op": "set", "path": "/counted", "value": True}],
            )
        except cosmos_errors.CosmosHttpResponseError as error:
            if not is_missing(error):
                raise
