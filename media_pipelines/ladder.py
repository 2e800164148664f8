"""The HLS ladder as configuration: named profiles (`default`, `tiny`) or a JSON file.

A job names its ladder in `TranscodeJob.ladder` (the API fills it from
`Settings.media_ladder`). A JSON file holds a `Ladder` object, e.g.
`{"name": "mine", "audio_bitrate": 96000, "rungs": [{"name": "480p", "width": 854,
"height": 480, "video_bitrate": 1200000}]}`.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

RungName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]


class Rung(BaseModel):
    """One variant stream: the box its picture fits into and its bitrates (bits/s)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: RungName
    width: int = Field(ge=16, le=7680, multiple_of=2)
    height: int = Field(ge=16, le=4320, multiple_of=2)
    video_bitrate: int = Field(ge=16_000)
    # The peak the encoder may reach (-maxrate) and its rate-control buffer (-bufsize);
    # 110 % and 200 % of the average when not given.
    maxrate: int | None = Field(default=None, ge=16_000)
    bufsize: int | None = Field(default=None, ge=16_000)

    @property
    def peak_bitrate(self) -> int:
        return self.maxrate or self.video_bitrate * 11 // 10

    @property
    def buffer_bits(self) -> int:
        return self.bufsize or self.video_bitrate * 2


class Ladder(BaseModel):
    """Rungs from the largest down; one audio setting for all of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    rungs: tuple[Rung, ...] = Field(min_length=1, max_length=8)
    audio_bitrate: int = Field(default=128_000, ge=16_000, le=512_000)
    audio_sample_rate: int = 48_000
    audio_channels: int = Field(default=2, ge=1, le=2)
    gop_seconds: int = Field(default=2, ge=1, le=10)
    segment_seconds: int = Field(default=4, ge=1, le=20)

    @model_validator(mode="after")
    def _consistent(self) -> "Ladder":
        names = [rung.name for rung in self.rungs]
        if len(set(names)) != len(names):
            raise ValueError("rung names must be unique")
        if [rung.height for rung in self.rungs] != sorted(
            (rung.height for rung in self.rungs), reverse=True
        ):
            raise ValueError("rungs must be listed from the largest down")
        if self.segment_seconds % self.gop_seconds:
            raise ValueError("segment_seconds must be a multiple of gop_seconds")
        return self


PROFILES: dict[str, Ladder] = {
    "default": Ladder(
        name="default",
        rungs=(
            Rung(name="1080p", width=1920, height=1080, video_bitrate=5_000_000),
            Rung(name="720p", width=1280, height=720, video_bitrate=3_000_000),
            Rung(name="540p", width=960, height=540, video_bitrate=1_800_000),
            Rung(name="360p", width=640, height=360, video_bitrate=800_000),
        ),
        audio_bitrate=128_000,
    ),
    # For tests and quick local runs: generated clips of a few seconds at small sizes.
    "tiny": Ladder(
        name="tiny",
        rungs=(
            Rung(name="240p", width=426, height=240, video_bitrate=400_000),
            Rung(name="144p", width=256, height=144, video_bitrate=150_000),
        ),
        audio_bitrate=64_000,
    ),
}


class LadderError(ValueError):
    """The job names a ladder that does not exist or does not parse."""


def load_ladder(name_or_path: str) -> Ladder:
    """A profile by name, or the ladder in a JSON file."""
    if name_or_path in PROFILES:
        return PROFILES[name_or_path]
    path = Path(name_or_path)
    if path.suffix.lower() != ".json":
        raise LadderError(
            f"unknown ladder {name_or_path!r}: use one of {sorted(PROFILES)} or a .json file"
        )
    try:
        return Ladder.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except OSError as error:
        raise LadderError(f"cannot read ladder file {path}: {error.strerror}") from error
    except (ValueError, ValidationError) as error:
        raise LadderError(f"ladder file {path} is invalid: {error}") from error


@dataclass(frozen=True)
class PlannedRung:
    """A rung as it is encoded for one source: the picture size it really gets."""

    rung: Rung
    width: int
    height: int

    @property
    def name(self) -> str:
        return self.rung.name


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _fit(width: int, height: int, box_width: int, box_height: int) -> tuple[int, int]:
    """The largest even size with the source's aspect ratio inside the box."""
    if width * box_height >= height * box_width:
        return box_width, min(box_height, _even(box_width * height / width))
    return min(box_width, _even(box_height * width / height)), box_height


def plan_rungs(ladder: Ladder, *, source_width: int, source_height: int) -> list[PlannedRung]:
    """The rungs worth encoding for a source of this display size, never upscaled.

    A rung's box is turned for portrait sources. A rung stays when the source fills its box
    in at least one direction (so 1920x800 keeps 1080p, at 1920x800); a source smaller than
    every box gets the smallest rung at its own size."""
    portrait = source_height > source_width
    planned: list[PlannedRung] = []
    for rung in ladder.rungs:
        box_width, box_height = (rung.height, rung.width) if portrait else (rung.width, rung.height)
        if source_width >= box_width or source_height >= box_height:
            planned.append(
                PlannedRung(rung, *_fit(source_width, source_height, box_width, box_height))
            )
    if not planned:
        planned.append(
            PlannedRung(
                ladder.rungs[-1],
                max(2, source_width - source_width % 2),
                max(2, source_height - source_height % 2),
            )
        )
    return planned
