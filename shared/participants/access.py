"""How viewers get into a webcast: public, registration, login, personal link (P12-P14)."""

from typing import Any

from pydantic import BaseModel

from shared.audit import service as audit
from shared.audit.models import Actor, ActorKind, RequestContext
from shared.auth import throttle
from shared.auth.passwords import verify_password
from shared.auth.tokens import mint, participant_owner, tokens
from shared.clock import now, utc_iso
from shared.config import get_settings
from shared.errors import DomainError, forbidden, not_found, unauthorized, validation_error
from shared.ids import token_hash
from shared.mail import queue as mail_queue
from shared.participants import sessions
from shared.participants.models import (
    FormField,
    Participant,
    ParticipantInput,
    ParticipantSession,
    ParticipantStatus,
)
from shared.participants.repository import find_by_login, get_form, participants
from shared.participants.service import Saved, save_participant
from shared.webcasts.models import AccessMode, Schedule, Webcast
from shared.webcasts.repository import find_webcast

LINK = "participant_link"
WRONG_CREDENTIALS = "User name or password is wrong"


class PublicWebcast(BaseModel):
    """What anyone may see of a webcast before entering it."""

    id: str
    title: str
    description: str
    language: str
    schedule: Schedule | None
    access_mode: AccessMode
    registration_fields: list[FormField]


def participant_actor(participant_id: str | None) -> Actor:
    return Actor(kind=ActorKind.participant, id=participant_id, role="participant")


def webcast_or_404(webcast_id: str) -> Webcast:
    webcast = find_webcast(webcast_id)
    if webcast is None:
        raise not_found("Webcast")
    return webcast


