"""Queue trigger: send queued mails (idempotent per job); timer: plan reminders before starts."""

import json
import logging

import azure.functions as func

from shared.mail import reminders, service
from shared.mail_queue import MailJob

blueprint = func.Blueprint()
log = logging.getLogger("webcast.triggers.mail")


@blueprint.function_name("send_mail")
@blueprint.queue_trigger(arg_name="message", queue_name="mail", connection="AzureWebJobsStorage")
def send_mail(message: func.QueueMessage) -> None:
    job = MailJob.model_validate(json.loads(message.get_body()))
    sent = service.handle(job)
    log.info("mail job %s (%s): %s", job.idempotency_key, job.kind, "sent" if sent else "skipped")


# At second 30, so that it does not run in the same second as the session purge.
@blueprint.function_name("plan_mail_reminders")
@blueprint.timer_trigger(arg_name="timer", schedule="30 */5 * * * *", run_on_startup=False)
def plan_mail_reminders(timer: func.TimerRequest) -> None:
    queued = reminders.schedule_due()
    log.info("queued %d reminder batches", queued)
