"""The live master playlist as uploaded: ffmpeg's, completed to Apple's HLS authoring rules.

ffmpeg 5.1 writes BANDWIDTH (its estimate from the configured rates), RESOLUTION and CODECS,
variants in the ladder's order (highest first). The upload adds EXT-X-INDEPENDENT-SEGMENTS
(every segment starts with a key frame forced at its boundary, closed GOPs),
AVERAGE-BANDWIDTH from the ladder's configured rates (a live stream has no measured average
before it ends), FRAME-RATE as measured from a rung's first segment, and lists the start
variant first (shared.media.hls, the same rule as VOD).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from media_pipelines.ladder import Ladder
from shared.media.hls import frame_rate_attribute, in_start_order

INDEPENDENT_SEGMENTS = "#EXT-X-INDEPENDENT-SEGMENTS"
_STREAM_INF = "#EXT-X-STREAM-INF:"
_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')
# Written here, whatever ffmpeg wrote for them.
_OURS = frozenset({"AVERAGE-BANDWIDTH", "FRAME-RATE"})


@dataclass(frozen=True)
class _Variant:
    attributes: list[tuple[str, str]]  # name and raw value (quotes kept), in ffmpeg's order
    uri: str

    def value(self, name: str) -> str | None:
        return next((value for key, value in self.attributes if key == name), None)

    @property
    def bandwidth(self) -> int:
        value = self.value("BANDWIDTH")
        return int(value) if value and value.isdigit() else 0


def _variants(text: str) -> tuple[list[str], list[_Variant]]:
    """The master's tags other than variants, and its variants in order."""
    tags: list[str] = []
    variants: list[_Variant] = []
    pending: list[tuple[str, str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(_STREAM_INF):
            pending = _ATTRIBUTE.findall(line[len(_STREAM_INF) :])
        elif line and not line.startswith("#"):
            if pending is not None:
                variants.append(_Variant(attributes=pending, uri=line))
            pending = None
        elif line:
            tags.append(line)
    return tags, variants


def _average_bandwidth(variant: _Variant, ladder: Ladder) -> int | None:
    """The rung's configured video rate plus the audio's, when the variant carries audio."""
    rung = next((r for r in ladder.rungs if variant.uri.split("/", 1)[0] == r.name), None)
    if rung is None:
        return None
    has_audio = "mp4a." in (variant.value("CODECS") or "")
    average = rung.video_bitrate + (ladder.audio_bitrate if has_audio else 0)
    # AVERAGE-BANDWIDTH never exceeds BANDWIDTH (RFC 8216, 4.3.4.2).
    return min(average, variant.bandwidth) if variant.bandwidth else average


def live_master(text: str, *, ladder: Ladder, frame_rates: Mapping[str, float | None]) -> str:
    """ffmpeg's live master playlist with INDEPENDENT-SEGMENTS, AVERAGE-BANDWIDTH and
    FRAME-RATE (per rung name; a rung without a measured rate gets none), start variant
    first; every other tag and attribute stays as ffmpeg wrote it."""
    tags, variants = _variants(text)
    header = [tag for tag in tags if tag not in ("#EXTM3U", INDEPENDENT_SEGMENTS)]
    lines = ["#EXTM3U", *header, INDEPENDENT_SEGMENTS]
    for variant in in_start_order(variants, lambda v: v.bandwidth):
        rung = variant.uri.split("/", 1)[0]
        average = _average_bandwidth(variant, ladder)
        attributes: list[tuple[str, str]] = []
        for name, value in variant.attributes:
            if name in _OURS:
                continue
            attributes.append((name, value))
            if name == "BANDWIDTH" and average is not None:
                attributes.append(("AVERAGE-BANDWIDTH", str(average)))
        frame_rate = frame_rates.get(rung)
        if frame_rate:
            attributes.append(("FRAME-RATE", frame_rate_attribute(frame_rate)))
        lines.append(_STREAM_INF + ",".join(f"{name}={value}" for name, value in attributes))
        lines.append(variant.uri)
    return "\n".join(lines) + "\n"
