"""The HLS ladder as configuration, the rungs a source gets, and the one ffmpeg command."""

import json
from pathlib import Path

import pytest

from media_pipelines.encode import (
    attributes,
    ladder_command,
    playlist_seconds,
    read_master,
    settle_init_segments,
)
from media_pipelines.ladder import PROFILES, LadderError, load_ladder, plan_rungs
from media_pipelines.probe import AudioStream, VideoStream

VIDEO = VideoStream(index=0, codec="h264", width=1920, height=1080, pix_fmt="yuv420p", fps=30)
AUDIO = AudioStream(index=1, codec="aac", sample_rate=44_100, channels=1)


def _sizes(width: int, height: int, ladder: str = "default") -> list[tuple[str, int, int]]:
    rungs = plan_rungs(load_ladder(ladder), source_width=width, source_height=height)
    return [(rung.name, rung.width, rung.height) for rung in rungs]


def test_default_profile_is_the_four_rung_ladder() -> None:
    ladder = load_ladder("default")
    assert [(r.name, r.width, r.height, r.video_bitrate) for r in ladder.rungs] == [
        ("1080p", 1920, 1080, 5_000_000),
        ("720p", 1280, 720, 3_000_000),
        ("540p", 960, 540, 1_800_000),
        ("360p", 640, 360, 800_000),
    ]
    assert (ladder.audio_bitrate, ladder.audio_sample_rate, ladder.audio_channels) == (
        128_000,
        48_000,
        2,
    )
    assert (ladder.gop_seconds, ladder.segment_seconds) == (2, 4)


def test_tiny_profile_has_two_small_rungs() -> None:
    ladder = load_ladder("tiny")
    assert [(r.name, r.height, r.video_bitrate) for r in ladder.rungs] == [
        ("240p", 240, 400_000),
        ("144p", 144, 150_000),
    ]
    assert ladder.audio_bitrate == 64_000


def test_a_json_file_is_a_ladder(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    path.write_text(
        json.dumps(
            {
                "name": "mine",
                "audio_bitrate": 96_000,
                "rungs": [
                    {"name": "480p", "width": 854, "height": 480, "video_bitrate": 1_200_000},
                    {
                        "name": "240p",
                        "width": 426,
                        "height": 240,
                        "video_bitrate": 300_000,
                        "maxrate": 400_000,
                        "bufsize": 500_000,
                    },
                ],
            }
        )
    )
    ladder = load_ladder(str(path))
    assert [rung.name for rung in ladder.rungs] == ["480p", "240p"]
    first, second = ladder.rungs
    assert (first.peak_bitrate, first.buffer_bits) == (1_320_000, 2_400_000)
    assert (second.peak_bitrate, second.buffer_bits) == (400_000, 500_000)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"name": "x", "rungs": []}, "at least 1"),
        (
            {
                "name": "x",
                "rungs": [
                    {"name": "a", "width": 426, "height": 240, "video_bitrate": 400_000},
                    {"name": "a", "width": 256, "height": 144, "video_bitrate": 150_000},
                ],
            },
            "unique",
        ),
        (
            {
                "name": "x",
                "rungs": [
                    {"name": "small", "width": 256, "height": 144, "video_bitrate": 150_000},
                    {"name": "big", "width": 426, "height": 240, "video_bitrate": 400_000},
                ],
            },
            "largest down",
        ),
        (
            {
                "name": "x",
                "rungs": [{"name": "../x", "width": 256, "height": 144, "video_bitrate": 1}],
            },
            "pattern",
        ),
        (
            {
                "name": "x",
                "segment_seconds": 5,
                "rungs": [{"name": "a", "width": 256, "height": 144, "video_bitrate": 150_000}],
            },
            "multiple of gop_seconds",
        ),
    ],
    ids=["no-rungs", "duplicate-names", "wrong-order", "unsafe-name", "segment-not-gops"],
)
def test_a_bad_ladder_file_is_refused(tmp_path: Path, content: object, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(LadderError, match=message):
        load_ladder(str(path))


def test_an_unknown_profile_or_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LadderError, match="unknown ladder 'huge'"):
        load_ladder("huge")
    with pytest.raises(LadderError, match="cannot read"):
        load_ladder(str(tmp_path / "missing.json"))


def test_rungs_above_the_source_are_skipped() -> None:
    assert _sizes(1920, 1080) == [
        ("1080p", 1920, 1080),
        ("720p", 1280, 720),
        ("540p", 960, 540),
        ("360p", 640, 360),
    ]
    assert _sizes(1280, 720) == [("720p", 1280, 720), ("540p", 960, 540), ("360p", 640, 360)]
    assert _sizes(1000, 562) == [("540p", 960, 540), ("360p", 640, 360)]
    assert _sizes(480, 270, "tiny") == [("240p", 426, 240), ("144p", 256, 144)]
    assert _sizes(320, 180, "tiny") == [("144p", 256, 144)]


def test_other_shapes_keep_their_aspect_and_are_never_upscaled() -> None:
    # Cinema width fills the 1080p box's width: kept, at its own height.
    assert _sizes(1920, 800)[:2] == [("1080p", 1920, 800), ("720p", 1280, 534)]
    # 4:3 fills the box's height.
    assert _sizes(1440, 1080)[:2] == [("1080p", 1440, 1080), ("720p", 960, 720)]
    # Portrait turns the boxes.
    assert _sizes(1080, 1920)[:2] == [("1080p", 1080, 1920), ("720p", 720, 1280)]
    # Smaller than every box: the smallest rung at the source's own (even) size.
    assert _sizes(201, 113, "tiny") == [("144p", 200, 112)]
    for width, height in [(1920, 800), (1440, 1080), (1080, 1920), (3840, 2160), (854, 480)]:
        for _, rung_width, rung_height in _sizes(width, height):
            assert rung_width <= width and rung_height <= height
            assert rung_width % 2 == 0 and rung_height % 2 == 0


