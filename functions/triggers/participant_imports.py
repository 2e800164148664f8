"""Participant imports: the queue-triggered worker and the expiry of kept files."""

import json
import logging

import azure.functions as func

from shared.participants.import_models import ImportMessage
from shared.participants.imports import jobs, worker

blueprint = func.Blueprint()
log = logging.getLogger("webcast.triggers.participant_imports")
# The host moves a message to the poison queue after this many deliveries (host.json default).
MAX_DEQUEUE_COUNT = 5


@blueprint.function_name("participant_import")
@blueprint.queue_trigger(
    arg_name="message", queue_name=jobs.QUEUE, connection="AzureWebJobsStorage"
)
def participant_import(message: func.QueueMessage) -> None:
    job = ImportMessage.model_validate(json.loads(message.get_body()))
    final = (message.dequeue_count or 1) >= MAX_DEQUEUE_COUNT
    ran = worker.handle_message(message=job, final_attempt=final)
    log.info("import %s run %d: %s", job.job_id, job.run, "ran" if ran else "nothing to do")


@blueprint.function_name("expire_import_files")
@blueprint.timer_trigger(arg_name="timer", schedule="0 */10 * * * *", run_on_startup=False)
def expire_import_files(timer: func.TimerRequest) -> None:
    removed = worker.expire_sources()
    log.info("removed %d import files", removed)
