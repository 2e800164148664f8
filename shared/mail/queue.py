"""Hand mail jobs to the mail queue."""

import logging

from azure.core.exceptions import AzureError

from shared.clients import queue_client
from shared.mail.models import JobKind, MailJob
from shared.participants.models import Participant

log = logging.getLogger("webcast.mail")


def enqueue_job(job: MailJob) -> None:
    """Queue one job (the message holds ids and options only)."""
    queue_client("mail").send_message(job.model_dump_json(exclude_defaults=True).encode())


def enqueue(*, kind: str, tenant_id: str, account_id: str, idempotency_key: str) -> None:
    """Queue an admin account's mail (password reset)."""
    enqueue_job(
        MailJob(
            kind=kind, tenant_id=tenant_id, account_id=account_id, idempotency_key=idempotency_key
        )
    )


def enqueue_confirmation(*, participant: Participant, password_generated: bool) -> None:
    """Queue the confirmation after a self-registration; a queue outage does not undo it."""
    if not participant.email:
        return
    job = MailJob(
        kind=JobKind.confirmation,
        tenant_id=participant.tenant_id,
        webcast_id=participant.webcast_id,
        participant_id=participant.id,
        idempotency_key=f"confirmation:{participant.webcast_id}:{participant.id}",
        password_generated=password_generated,
    )
    try:
        enqueue_job(job)
    except AzureError:
        log.exception("could not queue the confirmation of participant %s", participant.id)
