"""Queue triggers of the tracking feature (issue 4): one per heartbeat queue shard."""

import json
import logging

import azure.functions as func

from shared.tracking import service
from shared.tracking.models import HeartbeatMessage
from shared.tracking.settings import QUEUE_SHARDS, queue_for

blueprint = func.Blueprint()
log = logging.getLogger("webcast.triggers.tracking")


def handle(message: func.QueueMessage) -> bool:
    """Fold one heartbeat in; a body that is not a heartbeat fails (and ends as poison)."""
    heartbeat = HeartbeatMessage.model_validate(json.loads(message.get_body()))
    return service.record_heartbeat(message=heartbeat)


def _register(shard: int) -> None:
    name = f"tracking_heartbeats_{shard}"

    def trigger(message: func.QueueMessage) -> None:
        handle(message)

    # Each shard is its own function; the host indexes functions by these names.
    trigger.__name__ = trigger.__qualname__ = name
    blueprint.function_name(name)(
        blueprint.queue_trigger(
            arg_name="message", queue_name=queue_for(shard), connection="AzureWebJobsStorage"
        )(trigger)
    )


for _shard in range(QUEUE_SHARDS):
    _register(_shard)
