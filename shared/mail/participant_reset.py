"""Participants set a new password by mail; the request never tells whether the login exists."""

from shared.audit import operations
from shared.audit.models import RequestContext
from shared.auth import throttle
from shared.auth.passwords import check_policy, hash_password
from shared.auth.tokens import mint, participant_owner, tokens
from shared.clock import now, utc_iso
from shared.config import get_settings
from shared.errors import DomainError, validation_error
from shared.ids import token_hash
from shared.mail.models import JobKind, MailJob
from shared.mail.queue import enqueue_job
from shared.participants import sessions
from shared.participants.access import participant_actor, webcast_or_404
from shared.participants.models import Participant, ParticipantStatus
from shared.participants.repository import find_by_login, participants
from shared.participants.service import PARTICIPANT_PASSWORD_MIN
from shared.webcasts.models import AccessMode

PURPOSE = "participant_password_reset"
# At most one reset mail per participant in this many seconds (repeated requests in the
# same slot share one idempotency key), so the form cannot be used to flood a mailbox.
REQUEST_SLOT_SECONDS = 300
_INVALID = "is invalid, expired or used already"


def request_reset(*, webcast_id: str, login: str, context: RequestContext) -> None:
    """Queue a reset mail when the login belongs to an active participant with an address."""
    webcast = webcast_or_404(webcast_id)
    participant = None
    if webcast.access_mode in (AccessMode.registration, AccessMode.login):
        participant = find_by_login(
            tenant_id=webcast.tenant_id,
            webcast_id=webcast.id,
            kind="email" if "@" in login else "username",
            value=login.strip(),
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
    stored = tokens.get(token_hash(token)) if token else None
    if (
        stored is None
        or stored.purpose != PURPOSE
        or stored.used_at is not None
        or stored.expires_at <= now()
        or not stored.account_id.startswith(f"{webcast_id}/")
    ):
        raise validation_error("token", _INVALID)
    participant = participants.get(
        tenant_id=stored.tenant_id,
        partition_key=webcast_id,
        item_id=stored.account_id.split("/", 1)[1],
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
    stored.used_at = now()
    try:
        tokens.replace(stored)
    except DomainError as error:
        raise validation_error("token", _INVALID) from error
    participant.password_hash = hash_password(new_password)
    participant.updated_at = utc_iso()
    # The reset link came by mail, so it proves the address like a confirmation link.
    participant.confirmed = True
    participants.replace(tenant_id=participant.tenant_id, item=participant)
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