def public_view(webcast_id: str) -> PublicWebcast:
    webcast = webcast_or_404(webcast_id)
    fields: list[FormField] = []
    if webcast.access_mode == AccessMode.registration:
        form = get_form(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
        # Patterns are RE2 and checked by the server only: a browser's engine reads them
        # differently and backtracks (decision 0029).
        fields = [f.model_copy(update={"pattern": None}) for f in form.fields if not f.removed]
    return PublicWebcast(
        id=webcast.id,
        title=webcast.title,
        description=webcast.description,
        language=webcast.language.value,
        schedule=webcast.schedule,
        access_mode=webcast.access_mode,
        registration_fields=fields,
    )


def enter_public(*, webcast_id: str, current_token: str | None) -> sessions.IssuedViewerSession:
    """A public webcast needs no participant data at all (P13): an anonymous grant."""
    webcast = webcast_or_404(webcast_id)
    if webcast.access_mode != AccessMode.public:
        raise forbidden("This webcast needs registration or sign-in")
    return sessions.grant(current_token=current_token, webcast_id=webcast.id, participant_id=None)


def register(
    *,
    webcast_id: str,
    email: str,
    username: str | None,
    answers: dict[str, Any],
    password: str | None,
    current_token: str | None,
    context: RequestContext,
) -> tuple[sessions.IssuedViewerSession, Saved]:
    """Self-registration (P10): the form decides what is asked and what is required."""
    webcast = webcast_or_404(webcast_id)
    if webcast.access_mode != AccessMode.registration:
        raise forbidden("This webcast has no self-registration")
    if find_by_login(
        tenant_id=webcast.tenant_id,
        webcast_id=webcast.id,
        kind="email",
        value=email.strip().lower(),
    ):
        raise DomainError(
            detail="This e-mail address is registered already; sign in instead",
            status=409,
            code="conflict",
            title="Conflict",
        )
    saved = save_participant(
        webcast=webcast,
        data=ParticipantInput(email=email, username=username, answers=answers, password=password),
        source="self",
        actor=participant_actor(None),
        context=None,
        partial=False,
    )
    audit.record(
        tenant_id=webcast.tenant_id,
        actor=participant_actor(saved.participant.id),
        action="participant.register",
        entity_type="participant",
        entity_id=saved.participant.id,
        changed_fields=["consents"] if saved.participant.consents else [],
        context=context,
    )
    issued = sessions.grant(
        current_token=current_token, webcast_id=webcast.id, participant_id=saved.participant.id
    )
    mail_queue.enqueue_confirmation(
        participant=saved.participant, password_generated=bool(saved.generated_password)
    )
    return issued, saved


def _audit_sign_in(
    webcast: Webcast,
    participant: Participant | None,
    outcome: str,
    action: str,
    context: RequestContext,
) -> None:
    audit.record(
        tenant_id=webcast.tenant_id,
        actor=participant_actor(participant.id if participant else None),
        action=action,
        entity_type="participant",
        entity_id=participant.id if participant else None,
        outcome=outcome,
        context=context,
    )


def sign_in(
    *,
    webcast_id: str,
    login: str,
    password: str,
    current_token: str | None,
    context: RequestContext,
) -> sessions.IssuedViewerSession:
    """User name (or e-mail) and password against the stored participant data (P12, P14)."""
    webcast = webcast_or_404(webcast_id)
    if webcast.access_mode not in (AccessMode.registration, AccessMode.login):
        raise forbidden("This webcast has no password sign-in")
    counters = throttle.keys(
        email=f"{webcast.id}:{login.strip().lower()}", client_ip=context.client_ip
    )
    throttle.check(counters)
    kind = "email" if "@" in login else "username"
    participant = find_by_login(
        tenant_id=webcast.tenant_id, webcast_id=webcast.id, kind=kind, value=login.strip()
    )
    valid = verify_password(participant.password_hash if participant else None, password)
    if participant is None or not valid or participant.status != ParticipantStatus.active:
        throttle.fail(counters)
        _audit_sign_in(webcast, participant, "failure", "participant.sign_in", context)
        raise unauthorized(WRONG_CREDENTIALS)
    throttle.clear_account(counters)
    participant.last_sign_in_at = utc_iso()
    participants.replace(tenant_id=webcast.tenant_id, item=participant)
    _audit_sign_in(webcast, participant, "success", "participant.sign_in", context)
    return sessions.grant(
        current_token=current_token, webcast_id=webcast.id, participant_id=participant.id
    )


def issue_link(*, participant: Participant, single_use: bool, lifetime: int | None = None) -> str:
    """A personal sign-in link token (invitations, customer servers); stored as a hash."""
    return mint(
        purpose=LINK if single_use else f"{LINK}_reusable",
        tenant_id=participant.tenant_id,
        owner=participant_owner(webcast_id=participant.webcast_id, participant_id=participant.id),
        lifetime=lifetime or get_settings().participant_link_seconds,
    )


def sign_in_with_link(
    *, webcast_id: str, token: str, current_token: str | None, context: RequestContext
) -> sessions.IssuedViewerSession:
    """A personal link: single-use ones are spent on first use, all of them expire."""
    stored = tokens.get(token_hash(token)) if token else None
    valid = (
        stored is not None
        and stored.purpose in (LINK, f"{LINK}_reusable")
        and stored.used_at is None
        and stored.expires_at > now()
        and stored.account_id.startswith(f"{webcast_id}/")
    )
    if not valid or stored is None:
        raise validation_error("token", "is invalid, expired or used already")
    participant = participants.get(
        tenant_id=stored.tenant_id,
        partition_key=webcast_id,
        item_id=stored.account_id.split("/", 1)[1],
    )
    if participant is None or participant.status != ParticipantStatus.active:
        raise validation_error("token", "is invalid, expired or used already")
    if stored.purpose == LINK:
        stored.used_at = now()
        try:
            tokens.replace(stored)
        except DomainError as error:
            raise validation_error("token", "is invalid, expired or used already") from error
    webcast = webcast_or_404(webcast_id)
    _audit_sign_in(webcast, participant, "success", "participant.sign_in_link", context)
    return sessions.grant(
        current_token=current_token, webcast_id=webcast_id, participant_id=participant.id
    )


def require_grant(session: ParticipantSession | None, webcast_id: str) -> str | None:
    """The participant id (None for anonymous public viewers) the session holds for the
    webcast; refuses without a grant (protected pages and APIs)."""
    if session is None or webcast_id not in session.grants:
        raise forbidden("Register or sign in for this webcast first")
    return session.grants[webcast_id]
