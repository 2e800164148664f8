"""Media: the transcode worker's results."""

import logging

import azure.functions as func

from shared.media import service
from shared.media.models import RESULTS_QUEUE, MediaResult

blueprint = func.Blueprint()
log = logging.getLogger("webcast.triggers.media")


@blueprint.function_name("media_result")
@blueprint.queue_trigger(
    arg_name="message", queue_name=RESULTS_QUEUE, connection="AzureWebJobsStorage"
)
def media_result(message: func.QueueMessage) -> None:
    result = MediaResult.model_validate_json(message.get_body())
    applied = service.apply_result(result)
    log.info("asset %s %s: %s", result.asset_id, result.outcome, "applied" if applied else "stale")
