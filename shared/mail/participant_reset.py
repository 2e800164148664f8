"""Participants set a new password by mail; the request never tells whether the login exists."""

from shared.audit import operations
from shared.audit.models import RequestContext
from shared.auth import throttle
from shared.auth.passwords import check_policy
from shared.auth.tokens import mint, participant_owner, spend, usable
from shared.clock import now
from shared.config import get_settings
from shared.errors import validation_error
from shared.mail_queue import JobKind, MailJob, enqueue_job
from shared.participants import sessions
from shared.participants.access import participant_actor
from shared.participants.models import Participant, ParticipantStatus
from shared.participants.service import (
    PARTICIPANT_PASSWORD_MIN,
    find_participant,
    participant_by_login,
    set_password_by_mail,
)
from shared.webcasts.models import AccessMode
from shared.webcasts.service import viewer_webcast

PURPOSE = "participant_password_reset"
# At most one reset mail per participant in this many seconds (repeated requests in the
# same slot share one idempotency key), so the form cannot be used to flood a mailbox.
REQUEST_SLOT_SECONDS = 300
_INVALID = "is invalid, expired or used already"


def request_reset(*, webcast_id: str, login: str, context: RequestContext) -> None:
    """Queue a reset mail when the login belongs to an active participant with an address."""
    webcast = viewer_webcast(webcast_id, cached=False)
    participant = None
    if webcast.access_mode in (AccessMode.registration, AccessMode.login):
        participant = participant_by_login(
            tenant_id=webcast.tenant_id, webcast_id=webcast.id, login=login
        )
    usable = (
        participant is not None
        and participant.status == ParticipantStatus.active
        and bool(participant.email)
    )
    allowed = (
        usable
        and participant is not None
        and throttle.allow_mail(
            kind=f"{JobKind.participant_password_reset}:{webcast.id}",
            address=participant.email or "",
            client_ip=context.client_ip,
        )
    )
    operations.record_event(
        tenant_id=webcast.tenant_id,
        actor=participant_actor(participant.id if usable and participant else None),
        action="participant.password_reset.request",
        entity_type="participant",
        entity_id=participant.id if usable and participant else None,
        outcome=("success" if allowed else "throttled") if usable else "unknown",
        context=context,
    )
    if not allowed or participant is None:
        return
    slot = int(now() // REQUEST_SLOT_SECONDS)
    enqueue_job(
        MailJob(
            kind=JobKind.participant_password_reset,
            tenant_id=webcast.tenant_id,
            webcast_id=webcast.id,
            participant_id=participant.id,
            idempotency_key=f"participant-reset:{participant.id}:{slot}",
        )
    )


def issue_token(*, participant: Participant) -> str:
    """Called by the mail worker: the raw token exists only in the mail it sends."""
    return mint(
        purpose=PURPOSE,
        tenant_id=participant.tenant_id,
        owner=participant_owner(webcast_id=participant.webcast_id, participant_id=participant.id),
        lifetime=get_settings().password_reset_seconds,
    )


def confirm_reset(
    *, webcast_id: str, token: str, new_password: str, context: RequestContext
) -> None:
    """Set the new password from a mailed token; the participant's sessions lose their grants."""
    viewer_webcast(webcast_id, cached=False)  # 404 once the webcast is deleted or being deleted
    stored = usable(token, purposes=(PURPOSE,), owner_prefix=f"{webcast_id}/")
    if stored is None:
        raise validation_error("token", _INVALID)
    participant = find_participant(
        tenant_id=stored.tenant_id,
        webcast_id=webcast_id,
        participant_id=stored.account_id.split("/", 1)[1],
    )
    if participant is None or participant.status != ParticipantStatus.active:
        raise validation_error("token", _INVALID)
    check_policy(
        new_password,
        field="new_password",
        min_length=PARTICIPANT_PASSWORD_MIN,
        context=(
            participant.name,
            participant.username or "",
            (participant.email or "").split("@")[0],
        ),
    )
    if not spend(stored):
        raise validation_error("token", _INVALID)
    participant = set_password_by_mail(participant, new_password=new_password)
    sessions.revoke_participant(participant.id)
    operations.record_write(
        tenant_id=participant.tenant_id,
        actor=participant_actor(participant.id),
        action="participant.password_reset.confirm",
        entity_type="participant",
        entity_id=participant.id,
        changed_fields=["password"],
        context=context,
    )
