"""How viewers get into a webcast: public, registration, login, personal link (P12-P14)."""

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from shared.audit import operations
from shared.audit.models import Actor, ActorKind, RequestContext
from shared.auth import throttle
from shared.auth.passwords import verify_password
from shared.auth.tokens import mint, participant_owner, spend, usable
from shared.clock import now, utc_iso
from shared.config import get_settings
from shared.errors import forbidden, unauthorized, validation_error
from shared.mail_queue import JobKind, MailJob, enqueue_participant_mail
from shared.participants import links, sessions
from shared.participants.models import (
    FormField,
    Participant,
    ParticipantInput,
    ParticipantSession,
    ParticipantStatus,
)
from shared.participants.repository import get_form, participants
from shared.participants.service import confirm_address, participant_by_login, register_self
from shared.webcasts.models import AccessMode, Modules, PrivacySwitches, Schedule, Webcast
from shared.webcasts.service import find_public, viewer_webcast

LINK = "participant_link"
WRONG_CREDENTIALS = "User name or password is wrong"


class PublicWebcast(BaseModel):
    """What anyone may see of a webcast before entering it."""

    id: str
    title: str
    description: str
    language: str  # the default among `languages`
    languages: list[str]
    schedule: Schedule | None  # times in UTC offsets, shown in its `time_zone`
    access_mode: AccessMode
    registration_fields: list[FormField]
    # What the page shows, and what it tells the viewer about the use of their data.
    modules: Modules
    privacy: PrivacySwitches
    # How often a page asks for the feed, the polls and the downloads.
    refresh_seconds: int


class ViewerSessionState(BaseModel):
    """What a reloaded page needs: whether this browser takes part in the webcast, and the
    CSRF token its session's writes need (none without a session)."""

    webcast_id: str
    granted: bool
    participant_id: str | None
    embedded: bool
    csrf_token: str | None


def participant_actor(participant_id: str | None) -> Actor:
    return Actor(kind=ActorKind.participant, id=participant_id, role="participant")


