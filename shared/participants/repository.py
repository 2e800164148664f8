"""Participants and their import jobs live in their webcast's partition; forms in the tenant's
webcast partition."""

from shared.cosmos.repository import KeyedRepository, TenantRepository
from shared.ids import lookup_hash
from shared.participants.import_models import ImportJob
from shared.participants.models import (
    LinkSettings,
    Participant,
    ParticipantLogin,
    ParticipantSession,
    RegistrationForm,
)

EXTERNAL = "external"

participants = TenantRepository(
    container="participants", model=Participant, partition_field="webcast_id"
)
logins = TenantRepository(
    container="participants", model=ParticipantLogin, partition_field="webcast_id"
)
forms = TenantRepository(container="webcasts", model=RegistrationForm)
import_jobs = TenantRepository(
    container="participants", model=ImportJob, partition_field="webcast_id"
)
# Viewer sessions share the sessions container with admin sessions; ids never meet (hashes).
participant_sessions = KeyedRepository(container="sessions", model=ParticipantSession)
link_settings = TenantRepository(container="webcasts", model=LinkSettings)


def login_value(kind: str, value: str) -> str:
    """A login as its keys compare it: e-mail addresses and user names in lower case."""
    # External identities (an embed token's `sub`) keep their case: the customer's system
    # decides what is equal.
    return value if kind == EXTERNAL else value.lower()


def logins_of(participant: Participant) -> list[tuple[str, str]]:
    """The participant's logins by kind: e-mail address, user name, external identity."""
    found = [
        ("email", participant.email),
        ("username", participant.username),
        (EXTERNAL, participant.external_id),
    ]
    return [(kind, value) for kind, value in found if value]


def login_id(*, webcast_id: str, kind: str, value: str) -> str:
    """The id of the document that makes an e-mail address, a user name or an external
    identity unique per webcast; each kind is its own key space."""
    key = login_value(kind, value)
    return f"login:{kind}:{lookup_hash(f'participant-{kind}', f'{webcast_id}:{key}')}"


def person_key(*, tenant_id: str, kind: str, value: str) -> str:
    """The same login of one person across the tenant's webcasts: a keyed hash of tenant and
    value, which every login key carries so that a data-subject request finds them all."""
    return lookup_hash(f"person-{kind}", f"{tenant_id}:{login_value(kind, value)}")


def login_key(*, participant: Participant, kind: str, value: str) -> ParticipantLogin:
    """The document that makes `value` the participant's login of `kind`."""
    return ParticipantLogin(
        id=login_id(webcast_id=participant.webcast_id, kind=kind, value=value),
        tenant_id=participant.tenant_id,
        webcast_id=participant.webcast_id,
        participant_id=participant.id,
        person=person_key(tenant_id=participant.tenant_id, kind=kind, value=value),
    )


def find_by_login(*, tenant_id: str, webcast_id: str, kind: str, value: str) -> Participant | None:
    key = logins.get(
        tenant_id=tenant_id,
        partition_key=webcast_id,
        item_id=login_id(webcast_id=webcast_id, kind=kind, value=value),
    )
    if key is None:
        return None
    return participants.get(
        tenant_id=tenant_id, partition_key=webcast_id, item_id=key.participant_id
    )


def get_form(*, tenant_id: str, webcast_id: str) -> RegistrationForm:
    found = forms.get(tenant_id=tenant_id, item_id=f"form:{webcast_id}")
    return found or RegistrationForm(
        id=f"form:{webcast_id}", tenant_id=tenant_id, webcast_id=webcast_id
    )


def links_id(webcast_id: str) -> str:
    return f"links:{webcast_id}"


def get_link_settings(*, tenant_id: str, webcast_id: str) -> LinkSettings:
    found = link_settings.get(tenant_id=tenant_id, item_id=links_id(webcast_id))
    return found or LinkSettings(
        id=links_id(webcast_id), tenant_id=tenant_id, webcast_id=webcast_id
    )
