"""What a media file holds: streams, display size, duration and the video's keyframes.

ffprobe when there is one; otherwise ffmpeg's own `-i` report and a stream-copy `framecrc`
listing (no decoding), which the `imageio-ffmpeg` build (no ffprobe) can do.
Times are seconds from the file's start, the timeline a player shows and edits use.
"""

import json
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from media_pipelines.tools import ToolFailedError, Tools, execute, last_lines, run

# The container formats (ffmpeg demuxer names) a source may have: MP4/MOV and its family,
# Matroska/WebM, and MPEG-TS (live recordings and the worker's own edit intermediates).
# Everything else is refused before ffmpeg reads a byte of it: playlists (hls, concat) and
# other demuxers that open further files or URLs named inside the file would make a
# tenant's upload read the worker's local files (decision 0027).
ACCEPTED_FORMATS = ("mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "mpegts")
_NOT_ACCEPTED = re.compile(r"\[(\w+) @ 0x[0-9a-f]+\] Format not on whitelist")
_DEFAULT_FPS = 30.0
_LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}


class UnreadableMediaError(Exception):
    """The file is not media ffmpeg can read; `reason` says what ffmpeg found."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsupportedFormatError(UnreadableMediaError):
    """The file is in a container format that is not accepted; `format_name` is ffmpeg's."""

    def __init__(self, format_name: str) -> None:
        super().__init__(f"format {format_name} is not accepted")
        self.format_name = format_name


def source_input(path: Path) -> list[str]:
    """The ffmpeg/ffprobe arguments that open `path` as input, in an accepted format only."""
    return ["-format_whitelist", ",".join(ACCEPTED_FORMATS), "-i", str(path)]


def _refused_format(report: str) -> None:
    """UnsupportedFormatError when ffmpeg refused the file's format (its report says so)."""
    refused = _NOT_ACCEPTED.search(report)
    if refused is not None:
        raise UnsupportedFormatError(refused.group(1))


@dataclass(frozen=True)
class VideoStream:
    index: int
    codec: str
    width: int
    height: int
    pix_fmt: str | None
    fps: float
    sample_aspect: Fraction = Fraction(1)
    rotation: int = 0  # degrees, as the display matrix turns the picture

    @property
    def display_size(self) -> tuple[int, int]:
        """The picture as shown: square pixels, turned (ffmpeg autorotates when encoding)."""
        width = round(self.width * self.sample_aspect)
        if self.rotation % 180:
            return self.height, width
        return width, self.height


@dataclass(frozen=True)
class AudioStream:
    index: int
    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class MediaInfo:
    format_name: str
    start_time: float
    duration: float | None
    video: VideoStream | None
    audio: AudioStream | None


@dataclass(frozen=True)
class Frame:
    """One video packet: presentation time from the file's start, and whether it is a
    keyframe (a point where decoding can start)."""

    pts: float
    key: bool


def _fraction(text: str | None) -> Fraction | None:
    if not text:
        return None
    numerator, _, denominator = text.replace(":", "/").partition("/")
    try:
        value = Fraction(int(numerator), int(denominator or 1))
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _fps(*candidates: Fraction | float | None) -> float:
    for candidate in candidates:
        if candidate and 1 <= float(candidate) <= 240:
            return float(candidate)
    return _DEFAULT_FPS


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


# ---- with ffprobe ----------------------------------------------------------------------------


def _rotation(stream: dict[str, Any]) -> int:
    for side_data in stream.get("side_data_list") or []:
        if "rotation" in side_data:
            return round(float(side_data["rotation"])) % 360
    rotate = (stream.get("tags") or {}).get("rotate")
    return (-round(float(rotate))) % 360 if rotate else 0


