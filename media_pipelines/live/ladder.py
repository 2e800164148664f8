"""The live HLS ladder and the one ffmpeg process that reads a session from nginx-rtmp.

Live profiles have 2 s segments and GOPs (closed, aligned across rungs by forcing a key frame
every 2 s of input time); a JSON ladder file (see media_pipelines.ladder) is taken as it is.
The same process writes a stream copy of the whole input as MPEG-TS to its stdout: the
recording, and the measure of the input bitrate.
"""

from pathlib import Path

from media_pipelines.ladder import Ladder, Rung, load_ladder

PLAYLIST = "index.m3u8"
LIST_SIZE = 15

LIVE_PROFILES: dict[str, Ladder] = {
    "default": Ladder(
        name="live-default",
        rungs=(
            Rung(name="720p", width=1280, height=720, video_bitrate=3_000_000),
            Rung(name="540p", width=960, height=540, video_bitrate=1_800_000),
            Rung(name="360p", width=640, height=360, video_bitrate=800_000),
        ),
        audio_bitrate=128_000,
        gop_seconds=2,
        segment_seconds=2,
    ),
    # Tests and quick local runs.
    "tiny": Ladder(
        name="live-tiny",
        rungs=(
            Rung(name="240p", width=426, height=240, video_bitrate=400_000),
            Rung(name="144p", width=256, height=144, video_bitrate=150_000),
        ),
        audio_bitrate=64_000,
        gop_seconds=2,
        segment_seconds=2,
    ),
}


def live_ladder(name_or_path: str) -> Ladder:
    """A live profile by name (`default`, `tiny`), or the ladder in a JSON file."""
    return LIVE_PROFILES.get(name_or_path) or load_ladder(name_or_path)


def _scale(rung: Rung) -> str:
    # Fit into the rung's box without ever scaling up (the source size is not known ahead).
    return (
        f"scale=w='min(iw,{rung.width})':h='min(ih,{rung.height})'"
        ":force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1"
    )


# Live rungs carry at most this frame rate: a 50 or 60 fps source is halved (an even cadence),
# which keeps the encoding work of a 1080p60 stream within what a small ingest can do live.
MAX_OUTPUT_FRAME_RATE = 30
# How much of the stream ffmpeg may read to find its video: an encoder may send sound first,
# or begin without a key frame. ffmpeg stops looking as soon as both streams are there.
PROBE_SECONDS = 10
PROBE_BYTES = 64 * 1024 * 1024
# Progress lines ("speed=0.98x") in the log this often: the health reports read them.
STATS_SECONDS = 2


def output_frame_rate(source: float) -> float:
    """The rungs' frame rate for a source's (what `_frame_rate`'s filter makes of it)."""
    return source / 2 if source > MAX_OUTPUT_FRAME_RATE + 1 else source


def _frame_rate() -> str:
    limit = MAX_OUTPUT_FRAME_RATE
    return f"fps=fps='if(gt(source_fps,{limit + 1}),source_fps/2,source_fps)'"


def ffmpeg_command(
    *, ffmpeg: str, source: str, output_dir: Path, ladder: Ladder, preset: str
) -> list[str]:
    """Read `source` (RTMP) and write the HLS ladder into `output_dir`/{rung}/ plus the
    stream-copied recording to stdout."""
    count = len(ladder.rungs)
    if count == 1:
        graph = f"[0:v:0]{_frame_rate()},{_scale(ladder.rungs[0])}[v0]"
    else:
        outputs = "".join(f"[s{i}]" for i in range(count))
        graph = ";".join(
            [f"[0:v:0]{_frame_rate()},split={count}{outputs}"]
            + [f"[s{i}]{_scale(rung)}[v{i}]" for i, rung in enumerate(ladder.rungs)]
        )
    # RTMP carries FLV and nothing else: no other demuxer may read what a publisher sends.
    # Info level: the input's streams (read by media_pipelines.live.health) and progress.
    args = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "info"]
    args += ["-stats_period", str(STATS_SECONDS)]
    args += ["-analyzeduration", str(PROBE_SECONDS * 1_000_000), "-probesize", str(PROBE_BYTES)]
    args += ["-f", "flv", "-i", source]
    args += ["-filter_complex", graph]
    for index in range(count):
        args += ["-map", f"[v{index}]"]
    for _ in range(count):
        args += ["-map", "0:a:0"]
    args += ["-c:v", "libx264", "-preset", preset, "-tune", "zerolatency", "-pix_fmt", "yuv420p"]
    for index, rung in enumerate(ladder.rungs):
        args += [
            f"-b:v:{index}",
            str(rung.video_bitrate),
            f"-maxrate:v:{index}",
            str(rung.peak_bitrate),
            f"-bufsize:v:{index}",
            str(rung.buffer_bits),
        ]
    args += [
        "-force_key_frames",
        f"expr:gte(t,n_forced*{ladder.gop_seconds})",
        "-sc_threshold",
        "0",
        "-flags",
        "+cgop",
        "-c:a",
        "aac",
        "-b:a",
        str(ladder.audio_bitrate),
        "-ar",
        str(ladder.audio_sample_rate),
        "-ac",
        str(ladder.audio_channels),
        "-max_muxing_queue_size",
        "1024",
        "-f",
        "hls",
        "-hls_time",
        str(ladder.segment_seconds),
        "-hls_list_size",
        str(LIST_SIZE),
        # temp_file: segments and playlists appear complete (renamed), never half-written.
        "-hls_flags",
        "independent_segments+temp_file+delete_segments",
        "-hls_delete_threshold",
        "5",
        "-hls_segment_type",
        "mpegts",
        "-master_pl_name",
        "master.m3u8",
        "-var_stream_map",
        " ".join(f"v:{i},a:{i},name:{rung.name}" for i, rung in enumerate(ladder.rungs)),
        "-hls_segment_filename",
        str(output_dir / "%v" / "seg_%05d.ts"),
        str(output_dir / "%v" / PLAYLIST),
    ]
    args += ["-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", "-f", "mpegts", "pipe:1"]
    return args
