"""Edits (trim, cut out ranges) applied to a source before the ladder is encoded.

The result is one MPEG-TS intermediate. Whole GOPs of an H.264 source (8-bit 4:2:0, limited
range, as the re-encoded pieces are) are stream-copied: one stream-copy pass of the `segment`
muxer splits the source at exactly the keyframes needed. Only the frames from a cut to the
next keyframe (and from the last keyframe to a cut) are re-encoded. MPEG-TS carries the
parameter sets in band, so copied and re-encoded pieces concatenate although their encoder
settings differ. The audio is cut
sample-accurately in one filter pass over the same frame-exact spans. A source whose codec
cannot be copied this way is re-encoded as a whole, with trim filters.
"""

import bisect
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from media_pipelines.probe import (
    Frame,
    MediaInfo,
    UnreadableMediaError,
    probe,
    source_input,
    video_frames,
)
from media_pipelines.tools import Tools, run
from shared.media.models import EditSpec

log = logging.getLogger("webcast.media.edit")

EDITED_NAME = "edited.ts"
# Times closer than this are the same instant (ffprobe prints microseconds; frames are
# at least ~4 ms apart even at 240 fps).
_SAME_TIME = 0.0005
_COPYABLE_CODECS = frozenset({"h264"})
_COPYABLE_PIXELS = frozenset({"yuv420p"})
# The intermediate is encoded once more for the ladder, so it is encoded near-transparently.
_INTERMEDIATE_CRF = "16"
_INTERMEDIATE_AUDIO = ["-c:a", "aac", "-b:a", "256k", "-ar", "48000"]


class EmptyEditError(Exception):
    """The edit leaves no video."""


@dataclass(frozen=True)
class Piece:
    """Frames [first, stop) of the source (indices in presentation order), copied or
    re-encoded; `start`/`end` are their times."""

    first: int
    stop: int
    start: float
    end: float
    copy: bool

    @property
    def seconds(self) -> float:
        return self.end - self.start


def plan_pieces(
    frames: Sequence[Frame], ranges: Sequence[tuple[float, float]], *, end_time: float
) -> list[Piece]:
    """Which frames to copy and which to re-encode so that exactly the frames shown inside
    `ranges` remain. A cut lies on a keyframe when the first frame at or after it is one."""
    times = [frame.pts for frame in frames]
    keys = [index for index, frame in enumerate(frames) if frame.key]
    count = len(frames)

    def at(index: int) -> float:
        return times[index] if index < count else end_time

    def piece(first: int, stop: int, *, copy: bool) -> Piece:
        return Piece(first=first, stop=stop, start=at(first), end=at(stop), copy=copy)

    pieces: list[Piece] = []
    for start, end in ranges:
        first = bisect.bisect_left(times, start - _SAME_TIME)
        stop = bisect.bisect_left(times, end - _SAME_TIME)
        if first >= stop:
            continue
        inside = keys[bisect.bisect_left(keys, first) : bisect.bisect_left(keys, stop)]
        if not inside:
            pieces.append(piece(first, stop, copy=False))
            continue
        copy_from = inside[0]
        # The end of the range is a GOP boundary when a keyframe (or the end of the file)
        # follows it; otherwise the last GOP is cut and its shown part is re-encoded.
        copy_to = stop if stop == count or frames[stop].key else inside[-1]
        if copy_from > first:
            pieces.append(piece(first, copy_from, copy=False))
        if copy_to > copy_from:
            pieces.append(piece(copy_from, copy_to, copy=True))
        if stop > copy_to:
            pieces.append(piece(copy_to, stop, copy=False))
    merged: list[Piece] = []
    for current in pieces:
        previous = merged[-1] if merged else None
        if previous and not previous.copy and not current.copy and previous.stop == current.first:
            merged[-1] = piece(previous.first, current.stop, copy=False)
        else:
            merged.append(current)
    return merged


def _spans(pieces: Sequence[Piece]) -> list[tuple[float, float]]:
    """The continuous stretches of the source that the pieces cover."""
    spans: list[tuple[float, float]] = []
    stop = -1
    for current in pieces:
        if spans and current.first == stop:
            spans[-1] = (spans[-1][0], current.end)
        else:
            spans.append((current.start, current.end))
        stop = current.stop
    return spans