def _probe_ffprobe(path: Path, ffprobe: str) -> MediaInfo:
    try:
        output = run(
            [
                ffprobe,
                "-v",
                "error",
                "-print_format",
                "json",
                "-show_format",
                "-show_streams",
                *source_input(path),
            ],
            hide=[str(path), str(path.parent) + "/"],
        )
    except ToolFailedError as error:
        _refused_format(error.message)
        raise UnreadableMediaError(error.message) from error
    found = json.loads(output or "{}")
    streams = found.get("streams") or []
    container = found.get("format") or {}
    if not container:
        raise UnreadableMediaError("no media container recognised")
    video: VideoStream | None = None
    audio: AudioStream | None = None
    for stream in streams:
        kind = stream.get("codec_type")
        if kind == "video" and video is None and stream.get("width"):
            if (stream.get("disposition") or {}).get("attached_pic"):
                continue  # cover art of an audio file, not a video
            video = VideoStream(
                index=int(stream["index"]),
                codec=str(stream.get("codec_name") or "unknown"),
                width=int(stream["width"]),
                height=int(stream["height"]),
                pix_fmt=stream.get("pix_fmt"),
                fps=_fps(
                    _fraction(stream.get("avg_frame_rate")), _fraction(stream.get("r_frame_rate"))
                ),
                sample_aspect=_fraction(stream.get("sample_aspect_ratio")) or Fraction(1),
                rotation=_rotation(stream),
            )
        elif kind == "audio" and audio is None and stream.get("codec_name"):
            audio = AudioStream(
                index=int(stream["index"]),
                codec=str(stream["codec_name"]),
                sample_rate=int(stream.get("sample_rate") or 0),
                channels=int(stream.get("channels") or 0),
            )
    return MediaInfo(
        format_name=str(container.get("format_name") or "unknown"),
        start_time=_float(container.get("start_time")) or 0.0,
        duration=_float(container.get("duration")),
        video=video,
        audio=audio,
    )


def _frames_ffprobe(path: Path, index: int, start_time: float, ffprobe: str) -> list[Frame]:
    output = run(
        [
            ffprobe,
            "-v",
            "error",
            "-select_streams",
            str(index),
            "-show_entries",
            "packet=pts_time,flags",
            "-of",
            "csv=p=0",
            *source_input(path),
        ],
        hide=[str(path)],
    )
    frames: list[Frame] = []
    for line in output.splitlines():
        fields = line.split(",")
        pts = _float(fields[0])
        flags = fields[1] if len(fields) > 1 else ""
        if pts is None or "D" in flags:
            continue
        frames.append(Frame(pts=round(pts - start_time, 6), key="K" in flags))
    return frames


# ---- with ffmpeg alone -----------------------------------------------------------------------

_INPUT = re.compile(r"^Input #0, ([^,]+(?:,[^,\s]+)*), from ", re.MULTILINE)
_DURATION = re.compile(r"Duration: (?:(\d+):(\d+):(\d+(?:\.\d+)?)|N/A)(?:, start: (-?[\d.]+))?")
_STREAM = re.compile(r"^\s*Stream #0:(\d+)(?:\[[^\]]*\])?(?:\([^)]*\))?: (Video|Audio): (.*)$")
_SIZE = re.compile(r", (\d{1,5})x(\d{1,5})")
_SAR = re.compile(r"\[SAR (\d+):(\d+)")
_FPS = re.compile(r", ([\d.]+) fps")
_TBR = re.compile(r", ([\d.]+k?) tbr")
_ROTATION = re.compile(r"displaymatrix: rotation of (-?[\d.]+) degrees")
_AUDIO = re.compile(r", (\d+) Hz, ([^,]+)")


def _pix_fmt(description: str) -> str | None:
    parts = description.split(", ", 2)
    if len(parts) < 2:
        return None
    match = re.match(r"(\w+)", parts[1])
    return match.group(1) if match else None


def _channels(layout: str) -> int:
    layout = layout.strip()
    match = re.match(r"(\d+) channels", layout)
    if match:
        return int(match.group(1))
    return _LAYOUT_CHANNELS.get(layout.split("(")[0], 2)


