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


class EventDroppedError(Exception):
    """The consumer dropped the event for good (its webcast is gone): nothing is marked, so
    that nothing of that webcast is written after its deletion."""


def logical_container(physical: str) -> str:
    prefix = get_settings().storage_prefix
    return physical[len(prefix) :] if prefix and physical.startswith(prefix) else physical


def webcast_of_blob(blob_name: str) -> tuple[str, str] | None:
    """Tenant and webcast of a blob named `{tenant}/{webcast}/...`, the layout of every
    catalogued container; None for any other name."""
    parts = blob_name.split("/")
    if len(parts) < 3 or not parts[0] or not parts[1]:
        return None
    return parts[0], parts[1]


def handle(event: EventGridEvent, consumers: Mapping[str, BlobConsumer]) -> bool:
    """Dispatch once per event id to `consumers[container]`; False when the event was handled
    before, its container has no consumer or the consumer dropped it."""
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
    except EventDroppedError:
        return False
    owner = webcast_of_blob(event.blob_name)
    jobs.mark_done(marker, webcast_id=owner[1] if owner else None)
    return True
