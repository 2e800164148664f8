"""Hand mail jobs to the mail queue."""

import logging

from azure.core.exceptions import AzureError

from shared.clients import queue_client
from shared.clock import now
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


# At most one "registered already" mail per participant in this many seconds, so repeated
# registrations for a known address cannot flood its mailbox.
REGISTERED_AGAIN_SLOT_SECONDS = 300


def _enqueue_participant_mail(job: MailJob) -> None:
    """Queue a participant's mail; a queue outage does not undo what the request did."""
    try:
        enqueue_job(job)
    except AzureError:
        log.exception("could not queue a %s mail of participant %s", job.kind, job.participant_id)


def enqueue_confirmation(*, participant: Participant, registered_already: bool = False) -> None:
    """Queue the mail whose link confirms a self-registration's address; with
    `registered_already`, the harmless mail (registered already, a personal sign-in link) for
    a confirmed participant whose address someone registered again, at most one per slot."""
    if not participant.email:
        return
    key = f"confirmation:{participant.webcast_id}:{participant.id}"
    if registered_already:
        slot = int(now() // REGISTERED_AGAIN_SLOT_SECONDS)
        key = f"registered-again:{participant.webcast_id}:{participant.id}:{slot}"
    _enqueue_participant_mail(
        MailJob(
            kind=JobKind.confirmation,
            tenant_id=participant.tenant_id,
            webcast_id=participant.webcast_id,
            participant_id=participant.id,
            idempotency_key=key,
            registered_already=registered_already,
        )
    )