def _probe_ffmpeg(path: Path, ffmpeg: str) -> MediaInfo:
    report = execute([ffmpeg, "-hide_banner", "-nostdin", *source_input(path)]).stderr
    _refused_format(report)
    container = _INPUT.search(report)
    if container is None:
        raise UnreadableMediaError(last_lines(report, count=2, hide=[str(path)]))
    video: VideoStream | None = None
    audio: AudioStream | None = None
    lines = report.splitlines()
    for number, line in enumerate(lines):
        match = _STREAM.match(line)
        if match is None:
            continue
        index, kind, description = int(match.group(1)), match.group(2), match.group(3)
        if kind == "Video" and video is None and "(attached pic)" not in description:
            size = _SIZE.search(description)
            if size is None:
                continue
            sar = _SAR.search(description)
            fps = _FPS.search(description)
            tbr = _TBR.search(description)
            rotation = 0
            for following in lines[number + 1 : number + 8]:
                if _STREAM.match(following):
                    break
                turned = _ROTATION.search(following)
                if turned:
                    rotation = round(float(turned.group(1))) % 360
            video = VideoStream(
                index=index,
                codec=description.split()[0].rstrip(","),
                width=int(size.group(1)),
                height=int(size.group(2)),
                pix_fmt=_pix_fmt(description),
                fps=_fps(
                    float(fps.group(1)) if fps else None,
                    _float(tbr.group(1)) if tbr and not tbr.group(1).endswith("k") else None,
                ),
                sample_aspect=(_fraction(f"{sar.group(1)}/{sar.group(2)}") if sar else None)
                or Fraction(1),
                rotation=rotation,
            )
        elif kind == "Audio" and audio is None:
            details = _AUDIO.search(description)
            audio = AudioStream(
                index=index,
                codec=description.split()[0].rstrip(","),
                sample_rate=int(details.group(1)) if details else 0,
                channels=_channels(details.group(2)) if details else 2,
            )
    duration_match = _DURATION.search(report)
    duration: float | None = None
    start_time = 0.0
    if duration_match:
        if duration_match.group(1) is not None:
            hours, minutes, seconds = duration_match.group(1, 2, 3)
            duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        start_time = _float(duration_match.group(4)) or 0.0
    return MediaInfo(
        format_name=container.group(1),
        start_time=start_time,
        duration=duration,
        video=video,
        audio=audio,
    )


def _frames_ffmpeg(path: Path, index: int, start_time: float, ffmpeg: str) -> list[Frame]:
    # -copyts keeps the file's own timestamps (made relative below, as ffprobe's are);
    # -copyinkf keeps packets before the first keyframe, which stream copy drops otherwise.
    output = run(
        [
            ffmpeg,
            "-v",
            "error",
            "-nostdin",
            "-copyts",
            *source_input(path),
            "-map",
            f"0:{index}",
            "-c",
            "copy",
            "-copyinkf",
            "-f",
            "framecrc",
            "-",
        ],
        hide=[str(path)],
    )
    time_base = Fraction(1, 90_000)
    frames: list[Frame] = []
    for line in output.splitlines():
        if line.startswith("#tb 0:"):
            time_base = _fraction(line.split(":", 1)[1].strip()) or time_base
            continue
        if line.startswith("#") or not line.strip():
            continue
        fields = [field.strip() for field in line.split(",")]
        if len(fields) < 6:
            continue
        pts = int(fields[2])
        if pts == -(2**63):
            continue
        flags = next((int(f[2:], 16) for f in fields[6:] if f.startswith("F=")), 1)
        if flags & 0x4:  # discarded (decoder priming), never shown
            continue
        frames.append(Frame(pts=round(float(pts * time_base) - start_time, 6), key=bool(flags & 1)))
    return frames


# ---- public ----------------------------------------------------------------------------------


def probe(path: Path, *, tools: Tools) -> MediaInfo:
    """Streams, display size and duration of a file; UnreadableMediaError when it is no media."""
    if tools.ffprobe:
        return _probe_ffprobe(path, tools.ffprobe)
    return _probe_ffmpeg(path, tools.ffmpeg)


def video_frames(path: Path, *, info: MediaInfo, tools: Tools) -> list[Frame]:
    """Every video packet in presentation order (read without decoding)."""
    if info.video is None:
        return []
    if tools.ffprobe:
        frames = _frames_ffprobe(path, info.video.index, info.start_time, tools.ffprobe)
    else:
        frames = _frames_ffmpeg(path, info.video.index, info.start_time, tools.ffmpeg)
    return sorted(frames, key=lambda frame: frame.pts)


def media_duration(path: Path, *, info: MediaInfo, tools: Tools) -> float:
    """The duration from the container, or from the video packets when it states none."""
    if info.duration:
        return info.duration
    frames = video_frames(path, info=info, tools=tools)
    if not frames or info.video is None:
        raise UnreadableMediaError("the file has no readable video frames")
    return frames[-1].pts + 1 / info.video.fps
