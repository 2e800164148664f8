"""The ingest's reading of ffmpeg's input description, its words for streamers, and the
program date-times it writes into live playlists."""

from media_pipelines.live import health
from media_pipelines.live.hls import parse_playlist, with_capture_times
from shared.live.models import ProblemCode, StreamInput

LOG = (
    "Input #0, flv, from 'rtmp://127.0.0.1:1935/live/abc':\n"
    "  Metadata:\n"
    "    encoder         : obs-output module (libobs version 30.1.2)\n"
    "  Duration: 00:00:00.00, start: 0.000000, bitrate: N/A\n"
    "  Stream #0:0: Audio: aac (LC), 48000 Hz, stereo, fltp, 160 kb/s\n"
    "  Stream #0:1: Video: h264 (High), yuv420p(tv, bt709, progressive), 1920x1080 "
    "[SAR 1:1 DAR 16:9], 59.94 fps, 59.94 tbr, 1k tbn\n"
    "Stream mapping:\n"
)


def test_the_input_is_read_once_its_block_is_whole():
    found = health.read_input(LOG)
    assert found == StreamInput(
        video_codec="h264",
        width=1920,
        height=1080,
        frame_rate=59.94,
        audio_codec="aac",
        audio_sample_rate=48000,
        audio_channels=2,
    )
    assert health.input_problems(found) == []
    # ffmpeg may be caught writing the block: a block without the line after it is not read,
    # or a stream still being written would look missing.
    cut = LOG[: LOG.index("  Stream #0:1")]
    assert health.read_input(cut) is None
    assert health.read_input(LOG[: LOG.index("Stream mapping")]) is None
    assert health.read_input("[flv @ 0x1] Packet mismatch\n") is None


def test_what_cannot_be_used_is_said_in_words():
    four_k = StreamInput(video_codec="h264", width=3840, height=2160, frame_rate=30.0)
    four_k.audio_codec = "aac"
    (problem,) = health.input_problems(four_k)
    assert problem.code == ProblemCode.picture_too_large and "3840x2160" in problem.message
    fast = StreamInput(
        video_codec="h264", width=1280, height=720, frame_rate=120, audio_codec="aac"
    )
    assert [p.code for p in health.input_problems(fast)] == [ProblemCode.picture_too_large]
    hevc = StreamInput(video_codec="hevc", width=1280, height=720, frame_rate=30, audio_codec="aac")
    (problem,) = health.input_problems(hevc)
    assert problem.code == ProblemCode.unsupported_video and "H.264" in problem.message
    silent = StreamInput(video_codec="h264", width=1280, height=720, frame_rate=30)
    assert [p.code for p in health.input_problems(silent)] == [ProblemCode.no_audio]
    assert health.refusing(health.input_problems(silent))
    sound_only = StreamInput(audio_codec="aac")
    assert [p.code for p in health.input_problems(sound_only)] == [ProblemCode.no_video]
    # A 1080p encoder that codes 1088 lines is taken.
    coded = StreamInput(
        video_codec="h264", width=1920, height=1088, frame_rate=60, audio_codec="aac"
    )
    assert health.input_problems(coded) == []


def test_an_unexplained_exit_still_tells_the_streamer_something():
    (problem,) = health.exit_problems("Error while decoding stream #0:1\n", None)
    assert problem.code == ProblemCode.processing_failed and "reconnect" in problem.message
    no_video = "Stream specifier ':v:0' in filtergraph description [0:v:0]null matches no streams."
    assert [p.code for p in health.exit_problems(no_video, None)] == [ProblemCode.no_video]


PLAYLIST = """\
#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-PROGRAM-DATE-TIME:2026-12-02T08:00:09.000+0000
#EXTINF:2.000000,
seg_00007.ts
#EXTINF:1.966667,
seg_00008.ts
"""


def test_program_date_times_come_from_the_capture_clock():
    playlist = parse_playlist(PLAYLIST)
    assert playlist is not None and playlist.durations == [2.0, 1.966667]
    capture = 1_796_198_400.0  # 2026-12-02T08:00:00Z
    dated = with_capture_times(
        PLAYLIST,
        media_sequence=playlist.media_sequence,
        starts={7: capture + 14.0, 8: capture + 16.0},
    )
    lines = dated.splitlines()
    # ffmpeg's own (the time it wrote the segment) is replaced; each segment gets its own.
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-12-02T08:00:09.000+0000" not in lines
    assert lines[4:] == [
        "#EXT-X-PROGRAM-DATE-TIME:2026-12-02T08:00:14.000Z",
        "#EXTINF:2.000000,",
        "seg_00007.ts",
        "#EXT-X-PROGRAM-DATE-TIME:2026-12-02T08:00:16.000Z",
        "#EXTINF:1.966667,",
        "seg_00008.ts",
    ]
    assert parse_playlist(dated) == playlist
