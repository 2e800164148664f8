"""The participant's own privacy page (P23): see and download one's data of the webcast,
withdraw consents, and erase oneself, confirmed by a freshly mailed link.

The exports and erasures are every store's (`subject_requests`), so this lives here."""

from typing import Any

from pydantic import BaseModel

from shared.accounts.models import PublicController
from shared.accounts.service import public_controller
from shared.audit.models import RequestContext
from shared.composition.subject_requests import (
    PersonExport,
    audit_request,
    erase_records,
    export_records,
)
from shared.participants import self_service
from shared.participants.access import participant_actor
from shared.participants.models import Participant, ParticipantSession
from shared.participants.service import registration_form
from shared.webcasts.service import viewer_webcast

FOUND_BY = "privacy_link"


class OwnAnswer(BaseModel):
    field_id: str
    label: str
    value: Any


class OwnConsent(BaseModel):
    field_id: str
    text: str  # as the person saw it when consenting
    given_at: str
    withdrawn_at: str | None
    # Withdrawing a consent the webcast requires for taking part erases the person.
    ends_participation: bool


class OwnData(BaseModel):
    """What the privacy page shows: the person's record and how much each store holds."""

    webcast_id: str
    webcast_title: str
    participant_id: str
    email: str | None
    username: str | None
    name: str
    created_at: str
    answers: list[OwnAnswer]
    consents: list[OwnConsent]
    held: dict[str, int]  # records per store, as the download holds them
    controller: PublicController | None
    privacy_expires_at: float  # the privacy grant's end (seconds since the epoch)


class OwnErasure(BaseModel):
    erased: dict[str, int]


class OwnWithdrawal(BaseModel):
    field_id: str
    # True when the consent was required for taking part: the person was erased with it.
    erased: bool


def _expires_at(session: ParticipantSession | None, webcast_id: str) -> float:
    grant = session.privacy.get(webcast_id) if session else None
    return grant.expires_at if grant else 0.0


def my_data(*, session: ParticipantSession | None, webcast_id: str) -> OwnData:
    participant = self_service.privacy_participant(session, webcast_id)
    webcast = viewer_webcast(webcast_id, cached=False)
    form = registration_form(tenant_id=participant.tenant_id, webcast_id=webcast_id)
    labels = {field.id: field.label for field in form.fields}
    consents = self_service.consent_fields(participant)
    exported = export_records(participant.tenant_id, FOUND_BY, [participant])
    return OwnData(
        webcast_id=webcast_id,
        webcast_title=webcast.title,
        participant_id=participant.id,
        email=participant.email,
        username=participant.username,
        name=participant.name,
        created_at=participant.created_at,
        answers=[
            OwnAnswer(field_id=key, label=labels.get(key, key), value=value)
            for key, value in participant.answers.items()
            if key not in consents
        ],
        consents=[
            OwnConsent(
                field_id=consent.field_id,
                text=consent.text,
                given_at=consent.given_at,
                withdrawn_at=consent.withdrawn_at,
                ends_participation=bool(
                    consents.get(consent.field_id) and consents[consent.field_id].required
                ),
            )
            for consent in participant.consents
        ],
        held=exported.counts,
        controller=public_controller(participant.tenant_id),
        privacy_expires_at=_expires_at(session, webcast_id),
    )


def my_export(
    *, session: ParticipantSession | None, webcast_id: str, context: RequestContext
) -> PersonExport:
    """The person's data of this webcast as the controller's export gives it (one record)."""
    participant = self_service.privacy_participant(session, webcast_id)
    exported = export_records(participant.tenant_id, FOUND_BY, [participant])
    audit_request(
        tenant_id=participant.tenant_id,
        actor=participant_actor(participant.id),
        action="subject.export",
        found=[participant],
        counts=exported.counts,
        context=context,
    )
    return exported


def _erase(participant: Participant, context: RequestContext) -> dict[str, int]:
    """Erase the record with everything tied to it; its removal takes the privacy grant out
    of every session, as it does the viewing grants."""
    erased = erase_records([participant])
    audit_request(
        tenant_id=participant.tenant_id,
        actor=participant_actor(participant.id),
        action="subject.erase",
        found=[participant],
        counts=erased,
        context=context,
    )
    return erased


def withdraw_consent(
    *,
    session: ParticipantSession | None,
    webcast_id: str,
    field_id: str,
    context: RequestContext,
) -> OwnWithdrawal:
    """Withdraw one consent: an optional one is marked withdrawn and its use stops; one the
    webcast requires for taking part ends the participation, so the person is erased."""
    participant = self_service.privacy_participant(session, webcast_id)
    withdrawal = self_service.withdrawal(participant, field_id)
    if withdrawal.ends_participation:
        _erase(participant, context)
        return OwnWithdrawal(field_id=field_id, erased=True)
    self_service.withdraw_optional(participant, field_id, context)
    return OwnWithdrawal(field_id=field_id, erased=False)


def request_erasure(
    *, session: ParticipantSession | None, webcast_id: str, context: RequestContext
) -> None:
    """Mail the link that confirms the erasure (the privacy link alone may sit in an old,
    forwarded mail: an erasure needs the mailbox now)."""
    participant = self_service.privacy_participant(session, webcast_id)
    self_service.request_erasure(participant, context)


def confirm_erasure(*, webcast_id: str, token: str, context: RequestContext) -> OwnErasure:
    """Erase the person's record of the webcast and everything tied to it, by the mailed link."""
    participant = self_service.spend_erasure_token(webcast_id=webcast_id, token=token)
    return OwnErasure(erased=_erase(participant, context))
