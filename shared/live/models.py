"""Live channels (one per webcast), their publish sessions and stream key lookups.

A channel and its sessions live in the `media` Cosmos container under the webcast's
partition. The stream key is shown to the admin on create and rotate only; the database
holds its keyed hash, as the id of a `stream_keys` document that leads the ingest's
`on_publish` check to the channel. The live HLS of a session goes to
`live/{tenant}/{webcast}/{session}/`:

    master.m3u8            variant streams
    {rung}/index.m3u8      MPEG-TS media playlist (sliding window; #EXT-X-ENDLIST at the end)
    {rung}/seg_00001.ts    2 s segments
"""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.cosmos.repository import Document
from shared.text import InputModel

# One channel per webcast: a fixed id in the webcast's partition makes a second one a conflict.
CHANNEL_ID = "live-channel"
LIVE_CONTAINER = "live"
LIVE_APP = "live"
MASTER_PLAYLIST = "master.m3u8"
STREAM_KEY_KIND = "stream-key"


class ChannelState(StrEnum):
    idle = "idle"  # never went live
    # An encoder is connected; viewers get no playlist until its first segments are in Blob.
    starting = "starting"
    live = "live"
    stopped = "stopped"  # the last session ended


# A channel in one of these states has a session running (or one that lost its ingest).
RUNNING_STATES = frozenset({ChannelState.starting, ChannelState.live})


class SessionEnd(StrEnum):
    stopped = "stopped"  # the encoder ended the stream
    dropped = "dropped"  # the connection broke (or the ingest lost the stream)
    # The stream could not be used (the channel's health says why): the ingest disconnected
    # the encoder rather than leave it pushing into nothing.
    refused = "refused"


class ProblemCode(StrEnum):
    waiting_for_video = "waiting_for_video"
    no_video = "no_video"
    unsupported_video = "unsupported_video"
    picture_too_large = "picture_too_large"
    no_audio = "no_audio"
    too_slow = "too_slow"
    processing_failed = "processing_failed"


class ProblemSeverity(StrEnum):
    warning = "warning"  # viewers see the stream, something is worth fixing
    error = "error"  # viewers see nothing of this stream


class StreamProblem(InputModel):
    """What is wrong with the encoder's stream, in words a streamer acts on (the console shows
    `message`, or its own text for `code`)."""

    code: ProblemCode
    severity: ProblemSeverity
    message: str = Field(max_length=500)


class StreamInput(InputModel):
    """What the encoder sends, as the ingest read it."""

    video_codec: str | None = Field(default=None, max_length=40)
    width: int | None = Field(default=None, ge=0, le=100_000)
    height: int | None = Field(default=None, ge=0, le=100_000)
    frame_rate: float | None = Field(default=None, ge=0, le=10_000)
    audio_codec: str | None = Field(default=None, max_length=40)
    audio_sample_rate: int | None = Field(default=None, ge=0, le=10_000_000)
    audio_channels: int | None = Field(default=None, ge=0, le=64)


class IngestHealth(BaseModel):
    """What the ingest reports about the current session: on each uploaded segment, and every
    few seconds while it waits for a usable picture."""

    bitrate: int | None = None  # measured input bits/s
    last_segment_at: str | None = None
    segments_uploaded: int = 0
    # The master and a first media playlist of every rung are in Blob: viewers can play.
    playable: bool = False
    input: StreamInput | None = None
    problems: list[StreamProblem] = Field(default_factory=list)
    reported_at: str | None = None


class LiveChannel(Document):
    doc_type = "live-channel"

    tenant_id: str
    webcast_id: str
    state: ChannelState = ChannelState.idle
    # Whether the next session is recorded (the viewer page shows a recording notice).
    record: bool = True
    key_hash: str
    key_created_at: str
    current_session_id: str | None = None
    last_session_id: str | None = None
    # The output of the current (or last) session in the `live` container, ends with "/".
    output_prefix: str | None = None
    # Whether the current (or last) session is recorded: what the notice must say now.
    recording: bool = False
    health: IngestHealth = Field(default_factory=IngestHealth)
    created_by: str | None = None
    created_at: str
    updated_at: str


