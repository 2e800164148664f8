"""Channels and sessions in the `media` container (partition `/webcast_id`); stream key
lookups in `stream_keys` (partition `/id`)."""

from shared.cosmos.repository import KeyedRepository, TenantRepository
from shared.live.models import LiveChannel, LiveSession, StreamKey

CONTAINER = "media"

channels = TenantRepository(container=CONTAINER, model=LiveChannel, partition_field="webcast_id")
sessions = TenantRepository(container=CONTAINER, model=LiveSession, partition_field="webcast_id")
stream_keys = KeyedRepository(container="stream_keys", model=StreamKey)
