"""Deleting webcast projects and whole customer accounts: the queued jobs' steps
(decisions 0047 and 0050)."""

import json
import logging

import azure.functions as func

from shared.deletions import accounts, service
from shared.deletions.models import DeletionKind, DeletionMessage

blueprint = func.Blueprint()
log = logging.getLogger("webcast.triggers.deletions")
# The host moves a message to the poison queue after this many deliveries (host.json default).
MAX_DEQUEUE_COUNT = 5


@blueprint.function_name("webcast_deletion")
@blueprint.queue_trigger(
    arg_name="message", queue_name=service.QUEUE, connection="AzureWebJobsStorage"
)
def webcast_deletion(message: func.QueueMessage) -> None:
    step = DeletionMessage.model_validate(json.loads(message.get_body()))
    final = (message.dequeue_count or 1) >= MAX_DEQUEUE_COUNT
    if step.kind == DeletionKind.account:
        did = accounts.run(message=step, final_attempt=final)
    else:
        did = service.run(message=step, final_attempt=final)
    log.info("deletion %s: %s", step.job_id, "step done" if did else "nothing due")
