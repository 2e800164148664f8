"""Webcast projects: schedule, access mode, module switches and privacy switches."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from shared.cosmos.repository import Document
from shared.text import LINE_BREAKS, InputModel


class AccessMode(StrEnum):
    public = "public"
    registration = "registration"
    login = "login"
    invitation = "invitation"


class Language(StrEnum):
    de = "de"
    en = "en"


def _distinct(languages: list[Language]) -> list[Language]:
    if len(set(languages)) != len(languages):
        raise ValueError("each language at most once")
    return languages


# Languages a webcast's pages offer besides its default `language`.
AdditionalLanguages = Annotated[
    list[Language], Field(max_length=len(Language) - 1), AfterValidator(_distinct)
]


class PasswordMode(StrEnum):
    """How participants get a password (P11)."""

    generated = "generated"  # the system makes one, shown or mailed once
    predefined = "predefined"  # the customer sets it per participant or by import


class Modules(InputModel):
    model_config = ConfigDict(extra="forbid")

    message_box: bool = False
    polls: bool = False
    tracking: bool = False
    meeting: bool = False

    def is_on(self, module: "Module") -> bool:
        return bool(getattr(self, module.value))


class Module(StrEnum):
    """A switch of `Modules`, named by its field; `label` is how a problem names it."""

    message_box = "message_box"
    polls = "polls"
    tracking = "tracking"
    meeting = "meeting"

    @property
    def label(self) -> str:
        return {
            Module.message_box: "message box",
            Module.polls: "polls",
            Module.tracking: "attendance tracking",
            Module.meeting: "meeting",
        }[self]


class PrivacySwitches(InputModel):
    """Each switch ties participant data to a module; all off until the customer turns one on."""

    model_config = ConfigDict(extra="forbid")

    messages_show_sender_to_moderators: bool = False
    messages_show_sender_to_audience: bool = False
    poll_results_tied_to_participant: bool = False
    attendance_tied_to_participant: bool = False
    meeting_uses_participant_data: bool = False
    meeting_shows_participant_data: bool = False


def _time_zone(value: str) -> str:
    if value not in available_timezones():
        raise ValueError("must be an IANA time zone such as Europe/Berlin")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a UTC offset, e.g. 2026-12-01T10:00:00+01:00")
    return value


TimeZone = Annotated[str, AfterValidator(_time_zone)]
AwareTime = Annotated[datetime, AfterValidator(_aware)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=5000), LINE_BREAKS]
MAX_RETENTION_DAYS = 3650
RetentionDays = Annotated[int, Field(ge=1, le=MAX_RETENTION_DAYS)]


class Schedule(InputModel):
    model_config = ConfigDict(extra="forbid")

    starts_at: AwareTime
    ends_at: AwareTime
    time_zone: TimeZone = "Europe/Berlin"

    @model_validator(mode="after")
    def _ordered(self) -> "Schedule":
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must lie after starts_at")
        return self


class WebcastCreate(InputModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = ""
    slug: Slug
    language: Language = Language.de
    additional_languages: AdditionalLanguages = []
    schedule: Schedule | None = None
    access_mode: AccessMode = AccessMode.public
    modules: Modules = Modules()
    privacy: PrivacySwitches = PrivacySwitches()
    retention_days: RetentionDays = 365
    # Participant data may go earlier than the webcast (decision 0049); never later.
    participant_retention_days: RetentionDays | None = None
    participant_passwords: PasswordMode = PasswordMode.generated
    # Offer a progressive MP4 of the VOD for download besides HLS (off by default).
    vod_download: bool = False
    # Self-registrants get in before they confirm their address by the mailed link (people
    # register minutes before a live start); their records still count as unconfirmed.
    admit_before_confirmation: bool = False


class WebcastUpdate(InputModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    slug: Slug | None = None
    language: Language | None = None
    additional_languages: AdditionalLanguages | None = None
    schedule: Schedule | None = None
    access_mode: AccessMode | None = None
    modules: Modules | None = None
    privacy: PrivacySwitches | None = None
    retention_days: RetentionDays | None = None
    participant_retention_days: RetentionDays | None = None
    participant_passwords: PasswordMode | None = None
    vod_download: bool | None = None
    admit_before_confirmation: bool | None = None


class Webcast(Document):
    doc_type = "webcast"

    tenant_id: str
    title: str
    description: str = ""
    slug: str
    language: Language
    additional_languages: list[Language] = []
    schedule: Schedule | None = None
    access_mode: AccessMode
    modules: Modules
    privacy: PrivacySwitches
    retention_days: int
    participant_retention_days: int | None = None
    participant_passwords: PasswordMode = PasswordMode.generated
    vod_download: bool = False
    admit_before_confirmation: bool = False
    # The retention deletion date the owner's notice announced, and when it was queued: the
    # deletion waits for a notice of its own date (decision 0049).
    retention_notice_for: str | None = None
    retention_notice_at: str | None = None
    # When the participant data was erased at the end of its retention.
    participant_data_erased_at: str | None = None
    created_at: str
    updated_at: str
    created_by: str
    # Set when the project's deletion starts (its tombstone): from then on every loader treats
    # the webcast as gone while the deletion job removes its data (decision 0047).
    deletion_started_at: str | None = None

    @property
    def languages(self) -> list[Language]:
        """Every language the pages offer, the default first."""
        return [self.language, *self.additional_languages]


class WebcastKey(Document):
    """Finds a webcast's tenant from the webcast id alone (public participant pages)."""

    doc_type = "webcast-key"

    tenant_id: str


class SlugReservation(Document):
    """Makes a slug unique within a tenant: its id is the slug."""

    doc_type = "slug"

    tenant_id: str
    webcast_id: str


class WebcastView(BaseModel):
    id: str
    tenant_id: str
    title: str
    description: str
    slug: str
    language: Language
    additional_languages: list[Language]
    schedule: Schedule | None
    access_mode: AccessMode
    modules: Modules
    privacy: PrivacySwitches
    retention_days: int
    participant_retention_days: int | None
    participant_passwords: PasswordMode
    vod_download: bool
    admit_before_confirmation: bool
    created_at: str
    updated_at: str
    etag: str | None

    @classmethod
    def of(cls, webcast: Webcast) -> "WebcastView":
        return cls.model_validate(webcast.model_dump() | {"etag": webcast.etag})


class RetentionExtension(InputModel):
    """The owner adds days to the retention period (the total stays within its bounds)."""

    model_config = ConfigDict(extra="forbid")

    days: RetentionDays


class RetentionView(BaseModel):
    """When the webcast's retention ends, counted from its end (decision 0049)."""

    webcast_id: str
    retention_days: int
    participant_retention_days: int | None
    ended_at: str = Field(
        description="the schedule's end, the last live session's end, or the "
        "later of the creation and the last publication"
    )
    deletes_at: str
    notice_at: str = Field(description="when the owner's notice of the deletion is due")
    notice_sent_for: str | None = Field(description="the deletion date a notice announced")
    participant_data_erases_at: str | None
    participant_data_erased_at: str | None
