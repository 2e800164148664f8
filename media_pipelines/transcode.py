"""One transcode job: source from Blob to a temp folder, probe, edit, encode, publish.

Idempotent: the asset id fixes the output prefix, so a repeated job writes the same names.
The master playlist is written after everything it points to, and `job.json` (the
fingerprint of source version and settings, the file list and the result) after the master:
a job whose `job.json` matches and whose files are all there reports `ready` again without
encoding.
"""

import hashlib
import json
import logging
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from azure.core import MatchConditions
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobClient, ContainerClient, ContentSettings

from media_pipelines.edit import EmptyEditError, apply_edit
from media_pipelines.encode import (
    DOWNLOAD,
    INIT_SEGMENT,
    MASTER,
    MEDIA_PLAYLIST,
    POSTER,
    ladder_command,
    make_download,
    make_poster,
    playlist_seconds,
    read_master,
    settle_init_segments,
)
from media_pipelines.ladder import Ladder, LadderError, PlannedRung, load_ladder, plan_rungs
from media_pipelines.probe import (
    MediaInfo,
    UnreadableMediaError,
    UnsupportedFormatError,
    media_duration,
    probe,
)
from media_pipelines.segments import (
    VideoTiming,
    playlist_segments,
    read_video_timing,
    segment_bit_rates,
)
from media_pipelines.tools import Tools, find_tools, run
from shared.clients import blob_container_name, blob_service
from shared.config import get_settings
from shared.media.models import MEDIA, MediaResult, Rendition, TranscodeJob, media_prefix
from shared.privacy.blobs import delete_prefix
from shared.webcasts.service import is_gone

log = logging.getLogger("webcast.media")

MANIFEST = "job.json"
# Bump when the outputs of the same job would differ (layout, encoder arguments, result).
OUTPUT_VERSION = 2
_UPLOAD_THREADS = 8
_IMMUTABLE = "public, max-age=31536000, immutable"
_CONTENT = {
    ".m3u8": ("application/vnd.apple.mpegurl", "public, max-age=300"),
    ".m4s": ("video/iso.segment", _IMMUTABLE),
    ".mp4": ("video/mp4", _IMMUTABLE),
    ".jpg": ("image/jpeg", "public, max-age=86400"),
    ".json": ("application/json", "no-store"),
}
# What a job writes besides the fixed names; captions (captions/*.vtt) are not ours.
_LADDER_FILE = re.compile(
    r"^(?!captions/)[a-z0-9][a-z0-9_-]*/(index\.m3u8|init\.mp4|seg_\d+\.m4s)$"
)
# Generous: veryfast encodes the default ladder at about 0.5x realtime on two cores.
_ENCODE_SECONDS_PER_SECOND = 30
# An encode that yields less than this share of the source's duration read a damaged file.
_MIN_DECODED_SHARE = 0.9


class PermanentJobError(Exception):
    """The job cannot succeed however often it is tried: the asset ends failed with this."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class WebcastGoneError(Exception):
    """The job's webcast is gone (being deleted): what the job uploaded is deleted again, and
    the job ends without a result (decision 0048)."""


def require_webcast(job: TranscodeJob) -> None:
    """Before the job, before each upload and at its end: a webcast deleted meanwhile ends the
    job, and its outputs go."""
    if is_gone(tenant_id=job.tenant_id, webcast_id=job.webcast_id):
        delete_prefix(MEDIA, job.output_prefix)
        raise WebcastGoneError(job.webcast_id)


class Phases:
    """Wall seconds per step of a job, for the log (and the benchmark)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def __str__(self) -> str:
        return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.seconds.items())


