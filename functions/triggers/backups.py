"""Manual backups of webcast projects (P32): the queued jobs that build a ZIP and that
restore one into a new webcast, and the hourly removal of ZIPs past their 24 hours."""

import json
import logging

import azure.functions as func

from shared.composition import backups, restores

blueprint = func.Blueprint()
log = logging.getLogger("webcast.triggers.backups")
# The host moves a message to the poison queue after this many deliveries (host.json default).
MAX_DEQUEUE_COUNT = 5


@blueprint.function_name("backup_run")
@blueprint.queue_trigger(
    arg_name="message", queue_name=backups.QUEUE, connection="AzureWebJobsStorage"
)
def backup_run(message: func.QueueMessage) -> None:
    job = backups.BackupMessage.model_validate(json.loads(message.get_body()))
    final = (message.dequeue_count or 1) >= MAX_DEQUEUE_COUNT
    built = backups.run_backup(message=job, final_attempt=final)
    log.info("backup %s: %s", job.backup_id, "built" if built else "nothing to do")


@blueprint.function_name("restore_run")
@blueprint.queue_trigger(
    arg_name="message", queue_name=restores.QUEUE, connection="AzureWebJobsStorage"
)
def restore_run(message: func.QueueMessage) -> None:
    job = restores.RestoreMessage.model_validate(json.loads(message.get_body()))
    final = (message.dequeue_count or 1) >= MAX_DEQUEUE_COUNT
    restored = restores.run_restore(message=job, final_attempt=final)
    log.info("restore %s: %s", job.restore_id, "restored" if restored else "not restored")


@blueprint.function_name("expire_backups")
@blueprint.timer_trigger(arg_name="timer", schedule="0 20 * * * *", run_on_startup=False)
def expire_backups(timer: func.TimerRequest) -> None:
    removed = backups.expire_backups()
    expired = restores.expire_uploads()
    if removed or expired:
        log.info("removed %d backups and %d restore uploads past 24 hours", removed, expired)
