"""The ONE ffmpeg command that encodes the HLS ladder, and what follows it (poster, MP4).

`ladder_command` is the whole encode: the benchmark runs exactly its argument list as
"bare ffmpeg", so anything the worker adds must happen outside it.
"""

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from media_pipelines.ladder import Ladder, PlannedRung
from media_pipelines.probe import AudioStream, VideoStream, source_input
from media_pipelines.tools import Tools, run

MASTER = "master.m3u8"
MEDIA_PLAYLIST = "index.m3u8"
INIT_SEGMENT = "init.mp4"
POSTER = "poster.jpg"
DOWNLOAD = "download.mp4"
_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def _kbit(bits_per_second: int) -> str:
    return f"{bits_per_second // 1000}k"


def ladder_command(
    *,
    ffmpeg: str,
    source: Path,
    output_dir: Path,
    video: VideoStream,
    audio: AudioStream | None,
    ladder: Ladder,
    rungs: Sequence[PlannedRung],
    preset: str,
) -> list[str]:
    """One ffmpeg process: decode once, split and scale per rung, H.264 High with closed
    GOPs of `gop_seconds` on the same frames in every rung, AAC-LC, fMP4 HLS per rung and
    a master playlist."""
    count = len(rungs)
    graph = [f"[0:{video.index}]split={count}" + "".join(f"[s{i}]" for i in range(count))]
    graph += [
        f"[s{i}]scale={rung.width}:{rung.height}:flags=bicubic,setsar=1,format=yuv420p[v{i}]"
        for i, rung in enumerate(rungs)
    ]
    command = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    command += [*source_input(source), "-filter_complex", ";".join(graph)]
    for i in range(count):
        command += ["-map", f"[v{i}]"]
        if audio is not None:
            command += ["-map", f"0:{audio.index}"]
    # Source metadata (camera, place, owner) has no business in what viewers download.
    command += ["-map_metadata", "-1", "-map_chapters", "-1"]
    gop_frames = max(1, round(video.fps * ladder.gop_seconds))
    command += ["-c:v", "libx264", "-profile:v", "high", "-preset", preset]
    # ultrafast switches off every High tool and x264 then signals Baseline; the 8x8
    # transform keeps the stream High whatever the preset.
    command += ["-x264-params", "8x8dct=1"]
    command += ["-g", str(gop_frames), "-sc_threshold", "0", "-flags", "+cgop"]
    command += ["-force_key_frames", f"expr:gte(t,n_forced*{ladder.gop_seconds})"]
    for i, rung in enumerate(rungs):
        command += [f"-b:v:{i}", _kbit(rung.rung.video_bitrate)]
        command += [f"-maxrate:v:{i}", _kbit(rung.rung.peak_bitrate)]
        command += [f"-bufsize:v:{i}", _kbit(rung.rung.buffer_bits)]
    if audio is not None:
        command += ["-c:a", "aac", "-b:a", _kbit(ladder.audio_bitrate)]
        command += ["-ar", str(ladder.audio_sample_rate), "-ac", str(ladder.audio_channels)]
    command += ["-max_muxing_queue_size", "4096"]
    streams = " ".join(
        f"v:{i}" + (f",a:{i}" if audio is not None else "") + f",name:{rung.name}"
        for i, rung in enumerate(rungs)
    )
    command += ["-f", "hls", "-hls_time", str(ladder.segment_seconds)]
    command += ["-hls_playlist_type", "vod", "-hls_segment_type", "fmp4"]
    command += ["-hls_flags", "independent_segments", "-hls_fmp4_init_filename", INIT_SEGMENT]
    command += ["-hls_segment_filename", str(output_dir / "%v" / "seg_%05d.m4s")]
    command += ["-start_number", "1", "-master_pl_name", MASTER, "-var_stream_map", streams]
    command.append(str(output_dir / "%v" / MEDIA_PLAYLIST))
    return command