def _fingerprint(job: TranscodeJob, *, ladder: Ladder, source_etag: str, preset: str) -> str:
    material = {
        "version": OUTPUT_VERSION,
        "source": [job.source_container, job.source_blob, source_etag],
        "ladder": ladder.model_dump(mode="json"),
        "preset": preset,
        "edit": job.edit.model_dump(mode="json") if job.edit else None,
        "download_mp4": job.download_mp4,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _check_job(job: TranscodeJob) -> None:
    """A job only ever reads and writes under its own webcast's prefix."""
    prefix = media_prefix(tenant_id=job.tenant_id, webcast_id=job.webcast_id, asset_id=job.asset_id)
    if job.output_prefix != prefix:
        raise PermanentJobError("invalid_job", f"the output prefix must be {prefix}")
    if not job.source_blob.startswith(f"{job.tenant_id}/{job.webcast_id}/"):
        raise PermanentJobError("invalid_job", "the source lies outside the webcast's folder")
    try:
        blob_container_name(job.source_container)
    except KeyError as error:
        raise PermanentJobError(
            "invalid_job", f"unknown source container {job.source_container}"
        ) from error


def _completed(media: ContainerClient, prefix: str, fingerprint: str) -> MediaResult | None:
    """The result of an earlier run of the same job when all its outputs are in place."""
    try:
        manifest = json.loads(media.download_blob(prefix + MANIFEST).readall())
    except ResourceNotFoundError:
        return None
    if manifest.get("fingerprint") != fingerprint:
        return None
    present = {blob.name[len(prefix) :] for blob in media.list_blobs(name_starts_with=prefix)}
    if not set(manifest.get("files", [])) <= present:
        return None
    return MediaResult.model_validate(manifest["result"])


def _download(blob: BlobClient, etag: str, target: Path) -> None:
    """The source to a file in ranged reads (never whole in memory), of the version probed."""
    with target.open("wb") as handle:
        blob.download_blob(
            etag=etag, match_condition=MatchConditions.IfNotModified, max_concurrency=4
        ).readinto(handle)


def _probe(path: Path, tools: Tools) -> tuple[MediaInfo, float]:
    try:
        info = probe(path, tools=tools)
    except UnsupportedFormatError as error:
        raise PermanentJobError(
            "unsupported",
            f"The file's format ({error.format_name}) is not accepted: upload MP4 or MOV, "
            "Matroska or WebM, or MPEG-TS",
        ) from error
    except UnreadableMediaError as error:
        raise PermanentJobError(
            "unreadable", f"The file is not a video that can be read ({error.reason})"
        ) from error
    if info.video is None:
        kind = "only audio" if info.audio else "no video stream"
        raise PermanentJobError("no_video", f"The file holds {kind}, no video to show")
    try:
        duration = media_duration(path, info=info, tools=tools)
    except UnreadableMediaError as error:
        raise PermanentJobError(
            "unreadable", f"The video cannot be read ({error.reason})"
        ) from error
    if duration <= 0:
        raise PermanentJobError("unreadable", "The video has no length")
    return info, duration


def _rung_timing(tools: Tools, rung_dir: Path, first_segment: str, work: Path) -> VideoTiming:
    """The video timing of a rung's first segment, read from its init segment and that
    segment joined (outside the output folder, which is published whole)."""
    joined = work / f"timing-{rung_dir.name}.mp4"
    with joined.open("wb") as target:
        for name in (INIT_SEGMENT, first_segment):
            target.write((rung_dir / name).read_bytes())
    try:
        return read_video_timing(tools.ffmpeg, joined, fmp4=True)
    finally:
        joined.unlink(missing_ok=True)


def _renditions(
    output: Path,
    rungs: list[PlannedRung],
    ladder: Ladder,
    *,
    has_audio: bool,
    tools: Tools,
    work: Path,
) -> tuple[list[Rendition], int]:
    """The rungs with codecs from ffmpeg's master playlist and bit rates and frame rate
    measured from the segments written; and the first video PTS (90 kHz), the same in every
    rung (one encoder process splits the same frames)."""
    variants = {variant.uri: variant for variant in read_master((output / MASTER).read_text())}
    renditions: list[Rendition] = []
    start_pts: int | None = None
    for rung in rungs:
        playlist = f"{rung.name}/{MEDIA_PLAYLIST}"
        variant = variants.get(playlist)
        if variant is None:
            raise RuntimeError(f"ffmpeg's master playlist lacks {playlist}")
        rung_dir = output / rung.name
        segments = playlist_segments((output / playlist).read_text(encoding="utf-8"))
        if not segments:
            raise RuntimeError(f"{playlist} lists no segment")
        rates = segment_bit_rates(
            [duration for duration, _ in segments],
            [(rung_dir / name).stat().st_size for _, name in segments],
        )
        timing = _rung_timing(tools, rung_dir, segments[0][1], work)
        start_pts = timing.start_pts_90khz if start_pts is None else start_pts
        renditions.append(
            Rendition(
                name=rung.name,
                width=rung.width,
                height=rung.height,
                video_bitrate=rung.rung.video_bitrate,
                audio_bitrate=ladder.audio_bitrate if has_audio else 0,
                bandwidth=rates.peak,
                average_bandwidth=rates.average,
                frame_rate=timing.frame_rate,
                codecs=variant.codecs,
                playlist=playlist,
            )
        )
    assert start_pts is not None  # a ladder has at least one rung
    return renditions, start_pts


def _upload(media: ContainerClient, prefix: str, folder: Path, names: Iterable[str]) -> None:
    def one(name: str) -> None:
        content_type, cache_control = _CONTENT[Path(name).suffix]
        with (folder / name).open("rb") as handle:
            media.upload_blob(
                prefix + name,
                handle,
                overwrite=True,
                max_concurrency=2,
                content_settings=ContentSettings(
                    content_type=content_type, cache_control=cache_control
                ),
            )

    with ThreadPoolExecutor(_UPLOAD_THREADS) as pool:
        list(pool.map(one, names))


def _publish(
    media: ContainerClient,
    prefix: str,
    output: Path,
    *,
    fingerprint: str,
    result: MediaResult,
    before_upload: Callable[[], None],
) -> None:
    """Upload in an order where every playlist only points at what is already there;
    `before_upload` runs before each step and may stop the job."""
    files = sorted(str(path.relative_to(output)) for path in output.rglob("*") if path.is_file())
    playlists = [name for name in files if name.endswith(f"/{MEDIA_PLAYLIST}")]
    before_upload()
    _upload(media, prefix, output, [n for n in files if n not in playlists and n != MASTER])
    before_upload()
    _upload(media, prefix, output, playlists)
    # Left over by an earlier run with other settings (a rung fewer, no download).
    for blob in media.list_blobs(name_starts_with=prefix):
        name = blob.name[len(prefix) :]
        if name not in files and (_LADDER_FILE.match(name) or name == DOWNLOAD):
            try:
                media.delete_blob(blob.name)
            except ResourceNotFoundError:
                continue
    before_upload()
    _upload(media, prefix, output, [MASTER])
    manifest = {
        "fingerprint": fingerprint,
        "files": files,
        "result": result.model_dump(mode="json", exclude={"attempt"}),
    }
    (output / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    before_upload()
    _upload(media, prefix, output, [MANIFEST])


def _encode(
    *,
    job: TranscodeJob,
    tools: Tools,
    ladder: Ladder,
    preset: str,
    work: Path,
    source: Path,
    attempt: int,
    phases: Phases,
) -> tuple[MediaResult, Path]:
    with phases("probe"):
        info, duration = _probe(source, tools)
    if job.edit is not None:
        try:
            with phases("edit"):
                source = apply_edit(
                    tools=tools,
                    source=source,
                    info=info,
                    duration=duration,
                    edit=job.edit,
                    work_dir=work,
                    preset=preset,
                )
        except EmptyEditError as error:
            raise PermanentJobError(
                "edit_empty", f"Nothing is left after the edit: {error}"
            ) from error
        with phases("probe"):
            info, duration = _probe(source, tools)
    assert info.video is not None
    width, height = info.video.display_size
    rungs = plan_rungs(ladder, source_width=width, source_height=height)
    output = work / "out"
    output.mkdir()
    command = ladder_command(
        ffmpeg=tools.ffmpeg,
        source=source,
        output_dir=output,
        video=info.video,
        audio=info.audio,
        ladder=ladder,
        rungs=rungs,
        preset=preset,
    )
    with phases("encode"):
        # A hung ffmpeg must not hold the job forever (a timeout is retried like any error);
        # no encode outlasts the setting, which a webcast's deletion waits out (ADR 0047).
        run(
            command,
            hide=[str(work) + "/"],
            timeout=min(
                float(get_settings().media_transcode_timeout_seconds),
                max(3600.0, duration * _ENCODE_SECONDS_PER_SECOND),
            ),
        )
    settle_init_segments(output, rungs)
    top = output / rungs[0].name
    encoded = playlist_seconds((top / MEDIA_PLAYLIST).read_text(encoding="utf-8"))
    if encoded < duration * _MIN_DECODED_SHARE - 0.5:
        raise PermanentJobError(
            "damaged",
            f"The file is damaged or incomplete: only {encoded:.1f} of {duration:.1f} s "
            "could be read",
        )
    with phases("poster"):
        make_poster(
            tools=tools,
            source=source,
            video=info.video,
            duration=duration,
            rung=rungs[0],
            output=output / POSTER,
        )
    if job.download_mp4:
        with phases("download_mp4"):
            make_download(tools=tools, rung_dir=top, work_dir=work, output=output / DOWNLOAD)
    with phases("measure"):
        renditions, start_pts = _renditions(
            output, rungs, ladder, has_audio=info.audio is not None, tools=tools, work=work
        )
    result = MediaResult(
        tenant_id=job.tenant_id,
        webcast_id=job.webcast_id,
        asset_id=job.asset_id,
        outcome="ready",
        attempt=attempt,
        duration_seconds=round(encoded, 3),
        width=width,
        height=height,
        renditions=renditions,
        start_pts_90khz=start_pts,
        poster=POSTER,
        download=DOWNLOAD if job.download_mp4 else None,
    )
    return result, output


def run_job(job: TranscodeJob, *, attempt: int, phases: Phases | None = None) -> MediaResult:
    """Transcode (and edit) one job into `media/{job.output_prefix}`; the `ready` result.

    PermanentJobError for what no retry can fix, WebcastGoneError once the webcast is being
    deleted; any other exception is worth another try."""
    phases = phases or Phases()
    _check_job(job)
    require_webcast(job)
    try:
        ladder = load_ladder(job.ladder)
    except LadderError as error:
        raise PermanentJobError("invalid_ladder", str(error)) from error
    tools = find_tools()
    preset = get_settings().media_x264_preset
    source_blob = blob_service().get_blob_client(
        blob_container_name(job.source_container), job.source_blob
    )
    try:
        properties = source_blob.get_blob_properties()
    except ResourceNotFoundError as error:
        raise PermanentJobError(
            "source_missing", "The source file is gone (deleted before processing)"
        ) from error
    etag: str = properties.etag
    if job.source_etag is not None and etag != job.source_etag:
        raise PermanentJobError(
            "source_changed",
            "The file was replaced after it was checked: upload it again",
        )
    fingerprint = _fingerprint(job, ladder=ladder, source_etag=etag, preset=preset)
    media = blob_service().get_container_client(blob_container_name(MEDIA))
    earlier = _completed(media, job.output_prefix, fingerprint)
    if earlier is not None:
        log.info("asset %s: outputs of this job are complete already", job.asset_id)
        return earlier.model_copy(update={"attempt": attempt})
    with tempfile.TemporaryDirectory(prefix="media-job-") as folder:
        work = Path(folder)
        source = work / "source"
        with phases("download"):
            _download(source_blob, etag, source)
        result, output = _encode(
            job=job,
            tools=tools,
            ladder=ladder,
            preset=preset,
            work=work,
            source=source,
            attempt=attempt,
            phases=phases,
        )
        with phases("upload"):
            _publish(
                media,
                job.output_prefix,
                output,
                fingerprint=fingerprint,
                result=result,
                before_upload=lambda: require_webcast(job),
            )
    require_webcast(job)  # at the end: a deletion that started during the upload
    log.info(
        "asset %s: %s, %.1f s of video, rungs %s; %s",
        job.asset_id,
        "edited" if job.edit else "transcoded",
        result.duration_seconds or 0,
        [r.name for r in result.renditions],
        phases,
    )
    return result