class LiveSession(Document):
    """One publish from go-live to stop."""

    doc_type = "live-session"

    tenant_id: str
    webcast_id: str
    channel_id: str
    record: bool
    output_prefix: str
    started_at: str
    ended_at: str | None = None
    end_reason: SessionEnd | None = None
    segments_uploaded: int = 0
    recording_asset_id: str | None = None


class StreamKey(Document):
    """`stream_keys` container: id = lookup_hash("stream-key", key)."""

    doc_type = "stream-key"

    tenant_id: str
    webcast_id: str
    channel_id: str
    created_at: str


# ---- admin API ----


class LiveChannelCreate(InputModel):
    model_config = ConfigDict(extra="forbid")

    record: bool = True


class LiveChannelUpdate(InputModel):
    model_config = ConfigDict(extra="forbid")

    record: bool


class LiveSessionView(BaseModel):
    id: str
    started_at: str
    ended_at: str | None
    end_reason: SessionEnd | None
    record: bool
    recording_asset_id: str | None

    @classmethod
    def of(cls, session: LiveSession) -> "LiveSessionView":
        return cls.model_validate(session, from_attributes=True)


class LiveChannelView(BaseModel):
    """A channel as the admin sees it; never the stream key."""

    channel_id: str
    webcast_id: str
    state: ChannelState
    record: bool
    recording: bool
    ingest_url: str
    health: IngestHealth
    current_session: LiveSessionView | None
    last_session: LiveSessionView | None
    recording_asset_id: str | None
    created_at: str
    updated_at: str


class IssuedStreamKey(BaseModel):
    """The stream key, shown once (create and rotate): the encoder's settings."""

    stream_key: str
    ingest_url: str
    stream_url: str
    channel: LiveChannelView


# ---- ingest hooks ----


class IngestGrant(BaseModel):
    """The API's answer to an accepted publish: where the session's output goes."""

    tenant_id: str
    webcast_id: str
    channel_id: str
    session_id: str
    container: str = LIVE_CONTAINER
    output_prefix: str
    record: bool


class IngestSessionRef(InputModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(min_length=1, max_length=64)
    webcast_id: str = Field(min_length=1, max_length=64)
    session_id: str = Field(min_length=1, max_length=64)


class IngestHealthReport(IngestSessionRef):
    bitrate: int | None = Field(default=None, ge=0)
    last_segment_at: str | None = Field(default=None, max_length=40)
    segments_uploaded: int = Field(ge=0)
    playable: bool = False
    input: StreamInput | None = None
    problems: list[StreamProblem] = Field(default_factory=list, max_length=8)


class IngestDone(IngestSessionRef):
    reason: SessionEnd
    segments_uploaded: int = Field(default=0, ge=0)
    # Why a refused stream could not be used; kept on the channel until the next session plays.
    problems: list[StreamProblem] = Field(default_factory=list, max_length=8)


class RecordingTarget(BaseModel):
    """Where the ingest puts the session's recording (the asset's source blob)."""

    asset_id: str
    container: str
    blob: str


# ---- viewer playback ----


class LivePlayback(BaseModel):
    """The current (or last) session's live output, for the viewer routes."""

    tenant_id: str
    webcast_id: str
    session_id: str
    container: str = LIVE_CONTAINER
    prefix: str
    master_playlist: str  # blob name in `container`
    state: ChannelState
    record: bool  # whether this session is recorded: the page's recording notice


# A viewer page asks again this often while the stream is starting: it starts within seconds,
# and only for those seconds do pages ask this often.
STARTING_RETRY_SECONDS = 0.5


class LiveSummary(BaseModel):
    """What the viewer page needs to show the live stream and its recording notice."""

    state: ChannelState
    session_id: str
    recorded: bool
    # Only once viewers can play: the master and every rung's first segment are in Blob.
    master_playlist: str | None
    # While `starting`: when to ask again (the answer's Retry-After, in whole seconds, is 1).
    retry_after_seconds: float | None

    @classmethod
    def of(cls, live: LivePlayback, *, base_path: str) -> "LiveSummary":
        playing = live.state == ChannelState.live
        return cls(
            state=live.state,
            session_id=live.session_id,
            recorded=live.record,
            master_playlist=f"{base_path}/master.m3u8" if playing else None,
            retry_after_seconds=STARTING_RETRY_SECONDS
            if live.state == ChannelState.starting
            else None,
        )
