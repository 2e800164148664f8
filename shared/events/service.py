"""Route BlobCreated events to the consumer a table names for the blob's container."""

import json
from collections.abc import Callable, Mapping

from shared import jobs
from shared.clients import queue_client
from shared.config import get_settings
from shared.events.models import BLOB_CREATED, EventGridEvent
from shared.malware import ScanPendingError

EVENT_QUEUE = "blob-events"

BlobConsumer = Callable[[EventGridEvent], None]


def logical_container(physical: str) -> str:
    prefix = get_settings().storage_prefix
    return physical[len(prefix) :] if prefix and physical.startswith(prefix) else physical


def handle(event: EventGridEvent, consumers: Mapping[str, BlobConsumer]) -> bool:
    """Dispatch once per event id to `consumers[container]`; False when the event was handled
    before or its container has no consumer."""
    if event.event_type != BLOB_CREATED:
        return False
    consumer = consumers.get(logical_container(event.container))
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
