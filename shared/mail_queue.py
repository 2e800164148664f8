"""The mail queue: what a mail job is and how one is queued. Below every feature, so that the
features a mail is about can ask for one while the mail feature reads them to write it."""

import logging
from enum import StrEnum

from azure.core.exceptions import AzureError
from pydantic import BaseModel, ConfigDict

from shared.clients import queue_client

log = logging.getLogger("webcast.mail")


class JobKind(StrEnum):
    """What a queued mail job does; the batch kinds fan out into one job per participant."""

    password_reset = "password_reset"  # noqa: S105 - a mail kind's name (admin accounts)
    invitation = "participant_invitation"
    confirmation = "participant_confirmation"
    reminder = "participant_reminder"
    participant_password_reset = "participant_password_reset"  # noqa: S105 - a kind's name
    invitation_batch = "invitation_batch"
    reminder_batch = "reminder_batch"
    retention_notice = "retention_notice"  # to the owner: the webcast's retention ends
    participant_erasure = "participant_erasure"  # the link that confirms one's own erasure


class MailJob(BaseModel):
    """A queue message: ids and options, never an address, a name or a secret (ADR 0007)."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    tenant_id: str
    account_id: str | None = None
    webcast_id: str | None = None
    participant_id: str | None = None
    idempotency_key: str
    batch_id: str | None = None  # the invitation a participant's job belongs to
    single_use: bool = True  # of the personal sign-in link
    link_seconds: int | None = None  # its lifetime; None: participant_link_seconds
    reminder_lead: int | None = None  # seconds before the start
    starts_at: str | None = None  # the start a reminder was planned for (ISO 8601)
    registered_already: bool = False  # confirmation: the address was registered before
    deletes_at: str | None = None  # retention notice: the deletion date it announces


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


def enqueue_participant_mail(job: MailJob) -> None:
    """Queue a participant's mail; a queue outage does not undo what the request did."""
    try:
        enqueue_job(job)
    except AzureError:
        log.exception("could not queue a %s mail of participant %s", job.kind, job.participant_id)
