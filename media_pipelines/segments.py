"""What written HLS segments measure: bit rates, first presentation timestamp, frame rate.

The master playlist's BANDWIDTH and AVERAGE-BANDWIDTH follow RFC 8216 (4.3.4.2): the peak
segment bit rate is the largest bit rate of any contiguous set of segments whose total
duration is between 0.5 and 1.5 times the target duration; the average is the sum of all
segment sizes over the playlist's duration. Both count media segments only: the init
segment (EXT-X-MAP) is no media segment, and a player loads it once per rung it plays.

Timestamps are read with ffmpeg's `framecrc` muxer in stream copy (nothing is decoded; ffmpeg
is always there, ffprobe not). fMP4 is read without its edit list: players put fragments on
the timeline by their raw decode times (hls.js sets the SourceBuffer's timestampOffset to
minus the first fragment's tfdt), which is also the clock X-TIMESTAMP-MAP's MPEGTS refers to.
"""

import itertools
import math
import statistics
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from media_pipelines.probe import source_input
from media_pipelines.tools import run

MPEGTS_HZ = 90_000
# A frame interval outside this is no frame rate a viewer's player shows.
_MIN_FPS, _MAX_FPS = 1, 240
_READ_SECONDS = 30.0


@dataclass(frozen=True)
class BitRates:
    """bits/s of one media playlist's segments, as RFC 8216 defines them."""

    peak: int
    average: int


def segment_bit_rates(durations: list[float], sizes: list[int]) -> BitRates:
    """Peak and average bit rate of a playlist's media segments (durations in seconds from
    EXTINF, sizes in bytes, in playlist order)."""
    if not durations or len(durations) != len(sizes):
        raise ValueError("every segment needs one duration and one size")
    if any(duration <= 0 for duration in durations) or any(size < 0 for size in sizes):
        raise ValueError("segment durations must be positive and sizes not negative")
    target = max(1, math.ceil(max(durations)))
    low, high = 0.5 * target, 1.5 * target
    peak = 0.0
    for start in range(len(durations)):
        seconds, bits = 0.0, 0
        for end in range(start, len(durations)):
            seconds += durations[end]
            bits += 8 * sizes[end]
            if seconds > high:
                break
            if seconds >= low:
                peak = max(peak, bits / seconds)
    if peak == 0.0:
        # Too short for any set of 0.5 target durations (a clip below half a second): the
        # one rate there is, the whole playlist's.
        peak = 8 * sum(sizes) / sum(durations)
    average = 8 * sum(sizes) / sum(durations)
    return BitRates(peak=math.ceil(peak), average=math.ceil(average))


def playlist_segments(text: str) -> list[tuple[float, str]]:
    """(EXTINF duration, URI) of each media segment of a media playlist, in order."""
    segments: list[tuple[float, str]] = []
    duration: float | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            segments.append((duration, line))
            duration = None
    return segments


@dataclass(frozen=True)
class VideoTiming:
    """The first video presentation timestamp (90 kHz) and the frame rate of a segment."""

    start_pts_90khz: int
    frame_rate: float | None


def video_timing(framecrc: str) -> VideoTiming:
    """The timing of stream 0 in ffmpeg `framecrc` output: its lowest PTS, and the frame rate
    of its most common PTS step (the constant rate of the encoders' output, robust against
    a frame dropped or doubled)."""
    time_base = Fraction(1, MPEGTS_HZ)
    stamps: list[int] = []
    for line in framecrc.splitlines():
        if line.startswith("#tb 0:"):
            numerator, _, denominator = line.split(":", 1)[1].strip().partition("/")
            time_base = Fraction(int(numerator), int(denominator or 1))
            continue
        fields = [field.strip() for field in line.split(",")]
        if line.startswith("#") or len(fields) < 6 or fields[0] != "0":
            continue
        pts = int(fields[2])
        if pts != -(2**63):  # AV_NOPTS_VALUE: a packet without a timestamp
            stamps.append(pts)
    if not stamps:
        raise ValueError("the segment holds no video packet with a timestamp")
    stamps.sort()
    start = round(stamps[0] * time_base * MPEGTS_HZ)
    steps = [later - earlier for earlier, later in itertools.pairwise(stamps) if later > earlier]
    frame_rate = None
    if steps:
        fps = 1 / (statistics.mode(steps) * time_base)
        if _MIN_FPS <= fps <= _MAX_FPS:
            frame_rate = round(float(fps), 3)
    return VideoTiming(start_pts_90khz=start, frame_rate=frame_rate)


def read_video_timing(ffmpeg: str, segment: Path, *, fmp4: bool) -> VideoTiming:
    """The video timing of one segment file (for fMP4: its init segment and media segment
    joined), read by stream copy."""
    # ignore_editlist is an option of the MP4 demuxer only; other demuxers refuse it.
    raw = ["-ignore_editlist", "1"] if fmp4 else []
    output = run(
        [
            ffmpeg,
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-copyts",
            *raw,
            *source_input(segment),
            "-map",
            "0:v:0",
            "-c",
            "copy",
            "-f",
            "framecrc",
            "-",
        ],
        hide=[str(segment.parent) + "/"],
        timeout=_READ_SECONDS,
    )
    return video_timing(output)