def _trim_graph(
    spans: Sequence[tuple[float, float]], *, offset: float, video: str | None, audio: str | None
) -> tuple[str, list[str]]:
    """A filter graph keeping `spans` of the given input streams, joined; and its outputs.

    The input is read with -copyts (its own timestamps: `offset` is the file's start time),
    because with -ss ffmpeg shifts MPEG-TS timestamps differently from other formats."""
    count = len(spans)
    parts: list[str] = []
    labels = {"v": video, "a": audio}
    for kind, stream in labels.items():
        if stream is None:
            continue
        splitter = "split" if kind == "v" else "asplit"
        trim = "trim" if kind == "v" else "atrim"
        stamps = "setpts" if kind == "v" else "asetpts"
        parts.append(
            f"[{stream}]{splitter}={count}" + "".join(f"[{kind}i{i}]" for i in range(count))
        )
        parts += [
            f"[{kind}i{i}]{trim}=start={start + offset - _SAME_TIME:.6f}"
            f":end={end + offset - _SAME_TIME:.6f},{stamps}=PTS-STARTPTS[{kind}{i}]"
            for i, (start, end) in enumerate(spans)
        ]
    inputs = "".join(
        "".join(f"[{kind}{i}]" for kind, stream in labels.items() if stream is not None)
        for i in range(count)
    )
    outputs = [f"[{kind}out]" for kind, stream in labels.items() if stream is not None]
    parts.append(
        f"{inputs}concat=n={count}:v={int(video is not None)}:a={int(audio is not None)}"
        + "".join(outputs)
    )
    return ";".join(parts), outputs


