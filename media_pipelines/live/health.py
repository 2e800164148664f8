"""What a streamer is told about the stream: its input as ffmpeg read it, and what is wrong.

The session's ffmpeg logs its input (`Input #0, flv ...` and one `Stream #0:n:` line per
stream) once it has found the streams; these functions read that log and put the findings in
words the person at the encoder can act on.
"""

import re

from shared.live.models import ProblemCode, ProblemSeverity, StreamInput, StreamProblem

# What the ingest takes: bounded decoding work per stream (1920x1088 covers 1080p encoders
# that code 16-line macroblocks; 60 fps with a margin for 59.94 and timestamp jitter).
MAX_PIXELS = 1920 * 1088
MAX_FRAME_RATE = 61.0
ACCEPTED_VIDEO_CODECS = frozenset({"h264"})
# A connected encoder whose stream has not started after this long is told so (and again).
WAITING_FOR_VIDEO_SECONDS = 5.0

_STREAM = re.compile(r"^\s*Stream #0:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: (Video|Audio): (.*)$")
_SIZE = re.compile(r"(?<![\w.])(\d{2,5})x(\d{2,5})(?![\w.])")
_FPS = re.compile(r"(\d+(?:\.\d+)?)(k?) fps")
_SAMPLE_RATE = re.compile(r"(\d+) Hz")
_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}
_CHANNEL_COUNT = re.compile(r"(\d+) channels")
_NO_VIDEO = re.compile(r"Stream specifier ':v(?::0)?' in filtergraph .* matches no streams")


def _codec(description: str) -> str:
    return description.split(",", 1)[0].split(" ", 1)[0].strip()


def read_input(log: str) -> StreamInput | None:
    """The input streams from ffmpeg's log; None while ffmpeg is still looking for them."""
    start = log.find("Input #0")
    if start < 0:
        return None
    found = StreamInput()
    complete = False
    for line in log[start:].splitlines(keepends=True)[1:]:
        if not line.startswith(" "):
            # ffmpeg writes the block at once; only a line after it shows that it is whole.
            complete = True
            break
        match = _STREAM.match(line.rstrip("\r\n"))
        if match is None:
            continue
        kind, description = match.groups()
        if kind == "Video" and found.video_codec is None:
            found.video_codec = _codec(description)
            if size := _SIZE.search(description):
                found.width, found.height = int(size[1]), int(size[2])
            if fps := _FPS.search(description):
                found.frame_rate = float(fps[1]) * (1000 if fps[2] else 1)
        elif kind == "Audio" and found.audio_codec is None:
            found.audio_codec = _codec(description)
            if rate := _SAMPLE_RATE.search(description):
                found.audio_sample_rate = int(rate[1])
            parts = [part.strip() for part in description.split(",")]
            channels = next((_CHANNELS[part] for part in parts if part in _CHANNELS), None)
            if channels is None and (count := _CHANNEL_COUNT.search(description)):
                channels = int(count[1])
            found.audio_channels = channels
    return found if complete else None


def _problem(code: ProblemCode, severity: ProblemSeverity, message: str) -> StreamProblem:
    return StreamProblem(code=code, severity=severity, message=message)


def _no_video() -> StreamProblem:
    return _problem(
        ProblemCode.no_video,
        ProblemSeverity.error,
        "The encoder sends sound but no picture, so viewers would see nothing. Add a video "
        "source (a camera, a screen or a scene) in the encoder and start streaming again.",
    )


def input_problems(found: StreamInput) -> list[StreamProblem]:
    """What keeps the input from being shown (errors) or is worth fixing (warnings)."""
    problems: list[StreamProblem] = []
    if found.video_codec is None:
        problems.append(_no_video())
    elif found.video_codec not in ACCEPTED_VIDEO_CODECS:
        problems.append(
            _problem(
                ProblemCode.unsupported_video,
                ProblemSeverity.error,
                f"The encoder sends video as '{found.video_codec}', which this platform does "
                "not take. Set the encoder's video codec to H.264 (x264 or a hardware H.264 "
                "encoder) and start streaming again.",
            )
        )
    width, height, rate = found.width or 0, found.height or 0, found.frame_rate or 0.0
    if width * height > MAX_PIXELS or rate > MAX_FRAME_RATE:
        problems.append(
            _problem(
                ProblemCode.picture_too_large,
                ProblemSeverity.error,
                f"The encoder sends {width}x{height} at {rate:g} frames per second; this "
                "platform takes at most 1920x1080 at 60. Lower the encoder's output "
                "resolution or frame rate and start streaming again.",
            )
        )
    if found.video_codec is not None and found.audio_codec is None:
        problems.append(
            _problem(
                ProblemCode.no_audio,
                ProblemSeverity.error,
                "The encoder sends a picture but no sound track. Switch on an audio track in "
                "the encoder (a microphone, the desktop audio, or silence) and start "
                "streaming again.",
            )
        )
    return problems


def refusing(problems: list[StreamProblem]) -> bool:
    return any(problem.severity == ProblemSeverity.error for problem in problems)


def waiting_for_video(seconds: float) -> StreamProblem:
    return _problem(
        ProblemCode.waiting_for_video,
        ProblemSeverity.warning,
        f"The encoder has been connected for {seconds:.0f} seconds, but the stream has not "
        "started: it needs both a picture and sound. Check that the encoder sends video and "
        "audio; a key frame at least every 2 seconds starts the stream fastest.",
    )


def too_slow(speed: float) -> StreamProblem:
    return _problem(
        ProblemCode.too_slow,
        ProblemSeverity.warning,
        f"The stream is converted slower than it arrives ({speed:.2f}x real time), so "
        "viewers fall behind. Lower the encoder's resolution or frame rate.",
    )


def exit_problems(log: str, found: StreamInput | None) -> list[StreamProblem]:
    """Why ffmpeg ended while the encoder was still sending."""
    if _NO_VIDEO.search(log):
        return [_no_video()]
    if found is not None and refusing(problems := input_problems(found)):
        return problems
    return [
        _problem(
            ProblemCode.processing_failed,
            ProblemSeverity.error,
            "The stream could not be processed and the encoder was disconnected. Most "
            "encoders reconnect by themselves; if this repeats, check the encoder's output "
            "settings (H.264 video, AAC audio, constant frame rate).",
        )
    ]
