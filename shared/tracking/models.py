"""Heartbeats, their queue messages, viewing documents and the attendance report."""

from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from shared.cosmos.repository import Document
from shared.text import InputModel

MAX_POSITION = 7 * 24 * 60 * 60.0
AssetId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# Inclusive ranges [first, last] of slot numbers (slot = floor(epoch seconds / SLOT_SECONDS)).
SlotRange = tuple[int, int]


class Mode(StrEnum):
    live = "live"
    vod = "vod"


class Heartbeat(InputModel):
    """What the player sends: live, or on demand with the playback position."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode
    # Validated with the default too, so that a VOD heartbeat without a position is named.
    position: Annotated[float, Field(ge=0, le=MAX_POSITION)] | None = Field(
        default=None, validate_default=True
    )
    asset_id: AssetId | None = None

    @field_validator("position")
    @classmethod
    def _position_for_vod(cls, value: float | None, info: ValidationInfo) -> float | None:
        mode = info.data.get("mode")
        if mode == Mode.vod and value is None:
            raise ValueError("is required for on-demand (vod) heartbeats")
        if mode == Mode.live and value is not None:
            raise ValueError("is only sent with on-demand (vod) heartbeats")
        return value


class HeartbeatAccepted(BaseModel):
    """The 202 answer: when the player should send the next heartbeat."""

    interval_seconds: int


class HeartbeatMessage(BaseModel):
    """One heartbeat on its way to the queue handler; the server's time and slots, not the
    player's. `participant_id` is set only while the webcast ties attendance to participants."""

    # Fields a newer API adds are ignored, so a rolling deployment does not poison messages.
    model_config = ConfigDict(extra="ignore")

    tenant_id: str
    webcast_id: str
    viewer_id: str
    participant_id: str | None = None
    shard: Annotated[int, Field(ge=0)]
    mode: Mode
    at: float
    slot: int
    slot_count: Annotated[int, Field(ge=1, le=10)]
    position: float | None = None
    asset_id: str | None = None


class Viewing(Document):
    """One viewer's watching of one webcast in one mode: the slots seen, as merged ranges."""

    doc_type = "viewing"

    tenant_id: str
    webcast_id: str
    partition: str
    viewer_id: str
    participant_id: str | None = None
    mode: Mode
    slots: list[SlotRange] = []
    position: float | None = None
    asset_id: str | None = None
    position_at: float | None = None


class MinuteCount(BaseModel):
    minute: str
    viewers: int
    live: int
    vod: int


class AttendanceReport(BaseModel):
    """Aggregate figures of a webcast; no per-person data."""

    webcast_id: str
    generated_at: str
    counted_per: str = "viewer session"
    slot_seconds: int
    unique_viewers: int
    unique_participants: int | None = None
    peak_concurrent_viewers: int
    peak_minute: str | None
    average_watch_seconds: float
    median_watch_seconds: float
    live_minutes: float
    vod_minutes: float
    per_minute: list[MinuteCount]
    # Set once the participant data was erased at the end of its retention: the figures are
    # those computed just before, kept as they were (decision 0049).
    frozen_at: str | None = None


class ReportSnapshot(Document):
    """The last computed report of a webcast, kept for a few seconds (no personal data)."""

    doc_type = "attendance-report"

    tenant_id: str
    webcast_id: str
    partition: str
    computed_at: float
    tag: str
    report: AttendanceReport


class ViewerRow(BaseModel):
    """Watching of one pseudonymous viewer session, or of one participant when tied (P17)."""

    viewer: str
    participant_id: str | None = None
    first_seen: str
    last_seen: str
    live_seconds: int
    vod_seconds: int
    watched_seconds: int


class ViewerList(BaseModel):
    webcast_id: str
    tied_to_participant: bool
    rows: list[ViewerRow]
