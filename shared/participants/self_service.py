"""A participant's own privacy page (P23): the mailed privacy link opens a short privacy
grant; there the person withdraws consents and asks for their erasure, confirmed by a fresh
link mailed to their address."""

from dataclasses import dataclass

from shared.audit import operations
from shared.audit.models import RequestContext
from shared.auth import throttle
from shared.auth.tokens import mint, participant_owner, spend, usable
from shared.clock import now, utc_iso
from shared.config import get_settings
from shared.errors import conflict, forbidden, validation_error
from shared.mail_queue import JobKind, MailJob, enqueue_job
from shared.participants import sessions
from shared.participants.access import participant_actor
from shared.participants.models import FieldType, FormField, Participant, ParticipantSession
from shared.participants.repository import get_form, participants
from shared.webcasts.service import viewer_webcast

PRIVACY = "participant_privacy"
ERASURE = "participant_erasure"
# At most one erasure mail per participant in this many seconds (one idempotency key per slot).
ERASURE_SLOT_SECONDS = 300
_INVALID = "is invalid, expired or used already"


def issue_privacy_token(*, participant: Participant) -> str:
    """The long-lived token of the privacy link every participant mail carries."""
    return mint(
        purpose=PRIVACY,
        tenant_id=participant.tenant_id,
        owner=participant_owner(webcast_id=participant.webcast_id, participant_id=participant.id),
        lifetime=get_settings().participant_privacy_link_seconds,
    )


def open_privacy(
    *, webcast_id: str, token: str, current_token: str | None, context: RequestContext
) -> sessions.IssuedViewerSession:
    """Exchange the mailed privacy token for a short privacy grant in the viewer session; the
    token stays usable (it sits in every mail the person got) until it expires."""
    viewer_webcast(webcast_id, cached=False)
    stored = usable(token, purposes=(PRIVACY,), owner_prefix=f"{webcast_id}/")
    participant = stored and participants.get(
        tenant_id=stored.tenant_id,
        partition_key=webcast_id,
        item_id=stored.account_id.split("/", 1)[1],
    )
    if not participant:
        raise validation_error("token", _INVALID)
    issued = sessions.grant_privacy(
        current_token=current_token, webcast_id=webcast_id, participant_id=participant.id
    )
    operations.record_event(
        tenant_id=participant.tenant_id,
        actor=participant_actor(participant.id),
        action="participant.privacy_open",
        entity_type="participant",
        entity_id=participant.id,
        context=context,
    )
    return issued


def privacy_participant(session: ParticipantSession | None, webcast_id: str) -> Participant:
    """The participant whose privacy grant the session holds for the webcast; 403 without."""
    webcast = viewer_webcast(webcast_id, cached=False)
    participant_id = sessions.privacy_participant(session, webcast_id)
    participant = participant_id and participants.get(
        tenant_id=webcast.tenant_id, partition_key=webcast.id, item_id=participant_id
    )
    if not participant:
        raise forbidden("Open this page by the privacy link in a mail about the webcast")
    return participant


def consent_fields(participant: Participant) -> dict[str, FormField]:
    """The webcast's consent fields by id, removed ones too (consents given to them stay)."""
    form = get_form(tenant_id=participant.tenant_id, webcast_id=participant.webcast_id)
    return {field.id: field for field in form.fields if field.type == FieldType.consent}


@dataclass(frozen=True)
class Withdrawal:
    """What withdrawing one consent means: a required one ends the participation."""

    field: FormField
    ends_participation: bool


def withdrawal(participant: Participant, field_id: str) -> Withdrawal:
    """The consent the person withdraws, given and not withdrawn yet (else 422 on `field_id`)."""
    field = consent_fields(participant).get(field_id)
    given = [c for c in participant.consents if c.field_id == field_id and c.withdrawn_at is None]
    if field is None or not given:
        raise validation_error("field_id", "names no consent given for this webcast")
    return Withdrawal(field=field, ends_participation=field.required)


def withdraw_optional(
    participant: Participant, field_id: str, context: RequestContext
) -> Participant:
    """Record the withdrawal of a consent the webcast does not need: `withdrawn_at` is set,
    the answer is no longer yes, and every export and use reads it so from now on."""
    moment = utc_iso()
    for consent in participant.consents:
        if consent.field_id == field_id and consent.withdrawn_at is None:
            consent.withdrawn_at = moment
    participant.answers = {**participant.answers, field_id: False}
    participant.updated_at = moment
    stored = participants.replace(tenant_id=participant.tenant_id, item=participant)
    operations.record_write(
        tenant_id=participant.tenant_id,
        actor=participant_actor(participant.id),
        action="participant.consent_withdraw",
        entity_type="participant",
        entity_id=participant.id,
        changed_fields=["consents", f"answers.{field_id}"],
        context=context,
    )
    return stored


def request_erasure(participant: Participant, context: RequestContext) -> None:
    """Mail a fresh link that confirms the erasure to the participant's address (at most one
    per address in a few minutes); 409 for a participant without an address."""
    if not participant.email:
        raise conflict("There is no e-mail address to confirm the erasure by", "email")
    allowed = throttle.allow_mail(
        kind=f"{JobKind.participant_erasure}:{participant.webcast_id}",
        address=participant.email,
        client_ip=context.client_ip,
    )
    operations.record_event(
        tenant_id=participant.tenant_id,
        actor=participant_actor(participant.id),
        action="participant.erasure_request",
        entity_type="participant",
        entity_id=participant.id,
        outcome="success" if allowed else "throttled",
        context=context,
    )
    if not allowed:
        return
    slot = int(now() // ERASURE_SLOT_SECONDS)
    enqueue_job(
        MailJob(
            kind=JobKind.participant_erasure,
            tenant_id=participant.tenant_id,
            webcast_id=participant.webcast_id,
            participant_id=participant.id,
            idempotency_key=f"participant-erasure:{participant.id}:{slot}",
        )
    )


def issue_erasure_token(*, participant: Participant) -> str:
    """Called by the mail worker: the raw token exists only in the mail it sends."""
    return mint(
        purpose=ERASURE,
        tenant_id=participant.tenant_id,
        owner=participant_owner(webcast_id=participant.webcast_id, participant_id=participant.id),
        lifetime=get_settings().participant_erasure_link_seconds,
    )


def spend_erasure_token(*, webcast_id: str, token: str) -> Participant:
    """The participant whose mailed erasure link this is, the link spent now; else 422 on
    `token`. The link alone suffices: it was asked for under a privacy grant and proves the
    mailbox now, in whichever browser the mail is opened."""
    viewer_webcast(webcast_id, cached=False)
    stored = usable(token, purposes=(ERASURE,), owner_prefix=f"{webcast_id}/")
    participant = stored and participants.get(
        tenant_id=stored.tenant_id,
        partition_key=webcast_id,
        item_id=stored.account_id.split("/", 1)[1],
        include_blocked=True,
    )
    if not stored or not participant or not spend(stored):
        raise validation_error("token", _INVALID)
    return participant
