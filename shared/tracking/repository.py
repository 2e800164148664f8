"""The `tracking` container: viewing documents in shard partitions, report snapshots."""

import hashlib

from shared.cosmos.repository import TenantRepository
from shared.tracking.models import ReportSnapshot, Viewing
from shared.tracking.settings import PARTITION_SHARDS

CONTAINER = "tracking"
viewings = TenantRepository(container=CONTAINER, model=Viewing, partition_field="partition")
snapshots = TenantRepository(container=CONTAINER, model=ReportSnapshot, partition_field="partition")


def shard_of(key: str) -> int:
    """A stable shard number for a viewer (or participant) key."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % PARTITION_SHARDS


def shard_partition(webcast_id: str, shard: int) -> str:
    return f"{webcast_id}:t{shard}"


def shard_partitions(webcast_id: str) -> list[str]:
    return [shard_partition(webcast_id, shard) for shard in range(PARTITION_SHARDS)]


def report_partition(webcast_id: str) -> str:
    return f"{webcast_id}:report"


def viewing_id(viewer_id: str, mode: str) -> str:
    return f"{mode}-{viewer_id}"
