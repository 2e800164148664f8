"""Queue trigger: Event Grid BlobCreated events (Event Grid -> Storage queue)."""

import json
import logging

import azure.functions as func

from shared.composition import blob_consumers
from shared.events import service
from shared.events.models import EventGridEvent

blueprint = func.Blueprint()
log = logging.getLogger("webcast.triggers.blob_events")


@blueprint.function_name("blob_created")
@blueprint.queue_trigger(
    arg_name="message", queue_name="blob-events", connection="AzureWebJobsStorage"
)
def blob_created(message: func.QueueMessage) -> None:
    payload = json.loads(message.get_body())
    # Event Grid may deliver a single event or a batch (array) into the queue.
    for raw in payload if isinstance(payload, list) else [payload]:
        event = EventGridEvent.model_validate(raw)
        handled = service.handle(event, blob_consumers.BLOB_CONSUMERS)
        log.info(
            "blob event %s for %s: %s", event.id, event.subject, "handled" if handled else "skipped"
        )
