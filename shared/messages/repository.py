"""The `messages` container, partitioned by `/partition`: `{webcast_id}` for messages and
the feed, `{webcast_id}:up:{shard}` for votes and their tallies."""

from shared.cosmos.repository import TenantRepository
from shared.messages.models import Feed, Message, Vote, VoteTally

CONTAINER = "messages"
FEED_ID = "feed"
TALLY_ID = "tally"

messages = TenantRepository(container=CONTAINER, model=Message, partition_field="partition")
feeds = TenantRepository(container=CONTAINER, model=Feed, partition_field="partition")
votes = TenantRepository(container=CONTAINER, model=Vote, partition_field="partition")
tallies = TenantRepository(container=CONTAINER, model=VoteTally, partition_field="partition")


def vote_partition(webcast_id: str, shard: int) -> str:
    return f"{webcast_id}:up:{shard}"
