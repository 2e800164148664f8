"""Media assets (uploads, recordings, edited versions) and the transcode job messages.

An asset lives in the `media` Cosmos container under its webcast's partition. Its source is
a blob in `uploads/{tenant}/{webcast}/{asset}/source` (or a recording there); the transcoded
ladder goes to `media/{tenant}/{webcast}/{asset}/`:

    master.m3u8            variant streams (subtitles are added when served)
    {rung}/index.m3u8      fMP4 media playlist, {rung}/init.mp4, {rung}/seg_00001.m4s ...
    poster.jpg             a frame from about 10 % into the video
    download.mp4           optional progressive MP4 (webcast setting)
    captions/{lang}.vtt    WebVTT captions uploaded per language

Captions are files from admins like any upload: the API stores them first under
`uploads/{tenant}/{webcast}/{asset}/captions/{lang}.vtt`, and only after the malware gate
found them clean are they copied beside the ladder and offered.
"""

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.blob_sas import UploadTicket
from shared.cosmos.repository import Document
from shared.text import InputModel

TRANSCODE_QUEUE = "transcode"
RESULTS_QUEUE = "media-results"
UPLOADS = "uploads"
MEDIA = "media"
SOURCE_NAME = "source"


class AssetKind(StrEnum):
    upload = "upload"
    recording = "recording"
    edit = "edit"


class AssetStatus(StrEnum):
    awaiting_upload = "awaiting_upload"
    uploaded = "uploaded"  # the file is there; waiting for the malware scan result
    queued = "queued"  # clean; a transcode job is queued
    processing = "processing"
    ready = "ready"
    failed = "failed"
    rejected = "rejected"  # the malware gate refused the file


ENDED = frozenset({AssetStatus.ready, AssetStatus.failed, AssetStatus.rejected})


# A file the worker reports, relative to the asset's own prefix: segments that start with a
# letter, digit, `_` or `-`, so neither `..` nor a leading `/` can lead out of that folder
# (playback reads and signs `{prefix}{name}`; a result naming another folder is no result).
AssetFile = Annotated[
    str,
    StringConstraints(
        max_length=200, pattern=r"^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$"
    ),
]


class Rendition(BaseModel):
    """One rung of the ladder as encoded."""

    name: AssetFile
    width: int
    height: int
    video_bitrate: int  # bits/s, as configured
    audio_bitrate: int
    # Peak segment bit rate (bits/s) measured from the segments written; for an asset
    # transcoded before decision 0053, ffmpeg's estimate from the configured rates.
    bandwidth: int
    codecs: str
    playlist: AssetFile  # relative to the asset prefix, e.g. "720p/index.m3u8"
    # Measured average segment bit rate (bits/s) and video frame rate; None on older assets.
    average_bandwidth: int | None = None
    frame_rate: float | None = None


class CaptionStatus(StrEnum):
    scanning = "scanning"  # stored in `uploads`, waiting for the malware gate
    available = "available"
    rejected = "rejected"


class Caption(BaseModel):
    language: str
    label: str
    blob: str  # relative to the asset prefix, e.g. "captions/de.vtt"
    created_at: str
    status: CaptionStatus = CaptionStatus.available
    rejection: str | None = None
    # The X-TIMESTAMP-MAP MPEGTS value the stored blob carries (None: it carries no map).
    mapped_pts_90khz: int | None = None


def caption_upload_name(*, tenant_id: str, webcast_id: str, asset_id: str, language: str) -> str:
    """Where a caption waits for the malware gate (container `uploads`)."""
    return f"{tenant_id}/{webcast_id}/{asset_id}/captions/{language}.vtt"


class CutRange(InputModel):
    model_config = ConfigDict(extra="forbid")

    start: float = Field(ge=0)
    end: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> "CutRange":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class EditSpec(InputModel):
    """Trim the start and end and cut out ranges, in seconds of the source's timeline."""

    model_config = ConfigDict(extra="forbid")

    trim_start: float = Field(default=0, ge=0)
    trim_end: float | None = Field(default=None, gt=0)
    cuts: list[CutRange] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _consistent(self) -> "EditSpec":
        if self.trim_end is not None and self.trim_end <= self.trim_start:
            raise ValueError("trim_end must be after trim_start")
        return self

    def kept_ranges(self, duration: float) -> list[tuple[float, float]]:
        """The parts of [0, duration] that stay, in order."""
        end = min(self.trim_end or duration, duration)
        kept: list[tuple[float, float]] = []
        position = self.trim_start
        for cut in sorted(self.cuts, key=lambda c: c.start):
            if cut.end <= position or cut.start >= end:
                continue
            if cut.start > position:
                kept.append((position, cut.start))
            position = max(position, cut.end)
        if position < end:
            kept.append((position, end))
        return kept


