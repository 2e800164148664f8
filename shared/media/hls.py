"""HLS authoring rules shared by the VOD and live master playlists and the captions.

Start variant: players begin with the first variant listed (Safari always; hls.js 1.7 when
its default 500 kbit/s estimate fits no level, which is the case for every rung of the
default ladder), before they have measured anything. The first listed is the one with the
lowest peak BANDWIDTH: it loads on any network a viewer is likely to have, and the players
switch up after the first segment or two have measured the network (decision 0053).
"""

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
# The MPEGTS value is a 33-bit PES timestamp (RFC 8216, 3.5).
_MPEGTS_MODULO = 2**33
_TIMESTAMP_MAP = "X-TIMESTAMP-MAP="


def in_start_order(variants: Sequence[T], peak: Callable[[T], int]) -> list[T]:
    """The variants with the start variant first: ascending peak bandwidth (ties keep their
    order)."""
    return sorted(variants, key=peak)


def frame_rate_attribute(frame_rate: float) -> str:
    """FRAME-RATE's value: a decimal with three places."""
    return f"{frame_rate:.3f}"


def timestamp_mapped(vtt: str, start_pts_90khz: int | None) -> str:
    """The WebVTT with an X-TIMESTAMP-MAP header that puts cue time 0 at the media's first
    presentation timestamp; any map the file had is replaced, and `None` removes it."""
    newline = "\r\n" if vtt.split("\n", 1)[0].endswith("\r") else "\n"
    lines = re.split(r"\r\n|\r|\n", vtt)
    header_end = next((index for index, line in enumerate(lines) if not line), len(lines))
    header = [line for line in lines[1:header_end] if not line.startswith(_TIMESTAMP_MAP)]
    if start_pts_90khz is not None:
        mpegts = start_pts_90khz % _MPEGTS_MODULO
        header.insert(0, f"{_TIMESTAMP_MAP}MPEGTS:{mpegts},LOCAL:00:00:00.000")
    return newline.join([lines[0], *header, *lines[header_end:]])
