"""The ffmpeg media worker against Azurite with real ffmpeg (P20): the HLS ladder, edits,
idempotency, failures, and a worker killed mid-job. Generated clips of a few seconds, the
`tiny` ladder and the ultrafast preset (set by the `stack` fixture)."""

import itertools
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from media_pipelines import worker
from media_pipelines.edit import plan_pieces
from media_pipelines.probe import Frame, UnsupportedFormatError, probe, video_frames
from media_pipelines.tools import Tools, find_tools
from media_pipelines.transcode import MANIFEST, PermanentJobError, run_job
from shared.clients import blob_container_name, blob_service, queue_client
from shared.media.models import (
    MEDIA,
    RESULTS_QUEUE,
    TRANSCODE_QUEUE,
    UPLOADS,
    CutRange,
    EditSpec,
    MediaResult,
    TranscodeJob,
    media_prefix,
    source_blob_name,
)
from tests import helpers

ROOT = Path(__file__).resolve().parents[2]
OPTIONS = worker.WorkerOptions(visibility_seconds=30, retry_seconds=0)
GENERATE = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]


def _clip(
    path: Path, *, seconds: float, size: str, video: list[str], audio: list[str] | None = None
) -> Path:
    """A test picture with a tone (44.1 kHz mono, so that the ladder's 48 kHz stereo shows)."""
    command = [*GENERATE, "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30"]
    if audio is not None:
        command += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]
    command += ["-t", str(seconds), *video, *(audio or []), str(path)]
    subprocess.run(command, check=True)
    return path


H264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "30"]
AAC = ["-c:a", "aac", "-ac", "1"]


