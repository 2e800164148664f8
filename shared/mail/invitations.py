"""E-mail invitations with a personal link: one queued job per participant, ids only."""

from shared.audit import operations
from shared.audit.models import RequestContext
from shared.auth.models import Permission, Principal
from shared.errors import InvalidField, invalid_fields, validation_error
from shared.ids import new_id
from shared.mail.models import InvitationQueued, InvitationRequest
from shared.mail_queue import JobKind, MailJob, enqueue_job
from shared.participants.models import ParticipantStatus
from shared.participants.service import find_participant, mailable_participants
from shared.webcasts.service import admin_webcast


def participant_job(*, batch: MailJob, participant_id: str) -> MailJob:
    """The job for one participant of an invitation batch; its key makes it once-only."""
    return MailJob(
        kind=JobKind.invitation,
        tenant_id=batch.tenant_id,
        webcast_id=batch.webcast_id,
        participant_id=participant_id,
        idempotency_key=f"invitation:{batch.batch_id}:{participant_id}",
        batch_id=batch.batch_id,
        single_use=batch.single_use,
        link_seconds=batch.link_seconds,
    )


def _check_selected(tenant_id: str, webcast_id: str, selected: list[str]) -> None:
    errors: list[InvalidField] = []
    for index, participant_id in enumerate(selected):
        participant = find_participant(
            tenant_id=tenant_id, webcast_id=webcast_id, participant_id=participant_id
        )
        reason = None
        if participant is None:
            reason = "is not a participant of this webcast"
        elif participant.status != ParticipantStatus.active:
            reason = "is disabled"
        elif not participant.email:
            reason = "has no e-mail address"
        if reason:
            errors.append(InvalidField(field=f"participant_ids.{index}", reason=reason))
    if errors:
        raise invalid_fields(errors)


def queue_invitations(
    *,
    principal: Principal,
    webcast_id: str,
    request: InvitationRequest,
    context: RequestContext,
) -> InvitationQueued:
    """Queue invitation mails for the chosen participants or for all of them."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=True)
    if request.all and request.participant_ids:
        raise validation_error("participant_ids", "must be left out when all is true")
    if not request.all and not request.participant_ids:
        raise validation_error("participant_ids", "name at least one participant or send all")
    invitation_id = new_id()
    batch = MailJob(
        kind=JobKind.invitation_batch,
        tenant_id=webcast.tenant_id,
        webcast_id=webcast.id,
        idempotency_key=f"invitations:{invitation_id}",
        batch_id=invitation_id,
        single_use=request.single_use,
        link_seconds=request.link_lifetime_seconds,
    )
    queued: int | None = None
    if request.all:
        enqueue_job(batch)
    else:
        selected = list(dict.fromkeys(request.participant_ids or []))
        _check_selected(webcast.tenant_id, webcast.id, selected)
        for participant_id in selected:
            enqueue_job(participant_job(batch=batch, participant_id=participant_id))
        queued = len(selected)
    operations.record_write(
        tenant_id=webcast.tenant_id,
        actor=principal.actor,
        action="mail.invitations.queue",
        entity_type="webcast",
        entity_id=webcast.id,
        changed_fields=sorted(request.model_fields_set),
        context=context,
    )
    return InvitationQueued(
        invitation_id=invitation_id, scope="all" if request.all else "selected", queued=queued
    )


def expand(job: MailJob) -> int:
    """The batch job of an 'all' invitation: one job per active participant with an address.

    A redelivered batch queues the same jobs again; their keys make them send nothing twice."""
    if job.webcast_id is None:
        return 0
    count = 0
    for participant in mailable_participants(tenant_id=job.tenant_id, webcast_id=job.webcast_id):
        enqueue_job(participant_job(batch=job, participant_id=participant.id))
        count += 1
    return count
