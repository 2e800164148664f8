"""Media: uploaded video sources (BlobCreated) and the transcode worker's results."""

import logging

import azure.functions as func

from shared.events import service as blob_events
from shared.media import service
from shared.media.models import RESULTS_QUEUE, UPLOADS, MediaResult

blueprint = func.Blueprint()
log = logging.getLogger("webcast.triggers.media")

blob_events.register_consumer(UPLOADS, service.on_upload_created)


@blueprint.function_name("media_result")
@blueprint.queue_trigger(
    arg_name="message", queue_name=RESULTS_QUEUE, connection="AzureWebJobsStorage"
)
def media_result(message: func.QueueMessage) -> None:
    result = MediaResult.model_validate_json(message.get_body())
    applied = service.apply_result(result)
    log.info("asset %s %s: %s", result.asset_id, result.outcome, "applied" if applied else "stale")