@dataclass(frozen=True)
class Clips:
    six: Path  # 480x270, 6 s, H.264 with B-frames, keyframe every second
    small: Path  # 320x180, 2 s: only the 144p rung fits
    recording: Path  # 4 s MPEG-TS, as a live recording arrives (no extension)
    webm: Path  # 4 s VP9 + Opus: cannot be cut by stream copy
    long: Path  # 20 s, for the worker that gets killed
    text: Path
    truncated: Path  # the second half missing, with it the index (moov) at the end
    cut_short: Path  # the second half missing, the index at the front (faststart)
    playlist: Path  # an HLS playlist named .mp4 whose entry is a local file of the worker
    avi: Path  # a playable AVI, a container that is not accepted


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    folder = tmp_path_factory.mktemp("clips")
    six = _clip(folder / "six.mp4", seconds=6, size="480x270", video=H264, audio=AAC)
    truncated = folder / "truncated.mp4"
    truncated.write_bytes(six.read_bytes()[: six.stat().st_size // 2])
    faststart = folder / "faststart.mp4"
    subprocess.run(
        [*GENERATE, "-i", str(six), "-c", "copy", "-movflags", "+faststart", str(faststart)],
        check=True,
    )
    cut_short = folder / "cut_short.mp4"
    cut_short.write_bytes(faststart.read_bytes()[: faststart.stat().st_size // 2])
    text = folder / "notes.txt"
    text.write_text("Agenda: welcome, keynote, questions.\n" * 50)
    # The "local file" the playlist reaches for: a video on the worker's disk (a real attack
    # names /etc/passwd or a credentials file; a video shows whether it was read at all).
    local_secret = _clip(
        folder / "secret.ts", seconds=2, size="320x180", video=[*H264, "-f", "mpegts"]
    )
    playlist = folder / "lfi.mp4"
    playlist.write_text(
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n"
        f"#EXTINF:2.0,\nfile://{local_secret}\n#EXT-X-ENDLIST\n"
    )
    avi = _clip(folder / "clip.avi", seconds=1, size="320x180", video=["-c:v", "mpeg4"])
    return Clips(
        six=six,
        small=_clip(folder / "small.mp4", seconds=2, size="320x180", video=H264, audio=AAC),
        recording=_clip(
            folder / "source", seconds=4, size="480x270", video=[*H264, "-f", "mpegts"], audio=AAC
        ),
        webm=_clip(
            folder / "four.webm",
            seconds=4,
            size="320x180",
            video=["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"],
            audio=["-c:a", "libopus"],
        ),
        long=_clip(folder / "long.mp4", seconds=20, size="640x360", video=H264, audio=AAC),
        text=text,
        truncated=truncated,
        cut_short=cut_short,
        playlist=playlist,
        avi=avi,
    )


@pytest.fixture(autouse=True)
def queues(stack: Any) -> Iterator[None]:
    """Empty worker queues for each test (other test files leave jobs behind)."""
    for name in (TRANSCODE_QUEUE, RESULTS_QUEUE, worker.POISON_QUEUE):
        queue_client(name).clear_messages()
    yield


# The tenant and webcast of the jobs: the worker ends a job whose webcast is gone.
_HOME: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def home(stack: Any) -> None:
    owner = helpers.new_owner("media-worker")
    _HOME.update(tenant=owner.tenant_id, webcast=helpers.new_webcast(owner))


def _upload(path: Path) -> TranscodeJob:
    """A source in `uploads` under a new asset, and the job the API would queue for it."""
    tenant, webcast, asset = _HOME["tenant"], _HOME["webcast"], uuid.uuid4().hex[:12]
    name = source_blob_name(tenant_id=tenant, webcast_id=webcast, asset_id=asset)
    with path.open("rb") as handle:
        blob_service().get_blob_client(blob_container_name(UPLOADS), name).upload_blob(
            handle, overwrite=True
        )
    return TranscodeJob(
        tenant_id=tenant,
        webcast_id=webcast,
        asset_id=asset,
        source_container=UPLOADS,
        source_blob=name,
        output_prefix=media_prefix(tenant_id=tenant, webcast_id=webcast, asset_id=asset),
        ladder="tiny",
    )


def _media() -> Any:
    return blob_service().get_container_client(blob_container_name(MEDIA))


def _outputs(job: TranscodeJob) -> dict[str, Any]:
    """Blob properties of every output of a job, by name relative to its prefix."""
    prefix = job.output_prefix
    return {
        blob.name[len(prefix) :]: blob
        for blob in _media().list_blobs(name_starts_with=prefix, include=["metadata"])
    }


def _read(job: TranscodeJob, name: str) -> bytes:
    return bytes(_media().download_blob(job.output_prefix + name).readall())


def _send(job: TranscodeJob | bytes) -> None:
    body = job if isinstance(job, bytes) else job.model_dump_json().encode()
    queue_client(TRANSCODE_QUEUE).send_message(body)


def _results() -> list[MediaResult]:
    queue = queue_client(RESULTS_QUEUE)
    found = []
    for message in queue.receive_messages(messages_per_page=32, visibility_timeout=30):
        found.append(MediaResult.model_validate_json(message.content))
        queue.delete_message(message)
    return found


def _queued(name: str) -> int:
    return queue_client(name).get_queue_properties().approximate_message_count or 0


# ---- a small HLS reader of its own (the code under test has another) -------------------------


def _master(text: str) -> list[dict[str, str]]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert lines[0] == "#EXTM3U"
    variants = []
    for line, following in itertools.pairwise(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            attributes = dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1]))
            variants.append({k: v.strip('"') for k, v in attributes.items()} | {"URI": following})
    return variants


def _media_playlist(text: str) -> tuple[str, list[tuple[float, str]]]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert lines[0] == "#EXTM3U" and lines[-1] == "#EXT-X-ENDLIST"
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in lines
    (init,) = re.findall(r'#EXT-X-MAP:URI="([^"]+)"', text)
    segments = [
        (float(line.split(":")[1].rstrip(",")), following)
        for line, following in itertools.pairwise(lines)
        if line.startswith("#EXTINF:")
    ]
    return init, segments


def _rung_file(job: TranscodeJob, rung: str, folder: Path) -> Path:
    """A rung's init segment and media segments joined: one fragmented MP4 to probe."""
    init, segments = _media_playlist(_read(job, f"{rung}/index.m3u8").decode())
    path = folder / f"{rung}.mp4"
    path.write_bytes(
        b"".join(_read(job, f"{rung}/{name}") for name in [init, *(s for _, s in segments)])
    )
    return path


def _ffprobe(path: Path, *arguments: str) -> Any:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *arguments, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout)


def _keyframes(path: Path) -> list[float]:
    packets = _ffprobe(path, "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags")
    times = [float(p["pts_time"]) for p in packets["packets"] if "K" in p["flags"]]
    return [round(t - times[0], 3) for t in times]


def _duration(path: Path) -> float:
    return float(_ffprobe(path, "-show_entries", "format=duration")["format"]["duration"])


def _segment_rates(job: TranscodeJob, rung: str) -> tuple[int, int]:
    """Peak and average segment bit rate of a rung from its blobs, by RFC 8216's words: the
    fastest contiguous run lasting 0.5 to 1.5 target durations, and all bits over all time."""
    text = _read(job, f"{rung}/index.m3u8").decode()
    target = int(re.search(r"#EXT-X-TARGETDURATION:(\d+)", text).group(1))  # type: ignore[union-attr]
    _, segments = _media_playlist(text)
    sizes = _outputs(job)
    runs = [
        (
            sum(d for d, _ in segments[i:j]),
            sum(8 * sizes[f"{rung}/{n}"].size for _, n in segments[i:j]),
        )
        for i in range(len(segments))
        for j in range(i + 1, len(segments) + 1)
    ]
    peak = max(bits / seconds for seconds, bits in runs if 0.5 * target <= seconds <= 1.5 * target)
    seconds, bits = runs[len(segments) - 1]  # the run from the first segment to the last
    return math.ceil(peak), math.ceil(bits / seconds)


def _first_pts_90khz(path: Path) -> int:
    """The first video frame's presentation time as players see it (no edit list), 90 kHz."""
    found = _ffprobe(path, "-ignore_editlist", "1", "-select_streams", "v:0", "-show_streams")
    stream = found["streams"][0]
    numerator, denominator = (int(n) for n in stream["time_base"].split("/"))
    return round(int(stream["start_pts"]) * numerator * 90_000 / denominator)


# ---- the ladder ----------------------------------------------------------------------------


@pytest.mark.claim("P20")
def test_a_job_encodes_the_configured_ladder(clips: Clips, tmp_path: Path) -> None:
    job = _upload(clips.six).model_copy(update={"download_mp4": True})
    result = run_job(job, attempt=1)

    assert (result.outcome, result.width, result.height) == ("ready", 480, 270)
    assert result.duration_seconds == pytest.approx(6.0, abs=0.1)
    assert [
        (r.name, r.width, r.height, r.video_bitrate, r.audio_bitrate) for r in result.renditions
    ] == [
        ("240p", 426, 240, 400_000, 64_000),
        ("144p", 256, 144, 150_000, 64_000),
    ]
    assert (result.poster, result.download) == ("poster.jpg", "download.mp4")

    files = _outputs(job)
    media_segments = {f"{rung}/seg_0000{n}.m4s" for rung in ("240p", "144p") for n in (1, 2)}
    assert set(files) == {
        "master.m3u8",
        "240p/index.m3u8",
        "240p/init.mp4",
        "144p/index.m3u8",
        "144p/init.mp4",
        *media_segments,
        "poster.jpg",
        "download.mp4",
        MANIFEST,
    }
    kinds = {
        "master.m3u8": ("application/vnd.apple.mpegurl", "public, max-age=300"),
        "240p/index.m3u8": ("application/vnd.apple.mpegurl", "public, max-age=300"),
        "240p/init.mp4": ("video/mp4", "public, max-age=31536000, immutable"),
        "240p/seg_00001.m4s": ("video/iso.segment", "public, max-age=31536000, immutable"),
        "poster.jpg": ("image/jpeg", "public, max-age=86400"),
        "download.mp4": ("video/mp4", "public, max-age=31536000, immutable"),
    }
    for name, expected in kinds.items():
        settings = files[name].content_settings
        assert (settings.content_type, settings.cache_control) == expected, name

    # ffmpeg's master playlist lists the rungs as configured, with the codecs the result
    # reports; the bit rates and frame rate are measured from the segments written.
    variants = _master(_read(job, "master.m3u8").decode())
    assert [v["URI"] for v in variants] == ["240p/index.m3u8", "144p/index.m3u8"]
    assert [v["RESOLUTION"] for v in variants] == ["426x240", "256x144"]
    for variant, rendition in zip(variants, result.renditions, strict=True):
        assert variant["CODECS"].startswith("avc1.64")  # profile_idc 100: High
        assert variant["CODECS"].endswith(",mp4a.40.2")  # AAC-LC
        assert variant["CODECS"] == rendition.codecs
        peak, average = _segment_rates(job, rendition.name)
        assert (rendition.bandwidth, rendition.average_bandwidth) == (peak, average)
        assert rendition.frame_rate == 30.0

    keyframes = {}
    for rung, kbit in (("240p", 400), ("144p", 150)):
        init, segments = _media_playlist(_read(job, f"{rung}/index.m3u8").decode())
        assert init == "init.mp4"
        assert [name for _, name in segments] == ["seg_00001.m4s", "seg_00002.m4s"]
        assert [duration for duration, _ in segments] == pytest.approx([4.0, 2.0], abs=0.05)
        # x264 writes its settings into the stream: the rung's configured rate control.
        settings = _read(job, f"{rung}/seg_00001.m4s")
        assert f" bitrate={kbit} ".encode() in settings
        assert f" vbv_maxrate={kbit * 11 // 10} vbv_bufsize={kbit * 2} ".encode() in settings
        joined = _rung_file(job, rung, tmp_path)
        streams = {s["codec_type"]: s for s in _ffprobe(joined, "-show_streams")["streams"]}
        video, audio = streams["video"], streams["audio"]
        assert (video["codec_name"], video["profile"]) == ("h264", "High")
        assert (audio["codec_name"], audio["profile"]) == ("aac", "LC")
        assert (audio["sample_rate"], audio["channels"]) == ("48000", 2)
        keyframes[rung] = _keyframes(joined)
        assert result.start_pts_90khz == _first_pts_90khz(joined)
    # A closed GOP every 2 s, on the same frames in every rung.
    assert keyframes["240p"] == keyframes["144p"] == pytest.approx([0.0, 2.0, 4.0], abs=0.04)

    poster = _read(job, "poster.jpg")
    assert poster[:3] == b"\xff\xd8\xff"
    (tmp_path / "download.mp4").write_bytes(_read(job, "download.mp4"))
    assert _duration(tmp_path / "download.mp4") == pytest.approx(6.0, abs=0.1)
    # Progressive: the index (moov) comes before the media data, so playback can start early.
    download = (tmp_path / "download.mp4").read_bytes()
    assert download.index(b"moov") < download.index(b"mdat")


def test_rungs_above_the_source_are_not_encoded(clips: Clips) -> None:
    job = _upload(clips.small)
    result = run_job(job, attempt=1)
    assert [(r.name, r.width, r.height) for r in result.renditions] == [("144p", 256, 144)]
    assert not any(name.startswith("240p/") for name in _outputs(job))
    assert [v["URI"] for v in _master(_read(job, "master.m3u8").decode())] == ["144p/index.m3u8"]
    assert result.download is None and "download.mp4" not in _outputs(job)


# ---- edits ---------------------------------------------------------------------------------


def _frames(count: int, *, every: int) -> list[Frame]:
    return [Frame(pts=n / 30, key=n % every == 0) for n in range(count)]


def _plan(frames: list[Frame], ranges: list[tuple[float, float]]) -> list[tuple[int, int, bool]]:
    end = frames[-1].pts + 1 / 30
    return [(p.first, p.stop, p.copy) for p in plan_pieces(frames, ranges, end_time=end)]


def test_edits_copy_whole_gops_and_re_encode_only_up_to_the_next_keyframe() -> None:
    frames = _frames(120, every=30)  # 4 s at 30 fps, a keyframe every second
    # Trim 0.5 s, cut 1.0-1.5: frames 15-29 re-encoded, 45-59 re-encoded, 60-119 copied.
    assert _plan(
        frames, EditSpec(trim_start=0.5, cuts=[CutRange(start=1, end=1.5)]).kept_ranges(4)
    ) == [
        (15, 30, False),
        (45, 60, False),
        (60, 120, True),
    ]
    # Cuts on keyframes: stream copy only.
    assert _plan(frames, [(1.0, 2.0), (3.0, 4.0)]) == [(30, 60, True), (90, 120, True)]
    # An end inside a GOP: its shown frames are re-encoded.
    assert _plan(frames, [(0.0, 2.5)]) == [(0, 60, True), (60, 75, False)]
    # Inside one GOP: re-encoded as one piece; between two cuts in one GOP, merged.
    assert _plan(frames, [(1.2, 1.7)]) == [(36, 51, False)]
    assert _plan(frames, [(0.5, 0.9), (0.9, 1.4)]) == [(15, 42, False)]
    # A range that holds no frame is left out.
    assert _plan(frames, [(1.001, 1.002)]) == []


def test_an_edit_of_a_live_recording_has_the_kept_duration(clips: Clips, tmp_path: Path) -> None:
    edit = EditSpec(trim_start=0.5, cuts=[CutRange(start=1.0, end=1.5)])
    job = _upload(clips.recording).model_copy(update={"edit": edit, "download_mp4": True})
    result = run_job(job, attempt=1)
    assert result.outcome == "ready"
    assert result.duration_seconds == pytest.approx(3.0, abs=0.1)
    (tmp_path / "download.mp4").write_bytes(_read(job, "download.mp4"))
    assert _duration(tmp_path / "download.mp4") == pytest.approx(3.0, abs=0.1)
    for rung in ("240p", "144p"):
        assert _keyframes(_rung_file(job, rung, tmp_path)) == pytest.approx([0.0, 2.0], abs=0.04)


@pytest.mark.claim("P20")
def test_edits_of_other_containers_and_codecs(clips: Clips) -> None:
    # VP9 in WebM cannot be stream-copied: the kept ranges are re-encoded as a whole.
    edit = EditSpec(trim_start=1.0, trim_end=3.5)
    result = run_job(_upload(clips.webm).model_copy(update={"edit": edit}), attempt=1)
    assert result.duration_seconds == pytest.approx(2.5, abs=0.1)
    # MP4 with B-frames: trim the end inside a GOP, cut out two stretches.
    edit = EditSpec(trim_end=5.5, cuts=[CutRange(start=0, end=1), CutRange(start=2.2, end=3.0)])
    result = run_job(_upload(clips.six).model_copy(update={"edit": edit}), attempt=1)
    assert result.duration_seconds == pytest.approx(3.7, abs=0.1)


@pytest.mark.claim("P38")
def test_a_source_replaced_after_its_checks_is_not_read(clips: Clips) -> None:
    """The job names the version that passed size check and malware gate; an upload URL
    that is still valid may have written another one since."""
    job = _upload(clips.small)
    checked = blob_service().get_blob_client(blob_container_name(UPLOADS), job.source_blob)
    replaced = job.model_copy(update={"source_etag": '"0x8DD00000000000"'})
    with pytest.raises(PermanentJobError) as raised:
        run_job(replaced, attempt=1)
    assert (raised.value.code, raised.value.reason) == (
        "source_changed",
        "The file was replaced after it was checked: upload it again",
    )
    assert not _outputs(job)
    current = job.model_copy(update={"source_etag": checked.get_blob_properties().etag})
    assert run_job(current, attempt=1).outcome == "ready"


def test_an_edit_that_leaves_nothing_fails_for_good(clips: Clips) -> None:
    job = _upload(clips.small).model_copy(update={"edit": EditSpec(trim_start=30)})
    with pytest.raises(PermanentJobError) as raised:
        run_job(job, attempt=1)
    assert raised.value.code == "edit_empty"


# ---- probing without ffprobe ----------------------------------------------------------------


def test_probing_works_without_ffprobe(clips: Clips) -> None:
    with_ffprobe = find_tools()
    assert with_ffprobe.ffprobe is not None
    ffmpeg_only = Tools(ffmpeg=with_ffprobe.ffmpeg, ffprobe=None)
    for path in (clips.six, clips.recording, clips.webm):
        full = probe(path, tools=with_ffprobe)
        alone = probe(path, tools=ffmpeg_only)
        assert full.video is not None and alone.video is not None
        assert full.audio is not None and alone.audio is not None
        assert alone.video.display_size == full.video.display_size
        assert (alone.video.codec, alone.video.index) == (full.video.codec, full.video.index)
        assert (alone.audio.sample_rate, alone.audio.channels) == (
            full.audio.sample_rate,
            full.audio.channels,
        )
        assert alone.start_time == pytest.approx(full.start_time, abs=0.001)
        assert alone.duration == pytest.approx(full.duration, abs=0.02)
        if path != clips.webm:
            assert alone.video.pix_fmt == full.video.pix_fmt == "yuv420p"
            listed = video_frames(path, info=full, tools=with_ffprobe)
            read = video_frames(path, info=alone, tools=ffmpeg_only)
            assert [f.key for f in read] == [f.key for f in listed]
            assert [f.pts for f in read] == pytest.approx([f.pts for f in listed], abs=0.001)
            assert sum(f.key for f in listed) == (6 if path == clips.six else 4)
    for refused in (clips.playlist, clips.avi):
        for tools in (with_ffprobe, ffmpeg_only):
            with pytest.raises(UnsupportedFormatError):
                probe(refused, tools=tools)


# ---- the queue worker ----------------------------------------------------------------------


@pytest.mark.claim("P20")
def test_a_redelivered_job_gives_the_same_files_and_ready_again(clips: Clips) -> None:
    job = _upload(clips.small)
    _send(job)
    _send(job)  # at-least-once delivery: the same job twice
    assert worker.poll_once(OPTIONS)
    first = _outputs(job)
    assert worker.poll_once(OPTIONS)
    second = _outputs(job)
    assert not worker.poll_once(OPTIONS)
    # Not encoded again: the same blobs, untouched.
    assert {n: b.etag for n, b in second.items()} == {n: b.etag for n, b in first.items()}
    results = _results()
    assert [r.outcome for r in results] == ["processing", "ready", "processing", "ready"]
    assert results[1].model_dump(exclude={"attempt"}) == results[3].model_dump(exclude={"attempt"})
    assert _queued(TRANSCODE_QUEUE) == 0


@pytest.mark.parametrize(
    ("source", "code", "reason"),
    [
        ("text", "unreadable", "not a video that can be read (Invalid data found"),
        ("truncated", "unreadable", "moov atom not found"),
        ("cut_short", "damaged", "The file is damaged or incomplete: only "),
        ("playlist", "unsupported", "The file's format (hls) is not accepted"),
        ("avi", "unsupported", "The file's format (avi) is not accepted"),
    ],
)
@pytest.mark.claim("P20")
def test_a_broken_file_ends_failed_with_a_reason(
    clips: Clips, source: str, code: str, reason: str
) -> None:
    job = _upload(getattr(clips, source))
    _send(job)
    assert worker.poll_once(OPTIONS)
    assert not worker.poll_once(OPTIONS)  # no retry loop: the message is gone
    processing, failed = _results()
    assert (processing.outcome, failed.outcome, failed.failure_code) == (
        "processing",
        "failed",
        code,
    )
    assert reason in (failed.failure_reason or "")
    assert "/tmp" not in (failed.failure_reason or "")  # no worker paths in what admins read
    assert _queued(TRANSCODE_QUEUE) == 0
    assert not _outputs(job)


def test_a_source_without_video_fails_for_good(clips: Clips, tmp_path: Path) -> None:
    tone = tmp_path / "tone.m4a"
    subprocess.run(
        [*GENERATE, "-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "1", str(tone)], check=True
    )
    _send(_upload(tone))
    assert worker.poll_once(OPTIONS)
    _, failed = _results()
    assert (failed.failure_code, failed.failure_reason) == (
        "no_video",
        "The file holds only audio, no video to show",
    )


def test_passing_errors_are_retried_and_then_end_failed(
    clips: Clips, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[int] = []

    def broken(job: TranscodeJob, *, attempt: int) -> MediaResult:
        attempts.append(attempt)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(worker, "run_job", broken)
    job = _upload(clips.small)
    _send(job)
    for _ in range(3):  # media_worker_max_attempts
        assert worker.poll_once(OPTIONS)
    assert not worker.poll_once(OPTIONS)
    assert attempts == [1, 2, 3]
    results = _results()
    assert [r.outcome for r in results] == ["processing"] * 3 + ["failed"]
    assert (results[-1].failure_code, results[-1].failure_reason) == (
        "retries_exhausted",
        "the job failed 3 times: OSError: [Errno 28] No space left on device",
    )
    assert _queued(TRANSCODE_QUEUE) == 0


def test_a_job_seen_too_often_ends_failed_with_the_last_reason(clips: Clips) -> None:
    """A message that outlived its workers (each killed) is not started once more."""
    job = _upload(clips.small)
    body = json.loads(job.model_dump_json()) | {worker.LAST_ERROR: "ffmpeg exited with -9"}
    _send(json.dumps(body).encode())
    queue = queue_client(TRANSCODE_QUEUE)
    for _ in range(3):  # three deliveries whose workers died without a word
        (message,) = queue.receive_messages(visibility_timeout=1)
        queue.update_message(message, message.pop_receipt, visibility_timeout=0)
    assert worker.poll_once(OPTIONS)
    (failed,) = _results()
    assert (failed.outcome, failed.attempt, failed.failure_reason) == (
        "failed",
        4,
        "the job failed 3 times: ffmpeg exited with -9",
    )
    assert not _outputs(job)


def test_a_message_that_is_no_job_goes_to_the_poison_queue(clips: Clips) -> None:
    _send(b"this is not json")
    assert worker.poll_once(OPTIONS)
    assert _results() == []
    named = {"tenant_id": "t1", "webcast_id": "w1", "asset_id": "a1", "ladder": 7}
    _send(json.dumps(named).encode())
    assert worker.poll_once(OPTIONS)
    (failed,) = _results()
    assert (failed.asset_id, failed.outcome, failed.failure_code) == ("a1", "failed", "invalid_job")
    poison = queue_client(worker.POISON_QUEUE)
    bodies = [m.content for m in poison.receive_messages(messages_per_page=32)]
    assert sorted(bodies) == sorted([b"this is not json", json.dumps(named).encode()])
    assert _queued(TRANSCODE_QUEUE) == 0


def test_a_job_cannot_write_outside_its_own_prefix(clips: Clips) -> None:
    job = _upload(clips.small)
    for change in ({"output_prefix": "other/webcast/asset/"}, {"source_blob": "x/y/z/source"}):
        with pytest.raises(PermanentJobError) as raised:
            run_job(job.model_copy(update=change), attempt=1)
        assert raised.value.code == "invalid_job"


# ---- a worker killed mid-job ---------------------------------------------------------------


def _worker_process(*arguments: str, **environment: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "media_pipelines.worker", *arguments],
        cwd=ROOT,
        env=os.environ | environment,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _ladder_encoder(pid: int) -> int | None:
    """The ffmpeg child of the worker that encodes the ladder, once it runs."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for child in children:
            if b"-var_stream_map" in Path(f"/proc/{child}/cmdline").read_bytes():
                return int(child)
    except FileNotFoundError:
        return None
    return None


def _wait_for(check: Any, *, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.mark.claim("P20")
def test_a_worker_killed_mid_job_leaves_the_job_to_the_next_worker(
    clips: Clips, tmp_path: Path
) -> None:
    job = _upload(clips.long)
    _send(job)
    lease = ["--visibility-seconds", "2", "--poll-seconds", "0.2"]
    # A slow preset, so that the encode is still running when it is killed; the killed
    # worker's temp folder stays in the test's own.
    first = _worker_process(*lease, WEBCAST_MEDIA_X264_PRESET="veryslow", TMPDIR=str(tmp_path))
    try:
        encoder = _wait_for(lambda: _ladder_encoder(first.pid), seconds=60, what="the encode")
        time.sleep(2.5)  # longer than the visibility timeout: the lease must have been renewed
        assert first.poll() is None and Path(f"/proc/{encoder}").exists()
        assert queue_client(TRANSCODE_QUEUE).peek_messages() == []
        os.killpg(first.pid, signal.SIGKILL)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    _wait_for(lambda: not Path(f"/proc/{encoder}").exists(), seconds=10, what="ffmpeg's end")

    second = _worker_process(*lease, TMPDIR=str(tmp_path))
    try:
        results: list[MediaResult] = []

        def finished() -> bool:
            results.extend(_results())
            return bool(results) and results[-1].outcome == "ready"

        _wait_for(finished, seconds=90, what="the job's result")
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)
    assert [(r.outcome, r.attempt) for r in results] == [
        ("processing", 1),
        ("processing", 2),
        ("ready", 2),
    ]
    ready = results[-1]
    files = _outputs(job)
    variants = _master(_read(job, "master.m3u8").decode())
    assert [v["URI"] for v in variants] == [r.playlist for r in ready.renditions]
    expected = {"master.m3u8", "poster.jpg", MANIFEST}
    for rendition in ready.renditions:
        init, segments = _media_playlist(_read(job, rendition.playlist).decode())
        assert sum(duration for duration, _ in segments) == pytest.approx(20.0, abs=0.1)
        expected |= {
            f"{rendition.name}/{name}" for name in ["index.m3u8", init, *(s for _, s in segments)]
        }
    assert set(files) == expected  # one complete set, nothing left over
    assert _queued(TRANSCODE_QUEUE) == 0
    # The second worker cleaned up after itself; only the killed one's folder is left.
    assert len(list(tmp_path.glob("media-job-*"))) == 1
