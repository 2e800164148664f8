"""Registration forms, participants, their consents and the participant-side sessions."""

from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from shared.auth.models import TimedSession
from shared.cosmos.repository import Document
from shared.participants.patterns import compiled
from shared.text import LINE_BREAKS, InputModel


class FieldType(StrEnum):
    short_text = "short_text"
    long_text = "long_text"
    email = "email"
    number = "number"
    date = "date"
    phone = "phone"
    country = "country"
    single_choice = "single_choice"
    multiple_choice = "multiple_choice"
    checkbox = "checkbox"
    consent = "consent"
    display_text = "display_text"  # a heading or text shown on the form, never an answer


FieldId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ChoiceOption(InputModel):
    model_config = ConfigDict(extra="forbid")

    id: FieldId
    label: Label


class FormField(InputModel):
    """One field; its id is stable, so answers survive label changes and removal."""

    model_config = ConfigDict(extra="forbid")

    id: FieldId
    type: FieldType
    label: Annotated[Label, LINE_BREAKS]  # a display text or consent may run over lines
    required: bool = False
    help_text: Annotated[str, StringConstraints(max_length=2000), LINE_BREAKS] = ""
    options: list[ChoiceOption] = []
    min_length: Annotated[int, Field(ge=0, le=10_000)] | None = None
    max_length: Annotated[int, Field(ge=1, le=10_000)] | None = None
    pattern: Annotated[str, StringConstraints(max_length=500)] | None = None
    minimum: float | None = None
    maximum: float | None = None
    removed: bool = False  # kept so exports still name the answers it collected

    @field_validator("pattern")
    @classmethod
    def _re2_pattern(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            compiled(pattern)
        return pattern

    @model_validator(mode="after")
    def _consistent(self) -> "FormField":
        choice = self.type in (FieldType.single_choice, FieldType.multiple_choice)
        if choice and not self.options:
            raise ValueError("choice fields need options")
        if not choice and self.options:
            raise ValueError("only choice fields have options")
        if len({o.id for o in self.options}) != len(self.options):
            raise ValueError("option ids must be unique")
        if self.type == FieldType.display_text and self.required:
            raise ValueError("a display-only text cannot be required")
        return self


class FormDefinition(InputModel):
    model_config = ConfigDict(extra="forbid")

    fields: Annotated[list[FormField], Field(max_length=200)] = []

    @model_validator(mode="after")
    def _unique(self) -> "FormDefinition":
        ids = [f.id for f in self.fields]
        if len(set(ids)) != len(ids):
            raise ValueError("field ids must be unique")
        return self


class RegistrationForm(Document):
    """The webcast's form; stored in the tenant's webcast partition."""

    doc_type = "form"

    tenant_id: str
    webcast_id: str
    fields: list[FormField] = []
    updated_at: str = ""


class Consent(BaseModel):
    field_id: str
    text: str
    given_at: str
    withdrawn_at: str | None = None


class ParticipantStatus(StrEnum):
    active = "active"
    disabled = "disabled"


class Participant(Document):
    doc_type = "participant"

    tenant_id: str
    webcast_id: str
    email: str | None = None
    username: str | None = None
    # The `sub` a customer's server vouches for in an embed token; its login key lives in
    # its own key space (kind "external"), which no registration or import can write.
    external_id: str | None = None
    name: str = ""
    answers: dict[str, Any] = {}
    consents: list[Consent] = []
    password_hash: str | None = None
    status: ParticipantStatus = ParticipantStatus.active
    source: str = "admin"
    # False for a self-registration until a link mailed to its address is used (ADR 0020);
    # a trusted write (admin, import, customer server, embed) replaces an unconfirmed record.
    confirmed: bool = True
    via_internal_link: bool = False  # registered through the internal link with its key
    search_text: str = ""
    created_at: str
    updated_at: str
    last_sign_in_at: str | None = None
    # A legal hold instead of an erasure (P24): why, and until when (then it is erased).
    blocked_reason: str | None = None
    blocked_until: str | None = None


class ParticipantLogin(Document):
    """Makes e-mail and user name unique within a webcast; its id is a keyed hash."""

    doc_type = "participant-login"

    tenant_id: str
    webcast_id: str
    participant_id: str
    # repository.person_key: the same for this login in every webcast of the tenant.
    person: str | None = None


class PrivacyGrant(BaseModel):
    """A short look at one's own data in one webcast, opened by the mailed privacy link."""

    participant_id: str
    expires_at: float


class IndexedPerson(Document):
    """The vendor's index entry of one login value across the platform: its id is a keyed
    hash of kind and value; the tenants that held participants by it when they were written
    (a lookup checks each of them again, so an entry may name a tenant that no longer does)."""

    doc_type = "indexed-person"

    tenants: dict[str, bool] = {}


class ErasedLogin(Document):
    """An erasure ledger entry: a login of a person erased at their request. Its id is the
    login key's (a keyed hash of webcast and value): nothing of the person in clear."""

    doc_type = "erased-login"

    tenant_id: str
    webcast_id: str
    kind: str
    erased_at: str


class ParticipantSession(TimedSession):
    """A viewer's session, stored under the hash of the cookie value.

    One cookie (the `__Host-` prefix forces Path=/) may hold grants for several webcasts;
    a grant without a participant id is an anonymous viewer of a public webcast."""

    doc_type = "participant-session"

    grants: dict[str, str | None] = {}
    # Every participant the session names, in `grants` or in `privacy` (revocation finds them).
    participant_ids: list[str] = []
    embedded: bool = False
    # By webcast: the privacy page's grant; it lets no one watch or write in the webcast.
    privacy: dict[str, PrivacyGrant] = {}


class ParticipantInput(InputModel):
    """What an admin, an import or a customer server sends for one participant."""

    # No cache of value strings: an import makes one of these per row (see Document).
    model_config = ConfigDict(extra="forbid", cache_strings="keys")

    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)] | None = None
    username: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = None
    answers: Annotated[dict[str, Any], LINE_BREAKS] = {}  # forms.check_answers per type
    password: Annotated[str, Field(min_length=1, max_length=1024)] | None = None


class ParticipantUpdate(InputModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)] | None = None
    username: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = None
    answers: Annotated[dict[str, Any], LINE_BREAKS] | None = None
    password: Annotated[str, Field(min_length=1, max_length=1024)] | None = None
    status: ParticipantStatus | None = None


class ParticipantView(BaseModel):
    id: str
    webcast_id: str
    email: str | None
    username: str | None
    external_id: str | None
    name: str
    answers: dict[str, Any]
    consents: list[Consent]
    status: ParticipantStatus
    source: str
    confirmed: bool
    via_internal_link: bool
    has_password: bool
    created_at: str
    updated_at: str
    last_sign_in_at: str | None

    @classmethod
    def of(cls, participant: Participant) -> "ParticipantView":
        return cls(
            **participant.model_dump(include=set(cls.model_fields) - {"has_password"}),
            has_password=participant.password_hash is not None,
        )


class LinkSettings(Document):
    """Stored in the tenant's partition of `webcasts`, id `links:{webcast_id}`: only the
    generation of the internal key, which itself is derived (see shared.participants.links)."""

    doc_type = "webcast-links"

    tenant_id: str
    webcast_id: str
    generation: int = 0
    rotated_at: str | None = None


class RegistrationLinks(BaseModel):
    public: str
    internal: str
    internal_key_rotated_at: str | None