class Asset(Document):
    doc_type = "asset"

    tenant_id: str
    webcast_id: str
    title: str
    kind: AssetKind
    status: AssetStatus
    version: int = 1
    parent_asset_id: str | None = None
    edit: EditSpec | None = None
    live_session_id: str | None = None
    source_container: str = UPLOADS
    source_blob: str
    source_filename: str | None = None
    source_size: int | None = None
    source_etag: str | None = None  # the version that passed the size check and the gate
    content_type: str | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    renditions: list[Rendition] = Field(default_factory=list)
    # The encoded video's first presentation timestamp in 90 kHz units, where caption time 0
    # belongs (X-TIMESTAMP-MAP); None for an asset transcoded before decision 0053.
    start_pts_90khz: int | None = None
    poster: str | None = None
    download: str | None = None
    captions: list[Caption] = Field(default_factory=list)
    job_attempts: int = 0
    created_by: str | None = None
    created_at: str
    updated_at: str
    ready_at: str | None = None

    @property
    def offered_captions(self) -> list[Caption]:
        """The captions viewers get: those that passed the malware gate."""
        return [c for c in self.captions if c.status == CaptionStatus.available]


def media_prefix(*, tenant_id: str, webcast_id: str, asset_id: str) -> str:
    return f"{tenant_id}/{webcast_id}/{asset_id}/"


def source_blob_name(*, tenant_id: str, webcast_id: str, asset_id: str) -> str:
    return f"{tenant_id}/{webcast_id}/{asset_id}/{SOURCE_NAME}"


class TranscodeJob(BaseModel):
    """Queue `transcode`: ids and blob names only. The asset id names the output, so a
    redelivered job overwrites its own files and never makes a second asset."""

    tenant_id: str
    webcast_id: str
    asset_id: str
    source_container: str
    source_blob: str
    output_prefix: str  # in the `media` container, ends with "/"
    ladder: str  # profile name or JSON path, see media_pipelines.ladder
    # The checked version: the worker reads this one only (an upload URL may still write).
    source_etag: str | None = None
    download_mp4: bool = False
    edit: EditSpec | None = None


ResultOutcome = Literal["processing", "ready", "failed"]


class MediaResult(BaseModel):
    """Queue `media-results`: what the worker reports back; applied idempotently."""

    tenant_id: str
    webcast_id: str
    asset_id: str
    outcome: ResultOutcome
    attempt: int = 1
    failure_code: str | None = None
    failure_reason: str | None = None
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    renditions: list[Rendition] = Field(default_factory=list)
    start_pts_90khz: int | None = None
    poster: AssetFile | None = None
    download: AssetFile | None = None


AssetTitle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Publication(Document):
    """The asset a webcast offers as its VOD (one per webcast, id `vod`)."""

    doc_type = "publication"

    tenant_id: str
    webcast_id: str
    asset_id: str
    published_at: str
    published_by: str | None = None


# The names of the container formats the worker accepts (decision 0027); it checks the
# content itself, the name only spares an admin a pointless upload.
VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".ts", ".mts"})
CAPTION_MAX_BYTES = 2 * 1024 * 1024
UPLOAD_BLOCK_BYTES = 8 * 1024 * 1024
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")]


class UploadCreate(InputModel):
    model_config = ConfigDict(extra="forbid")

    title: AssetTitle
    filename: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    size: int = Field(gt=0)
    content_type: str | None = Field(default=None, max_length=100)


class UploadedBlock(BaseModel):
    id: str
    size: int


class UploadProgress(BaseModel):
    """What of an upload has arrived: resume by sending only the missing blocks."""

    asset_id: str
    committed: bool
    blocks: list[UploadedBlock]
    uploaded_bytes: int


class AssetView(BaseModel):
    id: str
    webcast_id: str
    title: str
    kind: AssetKind
    status: AssetStatus
    version: int
    parent_asset_id: str | None
    edit: EditSpec | None
    live_session_id: str | None
    source_filename: str | None
    source_size: int | None
    failure_code: str | None
    failure_reason: str | None
    duration_seconds: float | None
    width: int | None
    height: int | None
    renditions: list[Rendition]
    poster: str | None
    download: str | None
    captions: list[Caption]
    published: bool = False
    created_at: str
    updated_at: str
    ready_at: str | None

    @classmethod
    def of(cls, asset: Asset, *, published: bool = False) -> "AssetView":
        return cls.model_validate(asset.model_dump() | {"published": published})


class CreatedUpload(BaseModel):
    asset: AssetView
    upload: UploadTicket


class AssetUpdate(InputModel):
    model_config = ConfigDict(extra="forbid")

    title: AssetTitle


class EditCreate(InputModel):
    """A new version of an asset: the spec is in the timeline of the asset being edited."""

    model_config = ConfigDict(extra="forbid")

    title: AssetTitle | None = None
    edit: EditSpec
