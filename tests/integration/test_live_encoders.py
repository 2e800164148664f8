"""Live ingest with what streamers' encoders send (P20): long and irregular GOPs, B-frames,
sound before the picture, 25 to 60 fps up to 1080p60; and streams that cannot be used, which
the channel's health explains while the encoder is disconnected.

Each source is encoded once ahead into an FLV file and pushed in real time with `-c copy`, so
the pushing costs no encoder time; the ingest is the real one (nginx-rtmp, ffmpeg, uploads).
"""

import dataclasses
import json
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from media_pipelines.live.hls import parse_playlist
from shared.clients import blob_container_name, blob_service
from shared.live import service as live_service
from tests import helpers
from tests.integration.test_live import RUNG, _admin, _blob_text, _channel, _until
from tests.live_ingest import Ingest


@dataclasses.dataclass(frozen=True)
class Source:
    name: str
    width: int
    height: int
    rate: str  # as ffmpeg takes it: "30", "30000/1001"
    options: tuple[str, ...]  # the video encoder's
    seconds: float = 8.0
    audio: bool = True
    video: bool = True
    # Sound alone for this long before the first picture.
    video_delay: float = 0.0
    video_codec: tuple[str, ...] = ("-c:v", "libx264", "-pix_fmt", "yuv420p")


def _encode(source: Source, folder: Path) -> Path:
    """The source as an FLV file, as an encoder would send it."""
    target = folder / f"{source.name}.flv"
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    size = f"{source.width}x{source.height}"
    inputs = 0
    if source.video:
        if source.video_delay:
            command += ["-itsoffset", str(source.video_delay)]
        command += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={source.rate}"]
        inputs += 1
    if source.audio:
        command += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
        inputs += 1
    command += ["-t", str(source.seconds + source.video_delay)]
    if source.video:
        command += ["-map", "0:v", *source.video_codec, *source.options]
    if source.audio:
        command += ["-map", f"{inputs - 1}:a", "-c:a", "aac", "-b:a", "96k"]
    command += ["-f", "flv", str(target)]
    subprocess.run(command, check=True, timeout=120)
    return target