def _value(command: list[str], option: str) -> str:
    return command[command.index(option) + 1]


def test_the_ladder_is_one_ffmpeg_command(tmp_path: Path) -> None:
    ladder = PROFILES["default"]
    rungs = plan_rungs(ladder, source_width=1920, source_height=1080)
    command = ladder_command(
        ffmpeg="ffmpeg",
        source=tmp_path / "source",
        output_dir=tmp_path / "out",
        video=VIDEO,
        audio=AUDIO,
        ladder=ladder,
        rungs=rungs,
        preset="veryfast",
    )
    assert command[0] == "ffmpeg" and command.count("-i") == 1
    graph = _value(command, "-filter_complex")
    assert graph.startswith("[0:0]split=4[s0][s1][s2][s3];")
    assert "[s1]scale=1280:720:flags=bicubic,setsar=1,format=yuv420p[v1]" in graph
    assert [command[i + 1] for i, a in enumerate(command) if a == "-map"] == [
        "[v0]",
        "0:1",
        "[v1]",
        "0:1",
        "[v2]",
        "0:1",
        "[v3]",
        "0:1",
    ]
    expected = {
        "-c:v": "libx264",
        "-profile:v": "high",
        "-preset": "veryfast",
        "-g": "60",
        "-sc_threshold": "0",
        "-flags": "+cgop",
        "-force_key_frames": "expr:gte(t,n_forced*2)",
        "-b:v:0": "5000k",
        "-maxrate:v:0": "5500k",
        "-bufsize:v:0": "10000k",
        "-b:v:3": "800k",
        "-c:a": "aac",
        "-b:a": "128k",
        "-ar": "48000",
        "-ac": "2",
        "-f": "hls",
        "-hls_time": "4",
        "-hls_playlist_type": "vod",
        "-hls_segment_type": "fmp4",
        "-master_pl_name": "master.m3u8",
        "-var_stream_map": "v:0,a:0,name:1080p v:1,a:1,name:720p v:2,a:2,name:540p "
        "v:3,a:3,name:360p",
        "-hls_segment_filename": str(tmp_path / "out" / "%v" / "seg_%05d.m4s"),
        "-start_number": "1",
    }
    assert {option: _value(command, option) for option in expected} == expected
    assert command[-1] == str(tmp_path / "out" / "%v" / "index.m3u8")


def test_a_source_without_audio_gets_video_only_variants(tmp_path: Path) -> None:
    ladder = PROFILES["tiny"]
    rungs = plan_rungs(ladder, source_width=480, source_height=270)
    command = ladder_command(
        ffmpeg="ffmpeg",
        source=tmp_path / "source",
        output_dir=tmp_path / "out",
        video=VideoStream(index=2, codec="vp9", width=480, height=270, pix_fmt=None, fps=25),
        audio=None,
        ladder=ladder,
        rungs=rungs,
        preset="ultrafast",
    )
    assert _value(command, "-var_stream_map") == "v:0,name:240p v:1,name:144p"
    assert "-c:a" not in command and "0:1" not in command
    assert _value(command, "-filter_complex").startswith("[0:2]split=2")
    assert _value(command, "-g") == "50"


def test_init_segments_get_their_plain_name(tmp_path: Path) -> None:
    rungs = plan_rungs(PROFILES["tiny"], source_width=480, source_height=270)
    for number, rung in enumerate(rungs):
        folder = tmp_path / rung.name
        folder.mkdir()
        (folder / f"init_{number}.mp4").write_bytes(b"init")
        (folder / "index.m3u8").write_text(
            f'#EXTM3U\n#EXT-X-MAP:URI="init_{number}.mp4"\n#EXTINF:4.0,\nseg_00001.m4s\n'
        )
    settle_init_segments(tmp_path, rungs)
    for rung in rungs:
        assert sorted(p.name for p in (tmp_path / rung.name).iterdir()) == [
            "index.m3u8",
            "init.mp4",
        ]
        assert 'URI="init.mp4"' in (tmp_path / rung.name / "index.m3u8").read_text()


def test_playlist_reading() -> None:
    master = (
        "#EXTM3U\n#EXT-X-VERSION:7\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=510400,RESOLUTION=426x240,CODECS="avc1.640015,mp4a.40.2"\n'
        "240p/index.m3u8\n\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=235400,RESOLUTION=256x144,CODECS="avc1.64000c,mp4a.40.2"\n'
        "144p/index.m3u8\n"
    )
    variants = read_master(master)
    assert [(v.uri, v.bandwidth, v.resolution, v.codecs) for v in variants] == [
        ("240p/index.m3u8", 510_400, "426x240", "avc1.640015,mp4a.40.2"),
        ("144p/index.m3u8", 235_400, "256x144", "avc1.64000c,mp4a.40.2"),
    ]
    assert attributes('#EXT-X-MAP:URI="init.mp4",BYTERANGE="5@0"') == {
        "URI": "init.mp4",
        "BYTERANGE": "5@0",
    }
    media = "#EXTM3U\n#EXTINF:4.004000,\nseg_00001.m4s\n#EXTINF:1.5,\nseg_00002.m4s\n"
    assert playlist_seconds(media) == pytest.approx(5.504)