def _reencode_all(
    *,
    tools: Tools,
    source: Path,
    info: MediaInfo,
    spans: Sequence[tuple[float, float]],
    output: Path,
    preset: str,
) -> None:
    assert info.video is not None
    graph, outputs = _trim_graph(
        spans,
        offset=info.start_time,
        video=f"0:{info.video.index}",
        audio=f"0:{info.audio.index}" if info.audio else None,
    )
    command = [tools.ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    command += ["-copyts", *source_input(source), "-filter_complex", graph]
    for label in outputs:
        command += ["-map", label]
    command += ["-c:v", "libx264", "-preset", preset, "-crf", _INTERMEDIATE_CRF]
    command += ["-pix_fmt", "yuv420p"]
    if info.audio:
        command += _INTERMEDIATE_AUDIO
    command += ["-f", "mpegts", str(output)]
    run(command, hide=[str(output.parent) + "/"])


def can_copy(info: MediaInfo) -> bool:
    """Whether the video can be cut by stream copy with re-encoded pieces in between."""
    video = info.video
    return (
        video is not None
        and video.codec in _COPYABLE_CODECS
        and (video.pix_fmt or "") in _COPYABLE_PIXELS
    )


def _split_at_keyframes(
    *,
    tools: Tools,
    source: Path,
    info: MediaInfo,
    frames: Sequence[Frame],
    pieces: Sequence[Piece],
    folder: Path,
) -> dict[int, Path]:
    """Stream-copy the video into MPEG-TS files that start at the copied pieces' keyframes;
    the file of each copied piece by its first frame."""
    assert info.video is not None
    if not any(p.copy for p in pieces):
        return {}
    bounds = sorted(
        {index for p in pieces if p.copy for index in (p.first, p.stop)} - {0, len(frames)}
    )
    keyframes = [index for index, frame in enumerate(frames) if frame.key]
    # The segment muxer starts a file at the first keyframe at or after a split time. Putting
    # the time halfway back to the previous keyframe makes the split immune to the small
    # constant shifts muxers apply to timestamps (e.g. for B-frame delay).
    split_times = []
    for index in bounds:
        position = bisect.bisect_left(keyframes, index)
        previous = frames[keyframes[position - 1]].pts if position > 0 else frames[0].pts
        split_times.append((previous + frames[index].pts) / 2)
    command = [tools.ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    command += [*source_input(source), "-map", f"0:{info.video.index}", "-c", "copy"]
    command += ["-copyinkf"]
    command += ["-f", "segment", "-segment_format", "mpegts"]
    if split_times:
        command += ["-segment_times", ",".join(f"{t:.6f}" for t in split_times)]
    else:
        command += ["-segment_time", "1000000000"]
    command.append(str(folder / "copy_%05d.ts"))
    run(command, hide=[str(folder) + "/"])
    starts = [0, *bounds]
    return {p.first: folder / f"copy_{starts.index(p.first):05d}.ts" for p in pieces if p.copy}


def _frame_count(path: Path, tools: Tools) -> int:
    info = probe(path, tools=tools)
    return len(video_frames(path, info=info, tools=tools))


def _smart_cut(
    *,
    tools: Tools,
    source: Path,
    info: MediaInfo,
    frames: Sequence[Frame],
    pieces: Sequence[Piece],
    output: Path,
    preset: str,
) -> bool:
    """Copy whole GOPs, re-encode the rest, join; False when the copied files do not hold
    the expected frames (the caller then re-encodes everything)."""
    assert info.video is not None
    folder = output.parent / "pieces"
    folder.mkdir(exist_ok=True)
    copied = _split_at_keyframes(
        tools=tools, source=source, info=info, frames=frames, pieces=pieces, folder=folder
    )
    listing: list[str] = []
    for number, current in enumerate(pieces):
        if current.copy:
            path = copied[current.first]
            found = _frame_count(path, tools) if path.exists() else -1
            if found != current.stop - current.first:
                log.warning(
                    "stream copy of frames %d-%d gave %d frames; re-encoding the edit instead",
                    current.first,
                    current.stop,
                    found,
                )
                return False
        else:
            path = folder / f"encoded_{number:05d}.ts"
            graph, _ = _trim_graph(
                [(current.start, current.end)],
                offset=info.start_time,
                video=f"0:{info.video.index}",
                audio=None,
            )
            command = [tools.ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
            # Seeking a second early is fast and safe; the trim picks the exact frames.
            command += ["-ss", f"{max(0.0, current.start - 1):.6f}", "-copyts"]
            command += [*source_input(source), "-filter_complex", graph, "-map", "[vout]"]
            command += ["-fps_mode", "passthrough"]
            command += ["-c:v", "libx264", "-preset", preset, "-crf", _INTERMEDIATE_CRF]
            command += ["-pix_fmt", "yuv420p", "-f", "mpegts", str(path)]
            run(command, hide=[str(folder) + "/"])
        listing.append(f"file '{path.as_posix()}'\nduration {current.seconds:.6f}")
    listed = folder / "pieces.txt"
    listed.write_text("\n".join(listing) + "\n", encoding="utf-8")
    command = [tools.ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    command += ["-f", "concat", "-safe", "0", "-i", str(listed)]
    if info.audio:
        graph, _ = _trim_graph(
            _spans(pieces), offset=info.start_time, video=None, audio=f"1:{info.audio.index}"
        )
        command += ["-copyts", *source_input(source), "-filter_complex", graph]
        command += ["-map", "0:v:0", "-map", "[aout]", *_INTERMEDIATE_AUDIO]
    else:
        command += ["-map", "0:v:0"]
    command += ["-c:v", "copy", "-f", "mpegts", str(output)]
    run(command, hide=[str(folder) + "/", str(output.parent) + "/"])
    return True


def apply_edit(
    *,
    tools: Tools,
    source: Path,
    info: MediaInfo,
    duration: float,
    edit: EditSpec,
    work_dir: Path,
    preset: str,
) -> Path:
    """The edited intermediate (MPEG-TS) of `source`; EmptyEditError when nothing remains."""
    if info.video is None:
        raise UnreadableMediaError("the file has no video stream")
    ranges = edit.kept_ranges(duration)
    if not ranges:
        raise EmptyEditError("the edit removes the whole video")
    output = work_dir / EDITED_NAME
    frames = video_frames(source, info=info, tools=tools) if can_copy(info) else []
    if frames:
        pieces = plan_pieces(frames, ranges, end_time=frames[-1].pts + 1 / info.video.fps)
        if not pieces:
            raise EmptyEditError("the parts the edit keeps hold no video frame")
        log.info(
            "edit: %d pieces, %.1f s copied, %.1f s re-encoded",
            len(pieces),
            sum(p.seconds for p in pieces if p.copy),
            sum(p.seconds for p in pieces if not p.copy),
        )
        if _smart_cut(
            tools=tools,
            source=source,
            info=info,
            frames=frames,
            pieces=pieces,
            output=output,
            preset=preset,
        ):
            return output
    _reencode_all(tools=tools, source=source, info=info, spans=ranges, output=output, preset=preset)
    return output
