"""Mail texts, invitations and the participant's password reset by mail; the jobs themselves
carry ids only (shared.mail_queue): addresses are looked up and links minted when sent."""

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.cosmos.repository import Document
from shared.text import LINE_BREAKS, InputModel
from shared.webcasts.models import Language


class TemplateKind(StrEnum):
    invitation = "invitation"
    confirmation = "confirmation"
    reminder = "reminder"
    password_reset = "password_reset"  # noqa: S105 - a kind's name, not a secret
    erasure = "erasure"  # confirms the erasure a participant asked for on the privacy page


Subject = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=20_000), LINE_BREAKS]


class TemplateText(InputModel):
    """A subject and a plain-text body, both Jinja2; the HTML part is made from the text."""

    model_config = ConfigDict(extra="forbid")

    subject: Subject
    text: Body


class LanguageTexts(InputModel):
    model_config = ConfigDict(extra="forbid")

    de: TemplateText | None = None
    en: TemplateText | None = None

    def get(self, language: Language) -> TemplateText | None:
        return self.de if language == Language.de else self.en


class TemplateOverrides(InputModel):
    """A webcast's own texts; whatever is left out uses the default text."""

    model_config = ConfigDict(extra="forbid")

    invitation: LanguageTexts = LanguageTexts()
    confirmation: LanguageTexts = LanguageTexts()
    reminder: LanguageTexts = LanguageTexts()
    password_reset: LanguageTexts = LanguageTexts()
    erasure: LanguageTexts = LanguageTexts()

    def get(self, kind: TemplateKind, language: Language) -> TemplateText | None:
        texts: LanguageTexts = getattr(self, kind.value)
        return texts.get(language)


class MailTemplatesUpdate(InputModel):
    """PUT body: replaces every override of the webcast (left out = default text)."""

    model_config = ConfigDict(extra="forbid")

    templates: TemplateOverrides = TemplateOverrides()


class MailTemplates(Document):
    """Stored in the tenant's partition of `webcasts`, id `mail-templates:{webcast_id}`."""

    doc_type = "mail-templates"

    tenant_id: str
    webcast_id: str
    templates: TemplateOverrides = TemplateOverrides()
    updated_at: str = ""


class MailTemplatesView(BaseModel):
    language: Language  # the webcast's language, which picks the texts that are sent
    templates: dict[TemplateKind, dict[Language, TemplateText]]  # in effect, defaults filled in
    customized: dict[TemplateKind, list[Language]]
    variables: dict[TemplateKind, list[str]]
    updated_at: str | None


ParticipantId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MAX_SELECTED = 1000


class InvitationRequest(InputModel):
    """Either participant_ids or all=true; the link options apply to every mail of the batch."""

    model_config = ConfigDict(extra="forbid")

    participant_ids: Annotated[list[ParticipantId], Field(max_length=MAX_SELECTED)] | None = None
    all: bool = False
    single_use: bool = True
    link_lifetime_seconds: Annotated[int, Field(ge=300, le=365 * 24 * 60 * 60)] | None = None


class InvitationQueued(BaseModel):
    invitation_id: str
    scope: Literal["selected", "all"]
    queued: int | None  # mail jobs queued now; None when a batch job expands "all" later


class ParticipantResetRequest(InputModel):
    model_config = ConfigDict(extra="forbid")

    login: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)]


class ParticipantResetConfirm(InputModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, Field(min_length=1, max_length=256)]
    new_password: Annotated[str, Field(min_length=1, max_length=1024)]