def settle_init_segments(output_dir: Path, rungs: Sequence[PlannedRung]) -> None:
    """Name every rung's init segment `init.mp4`: with several variants ffmpeg appends the
    variant's number (`init_1.mp4`) and offers no way to keep the plain name."""
    if len(rungs) < 2:
        return
    for number, rung in enumerate(rungs):
        folder = output_dir / rung.name
        numbered = folder / f"{Path(INIT_SEGMENT).stem}_{number}.mp4"
        if not numbered.exists():
            continue
        numbered.replace(folder / INIT_SEGMENT)
        playlist = folder / MEDIA_PLAYLIST
        text = playlist.read_text(encoding="utf-8")
        playlist.write_text(
            text.replace(f'URI="{numbered.name}"', f'URI="{INIT_SEGMENT}"'), encoding="utf-8"
        )


def attributes(line: str) -> dict[str, str]:
    """The attribute list of an HLS tag line, quotes removed."""
    _, _, listing = line.partition(":")
    return {name: value.strip('"') for name, value in _ATTRIBUTE.findall(listing)}


@dataclass(frozen=True)
class Variant:
    uri: str
    bandwidth: int
    resolution: str | None
    codecs: str


def read_master(text: str) -> list[Variant]:
    """The variant streams of a master playlist, in order."""
    variants: list[Variant] = []
    pending: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#EXT-X-STREAM-INF:"):
            pending = attributes(line)
        elif line and not line.startswith("#") and pending is not None:
            variants.append(
                Variant(
                    uri=line,
                    bandwidth=int(pending.get("BANDWIDTH", "0")),
                    resolution=pending.get("RESOLUTION"),
                    codecs=pending.get("CODECS", ""),
                )
            )
            pending = None
    return variants


def segment_names(text: str) -> list[str]:
    """The media segments a media playlist lists, in order (the init segment not included)."""
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def playlist_seconds(text: str) -> float:
    """The sum of a media playlist's segment durations."""
    return sum(
        float(line.split(":", 1)[1].split(",", 1)[0])
        for line in text.splitlines()
        if line.startswith("#EXTINF:")
    )


def poster_command(
    *, ffmpeg: str, source: Path, video: VideoStream, at: float, rung: PlannedRung, output: Path
) -> list[str]:
    """One frame `at` seconds in, at the top rung's size, as JPEG."""
    command = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    command += ["-ss", f"{at:.3f}", *source_input(source), "-map", f"0:{video.index}"]
    command += ["-frames:v", "1", "-vf", f"scale={rung.width}:{rung.height},setsar=1"]
    command += ["-q:v", "3", "-map_metadata", "-1", str(output)]
    return command


def make_poster(
    *,
    tools: Tools,
    source: Path,
    video: VideoStream,
    duration: float,
    rung: PlannedRung,
    output: Path,
) -> None:
    """A frame from about 10 % into the video (the first frame when that one fails)."""
    for at in (duration * 0.1, 0.0):
        output.unlink(missing_ok=True)
        run(
            poster_command(
                ffmpeg=tools.ffmpeg, source=source, video=video, at=at, rung=rung, output=output
            ),
            hide=[str(source.parent) + "/"],
        )
        if output.exists() and output.stat().st_size > 0:
            return
    raise RuntimeError("ffmpeg wrote no poster frame")


def make_download(*, tools: Tools, rung_dir: Path, work_dir: Path, output: Path) -> None:
    """A progressive MP4 from a rung's fMP4 segments, without re-encoding: init segment and
    media segments joined are one fragmented MP4, which ffmpeg rewrites with the index in
    front (faststart) so that browsers can play while downloading."""
    joined = work_dir / "joined.mp4"
    names = segment_names((rung_dir / MEDIA_PLAYLIST).read_text(encoding="utf-8"))
    with joined.open("wb") as target:
        for name in [INIT_SEGMENT, *names]:
            with (rung_dir / name).open("rb") as part:
                shutil.copyfileobj(part, target, 1024 * 1024)
    command = [tools.ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    command += [*source_input(joined), "-map", "0", "-c", "copy", "-map_metadata", "-1"]
    command += ["-movflags", "+faststart", str(output)]
    try:
        run(command, hide=[str(work_dir) + "/"])
    finally:
        joined.unlink(missing_ok=True)
