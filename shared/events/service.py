"""Route BlobCreated events to the feature that owns the blob container."""

import json
from collections.abc import Callable

from shared import jobs
from shared.clients import queue_client
from shared.config import get_settings
from shared.events.models import BLOB_CREATED, EventGridEvent
from shared.malware import ScanPendingError

EVENT_QUEUE = "blob-events"

BlobConsumer = Callable[[EventGridEvent], None]
_consumers: dict[str, BlobConsumer] = {}


def register_consumer(container: str, consumer: BlobConsumer) -> None:
    """Features (uploads, imports) register what happens when a blob lands in their container."""
    _consumers[container] = consumer


def consumer_containers() -> list[str]:
    """The containers whose BlobCreated events some feature consumes."""
    return sorted(_consumers)


def logical_container(physical: str) -> str:
    prefix = get_settings().storage_prefix
    return physical[len(prefix) :] if prefix and physical.startswith(prefix) else physical


def handle(event: EventGridEvent) -> bool:
    """Dispatch once per event id; False when the event was handled before or has no consumer."""
    if event.event_type != BLOB_CREATED:
        return False
    consumer = _consumers.get(logical_container(event.container))
    marker = f"blob-event:{event.id}"
    if consumer is None or jobs.already_done(marker):
        return False
    try:
        consumer(event)
    except ScanPendingError as pending:
        # The same event comes back once the scan result may be there; not marked done.
        queue_client(EVENT_QUEUE).send_message(
            json.dumps(event.to_wire()).encode(), visibility_timeout=pending.retry_after
        )
        return False
    jobs.mark_done(marker)
    return True
