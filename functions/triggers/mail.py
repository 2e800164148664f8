"""Queue trigger: send queued mails (idempotent per job)."""

import json
import logging

import azure.functions as func

from shared.mail import service
from shared.mail.models import MailJob

blueprint = func.Blueprint()
log = logging.getLogger("webcast.triggers.mail")


@blueprint.function_name("send_mail")
@blueprint.queue_trigger(arg_name="message", queue_name="mail", connection="AzureWebJobsStorage")
def send_mail(message: func.QueueMessage) -> None:
    job = MailJob.model_validate(json.loads(message.get_body()))
    sent = service.handle(job)
    log.info("mail job %s (%s): %s", job.idempotency_key, job.kind, "sent" if sent else "skipped")