def public_view(webcast_id: str) -> PublicWebcast:
    webcast = viewer_webcast(webcast_id, cached=False)
    fields: list[FormField] = []
    if webcast.access_mode == AccessMode.registration:
        form = get_form(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
        # Patterns are RE2 and checked by the server only: a browser's engine reads them
        # differently and backtracks (decision 0028).
        fields = [f.model_copy(update={"pattern": None}) for f in form.fields if not f.removed]
    return PublicWebcast(
        id=webcast.id,
        title=webcast.title,
        description=webcast.description,
        language=webcast.language.value,
        languages=[language.value for language in webcast.languages],
        schedule=webcast.schedule,
        access_mode=webcast.access_mode,
        registration_fields=fields,
        modules=webcast.modules,
        privacy=webcast.privacy,
        refresh_seconds=get_settings().viewer_refresh_seconds,
    )


def enter_public(*, webcast_id: str, current_token: str | None) -> sessions.IssuedViewerSession:
    """A public webcast needs no participant data at all (P13): an anonymous grant."""
    webcast = viewer_webcast(webcast_id, cached=False)
    if webcast.access_mode != AccessMode.public:
        raise forbidden("This webcast needs registration or sign-in")
    return sessions.grant(current_token=current_token, webcast_id=webcast.id, participant_id=None)


# At most one "registered already" mail per participant in this many seconds, so repeated
# registrations for a known address cannot flood its mailbox.
REGISTERED_AGAIN_SLOT_SECONDS = 300


def _enqueue_confirmation(*, participant: Participant, registered_already: bool) -> None:
    """Queue the mail whose link confirms a self-registration's address; with
    `registered_already`, the harmless mail (registered already, a personal sign-in link) for
    a confirmed participant whose address someone registered again, at most one per slot."""
    if not participant.email:
        return
    key = f"confirmation:{participant.webcast_id}:{participant.id}"
    if registered_already:
        slot = int(now() // REGISTERED_AGAIN_SLOT_SECONDS)
        key = f"registered-again:{participant.webcast_id}:{participant.id}:{slot}"
    enqueue_participant_mail(
        MailJob(
            kind=JobKind.confirmation,
            tenant_id=participant.tenant_id,
            webcast_id=participant.webcast_id,
            participant_id=participant.id,
            idempotency_key=key,
            registered_already=registered_already,
        )
    )


@dataclass
class Registration:
    """The answer to a self-registration; the same whether the address was known or not."""

    participant_id: str | None  # set only when the webcast admits before confirmation
    issued: sessions.IssuedViewerSession | None


def register(
    *,
    webcast_id: str,
    email: str,
    username: str | None,
    answers: dict[str, Any],
    password: str | None,
    internal_key: str | None,
    current_token: str | None,
    context: RequestContext,
) -> Registration:
    """Self-registration (P10, ADR 0020): the form decides what is asked and what is
    required; a mailed link confirms the address. Whether the address was registered
    already changes only which mail the address gets, never the answer. A registration
    through the internal link (P08) carries its key, which must be the current one."""
    webcast = viewer_webcast(webcast_id, cached=False)
    if webcast.access_mode != AccessMode.registration:
        raise forbidden("This webcast has no self-registration")
    if internal_key is not None and not links.check_internal_key(
        webcast_id=webcast.id, key=internal_key
    ):
        raise validation_error("key", "is not the current key of this webcast's internal link")
    outcome = register_self(
        webcast=webcast,
        data=ParticipantInput(email=email, username=username, answers=answers, password=password),
        via_internal_link=internal_key is not None,
    )
    stored, holder = outcome.participant, outcome.registered_already
    operations.record_write(
        tenant_id=webcast.tenant_id,
        actor=participant_actor(stored.id),
        action="participant.register",
        entity_type="participant",
        entity_id=stored.id,
        changed_fields=["consents"] if stored.consents else [],
        context=context,
    )
    if holder is not None:
        operations.record_event(
            tenant_id=webcast.tenant_id,
            actor=participant_actor(None),
            action="participant.register",
            entity_type="participant",
            entity_id=holder.id,
            outcome="registered-already",
            context=context,
        )
    # Both mails share one slot per address, so neither can be triggered at will (ADR 0024).
    if stored.email and throttle.allow_mail(
        kind=f"{JobKind.confirmation}:{webcast.id}",
        address=stored.email,
        client_ip=context.client_ip,
    ):
        _enqueue_confirmation(participant=holder or stored, registered_already=holder is not None)
    if not webcast.admit_before_confirmation:
        return Registration(participant_id=None, issued=None)
    issued = sessions.grant(
        current_token=current_token, webcast_id=webcast.id, participant_id=stored.id
    )
    return Registration(participant_id=stored.id, issued=issued)


def _audit_sign_in(
    webcast: Webcast,
    participant: Participant | None,
    outcome: str,
    action: str,
    context: RequestContext,
) -> None:
    operations.record_event(
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
    webcast = viewer_webcast(webcast_id, cached=False)
    if webcast.access_mode not in (AccessMode.registration, AccessMode.login):
        raise forbidden("This webcast has no password sign-in")
    counters = throttle.keys(
        email=f"{webcast.id}:{login.strip().lower()}", client_ip=context.client_ip
    )
    throttle.attempt(counters)
    participant = participant_by_login(
        tenant_id=webcast.tenant_id, webcast_id=webcast.id, login=login
    )
    valid = verify_password(participant.password_hash if participant else None, password)
    # Unconfirmed self-registrations never sign in by password, not even where the webcast
    # admits before confirmation (the registration's own session does that): otherwise a
    # password chosen at registration would tell whether the address was free (ADR 0020).
    admitted = (
        participant is not None
        and participant.status == ParticipantStatus.active
        and participant.confirmed
    )
    if participant is None or not valid or not admitted:
        _audit_sign_in(webcast, participant, "failure", "participant.sign_in", context)
        raise unauthorized(WRONG_CREDENTIALS)
    throttle.succeeded(counters)
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
    *,
    webcast_id: str,
    token: str,
    password: str | None = None,
    current_token: str | None,
    context: RequestContext,
) -> sessions.IssuedViewerSession:
    """A personal link: single-use ones are spent on first use, all of them expire. Used to
    confirm a self-registration, it keeps the password chosen there only for whoever shows
    they chose it: the session that registered, or the password itself."""
    stored = usable(token, purposes=(LINK, f"{LINK}_reusable"), owner_prefix=f"{webcast_id}/")
    if stored is None:
        raise validation_error("token", "is invalid, expired or used already")
    participant = participants.get(
        tenant_id=stored.tenant_id,
        partition_key=webcast_id,
        item_id=stored.account_id.split("/", 1)[1],
    )
    if participant is None or participant.status != ParticipantStatus.active:
        raise validation_error("token", "is invalid, expired or used already")
    if stored.purpose == LINK and not spend(stored):
        raise validation_error("token", "is invalid, expired or used already")
    webcast = viewer_webcast(webcast_id, cached=False)
    if not participant.confirmed:
        # Links are mailed to the participant's address: using one proves it.
        registering = sessions.resolve(current_token)
        by_registrant = bool(
            registering and registering.grants.get(webcast_id) == participant.id
        ) or (password is not None and verify_password(participant.password_hash, password))
        confirmed = confirm_address(participant, by_registrant=by_registrant)
        if confirmed is None or confirmed.status != ParticipantStatus.active:
            raise validation_error("token", "is invalid, expired or used already")
        participant = confirmed
        _audit_sign_in(webcast, participant, "success", "participant.confirm", context)
    _audit_sign_in(webcast, participant, "success", "participant.sign_in_link", context)
    return sessions.grant(
        current_token=current_token, webcast_id=webcast_id, participant_id=participant.id
    )


def _grant(session: ParticipantSession | None, webcast_id: str) -> tuple[bool, str | None]:
    """Whether the session holds a grant for the webcast that still stands, and its
    participant id (None for anonymous public viewers)."""
    if session is None or webcast_id not in session.grants:
        return False, None
    participant_id = session.grants[webcast_id]
    if participant_id is None and not session.embedded:
        # An anonymous grant from entering a public webcast ends when the webcast stops
        # being public; an embedded one stands on the customer server's token instead.
        webcast = find_public(webcast_id)
        if webcast is None or webcast.access_mode != AccessMode.public:
            return False, None
    return True, participant_id


def require_grant(session: ParticipantSession | None, webcast_id: str) -> str | None:
    """The participant id (None for anonymous public viewers) the session holds for the
    webcast; refuses without a grant (protected pages and APIs)."""
    granted, participant_id = _grant(session, webcast_id)
    if not granted:
        raise forbidden("Register or sign in for this webcast first")
    return participant_id


def session_state(session: ParticipantSession | None, webcast_id: str) -> ViewerSessionState:
    """The session's standing for the webcast (404 for a webcast the participant side does
    not show); a grant whose participant is gone does not count."""
    webcast = viewer_webcast(webcast_id)
    granted, participant_id = _grant(session, webcast_id)
    if granted and participant_id is not None:
        found = participants.get(
            tenant_id=webcast.tenant_id, partition_key=webcast_id, item_id=participant_id
        )
        granted = found is not None
    return ViewerSessionState(
        webcast_id=webcast_id,
        granted=granted,
        participant_id=participant_id if granted else None,
        embedded=session is not None and session.embedded,
        csrf_token=session.csrf_token if session is not None else None,
    )


def granted_participant(session: ParticipantSession | None, webcast_id: str) -> Participant | None:
    """The participant the session's grant for the webcast names (None for an anonymous
    grant); refuses without a grant, or when the participant is gone."""
    participant_id = require_grant(session, webcast_id)
    if participant_id is None:
        return None
    webcast = viewer_webcast(webcast_id, cached=False)
    participant = participants.get(
        tenant_id=webcast.tenant_id, partition_key=webcast_id, item_id=participant_id
    )
    if participant is None:
        raise forbidden("Register or sign in for this webcast first")
    return participant