def _push(ingest: Ingest, key: str, file: Path) -> "subprocess.Popen[bytes]":
    return subprocess.Popen(
        [
            *("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-i", str(file)),
            *("-c", "copy", "-f", "flv", ingest.url(key)),
        ],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _frame_rate(data: bytes) -> float:
    with tempfile.NamedTemporaryFile(suffix=".ts") as handle:
        handle.write(data)
        handle.flush()
        done = subprocess.run(
            [
                *("ffprobe", "-v", "error", "-select_streams", "v:0"),
                *("-show_entries", "stream=r_frame_rate", "-of", "json", handle.name),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    numerator, denominator = json.loads(done.stdout)["streams"][0]["r_frame_rate"].split("/")
    return int(numerator) / int(denominator)


@pytest.fixture(scope="module")
def sources_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="live-sources-") as folder:
        yield Path(folder)


def _new_session(webcast_id: str, previous: str | None) -> Any:
    live = live_service.current_playback(webcast_id=webcast_id)
    return live if live is not None and live.session_id != previous else None


def _playing(webcast_id: str, session_id: str) -> Any:
    live = live_service.current_playback(webcast_id=webcast_id)
    if live is None or live.session_id != session_id:
        return None
    return live if live.state != "starting" else None


PLAYABLE = [
    # x264's default GOP: a key frame every 250 frames (8.3 s at 30 fps), with B-frames.
    (Source("long-gop-720p30", 1280, 720, "30", ("-preset", "veryfast")), 30.0),
    # Key frames at scene cuts only, irregular; B-frames; PAL rate.
    (
        Source(
            "irregular-gop-25",
            960,
            540,
            "25",
            ("-preset", "veryfast", "-bf", "2", "-force_key_frames", "0,0.6,3.7,4.1"),
        ),
        25.0,
    ),
    # Sound for 2.5 s before the first picture; NTSC rate.
    (
        Source(
            "audio-first-2997",
            640,
            360,
            "30000/1001",
            ("-preset", "ultrafast", "-g", "60"),
            video_delay=2.5,
        ),
        30000 / 1001,
    ),
    # 1080p60 and 50 fps sources: the ladder carries half their rate (an even cadence).
    (Source("1080p60", 1920, 1080, "60", ("-preset", "ultrafast", "-g", "120")), 30.0),
    (Source("720p50", 1280, 720, "50", ("-preset", "ultrafast", "-g", "100")), 25.0),
]


@pytest.mark.claim("P20")
def test_encoders_streamers_use_go_live_from_their_first_frame(
    live_app: FastAPI, ingest: Ingest, sources_dir: Path
):
    owner = _admin(live_app, "live-encoders")
    webcast_id = helpers.new_webcast(owner, "live-encoders")
    key = owner.post(f"/api/webcasts/{webcast_id}/live").json()["stream_key"]
    live_container = blob_service().get_container_client(blob_container_name("live"))
    previous: str | None = None
    for source, expected_rate in PLAYABLE:
        file = _encode(source, sources_dir)
        pusher = _push(ingest, key, file)
        session = _until(
            lambda: _new_session(webcast_id, previous),  # noqa: B023 - called in the loop
            what=f"{source.name}: a session",
            ingest=ingest,
        )
        previous = session.session_id
        live = _until(
            lambda: _playing(webcast_id, session.session_id),  # noqa: B023
            what=f"{source.name}: the stream to play",
            ingest=ingest,
            timeout=40,
        )
        health = _channel(owner, webcast_id)["health"]
        assert health["input"]["width"] == source.width, (source.name, health)
        assert health["input"]["height"] == source.height
        assert health["input"]["video_codec"] == "h264" and health["input"]["audio_codec"] == "aac"
        assert [p for p in health["problems"] if p["severity"] == "error"] == [], health
        _, errors = pusher.communicate(timeout=60)
        assert pusher.returncode == 0, (source.name, errors)
        stopped = _until(
            lambda: (c := _channel(owner, webcast_id))["state"] == "stopped" and c,
            what=f"{source.name}: the session to end",
            ingest=ingest,
        )
        assert stopped["last_session"]["end_reason"] == "stopped"
        final = _blob_text("live", f"{live.prefix}{RUNG}/index.m3u8") or ""
        playlist = parse_playlist(final)
        assert playlist is not None and playlist.ended and playlist.media_sequence == 0
        # From the first frame: had the ladder waited for the second key frame (8.3 s into
        # the long-GOP source), most of the stream would be missing.
        pushed = source.seconds + source.video_delay
        assert sum(playlist.durations) > pushed - 1.5, (source.name, playlist.durations)
        first = live_container.get_blob_client(f"{live.prefix}{RUNG}/{playlist.segments[0]}")
        rate = _frame_rate(first.download_blob().readall())
        assert abs(rate - expected_rate) < 0.01, (source.name, rate)


@dataclasses.dataclass(frozen=True)
class Unusable:
    source: Source
    code: str
    words: str  # what the message says, in part


UNUSABLE = [
    Unusable(
        Source("no-picture", 640, 360, "30", (), seconds=20, video=False),
        "no_video",
        "no picture",
    ),
    Unusable(
        # Told after the ingest's probing time (10 s) has passed without sound.
        Source(
            "no-sound",
            640,
            360,
            "30",
            ("-preset", "ultrafast", "-g", "60"),
            seconds=20,
            audio=False,
        ),
        "no_audio",
        "no sound",
    ),
    Unusable(
        Source("1440p", 2560, 1440, "30", ("-preset", "ultrafast", "-g", "60")),
        "picture_too_large",
        "2560x1440",
    ),
    Unusable(
        Source(
            "sorenson",
            640,
            360,
            "30",
            ("-g", "60"),
            video_codec=("-c:v", "flv1", "-pix_fmt", "yuv420p"),
        ),
        "unsupported_video",
        "'flv1'",
    ),
]


@pytest.mark.claim("P20")
def test_unusable_streams_are_explained_and_their_encoder_disconnected(
    live_app: FastAPI, ingest: Ingest, sources_dir: Path
):
    owner = _admin(live_app, "live-unusable")
    webcast_id = helpers.new_webcast(owner, "live-unusable")
    key = owner.post(f"/api/webcasts/{webcast_id}/live").json()["stream_key"]
    previous: str | None = None
    for case in UNUSABLE:
        pusher = _push(ingest, key, _encode(case.source, sources_dir))
        session = _until(
            lambda: _new_session(webcast_id, previous),  # noqa: B023
            what=f"{case.source.name}: a session",
            ingest=ingest,
        )
        previous = session.session_id
        if case.code == "no_video":
            # Sound alone: within seconds the streamer is told that the stream has not started.
            waiting = _until(
                lambda: [
                    p
                    for p in _channel(owner, webcast_id)["health"]["problems"]
                    if p["code"] == "waiting_for_video"
                ],
                what="the channel to say it waits for a picture",
                ingest=ingest,
            )
            assert "needs both a picture and sound" in waiting[0]["message"]
        pusher.communicate(timeout=60)
        # Disconnected before the file's end, not left pushing into nothing.
        assert pusher.returncode != 0, f"{case.source.name}: the encoder was not disconnected"
        channel = _until(
            lambda: (c := _channel(owner, webcast_id))["state"] == "stopped" and c,
            what=f"{case.source.name}: the session to end",
            ingest=ingest,
        )
        assert channel["last_session"]["id"] == session.session_id
        assert channel["last_session"]["end_reason"] == "refused"
        problems = channel["health"]["problems"]
        assert [p["code"] for p in problems if p["severity"] == "error"] == [case.code], problems
        message = next(p["message"] for p in problems if p["code"] == case.code)
        assert case.words in message, message
        viewer_summary = live_service.current_playback(webcast_id=webcast_id)
        assert viewer_summary is not None and viewer_summary.state == "stopped"
