"""page_images: re-encoding an uploaded page image (decision 0058) against bare Pillow doing
the same steps.

Inputs: a 12-megapixel camera JPEG (noise, so that it compresses like a photo) with EXIF
and a GPS position, as a speaker's photo; a 4-megapixel PNG with transparency, as a logo.
Ours is `shared.designs.imaging.reencode`; the baseline opens the same bytes and does the
same draft, orientation, scaling and WebP encoding in Pillow directly, without the format
allow-list, the pixel bound and the copy of the bare pixels. Rounds alternate, RUNS of each;
the ratio is the median of the per-round ratios.
"""

import io
import time
from collections.abc import Callable
from functools import partial

from bench.common import Result, Row, Stopwatch, median, paired_ratio

RUNS = 7


def _camera_jpeg() -> bytes:
    from PIL import Image

    noise = Image.effect_noise((4000, 3000), 40)
    photo = Image.merge(
        "RGB",
        (noise, noise.rotate(90, expand=False), noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
    )
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 12.0)}
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90, exif=exif)
    return buffer.getvalue()


def _transparent_png() -> bytes:
    from PIL import Image

    logo = Image.new("RGBA", (2000, 2000), (0, 0, 0, 0))
    logo.paste(Image.effect_noise((1000, 1000), 30).convert("RGBA"), (500, 500))
    buffer = io.BytesIO()
    logo.save(buffer, "PNG")
    return buffer.getvalue()


def _bare(data: bytes, box: tuple[int, int]) -> bytes:
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as source:
        source.draft("RGB", box)
        oriented = ImageOps.exif_transpose(source)
        oriented.thumbnail(box, Image.Resampling.LANCZOS)
        out = io.BytesIO()
        oriented.save(out, format="WEBP", quality=85, method=4)
        return out.getvalue()


def _seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run() -> Result:
    from shared.designs import imaging
    from shared.designs.models import ImagePurpose

    watch = Stopwatch()
    inputs = {
        "12 MP camera JPEG as a speaker's photo": (_camera_jpeg(), ImagePurpose.speaker),
        "4 MP transparent PNG as a logo": (_transparent_png(), ImagePurpose.logo),
    }
    rows: list[Row] = []
    details: dict[str, object] = {}
    for label, (data, purpose) in inputs.items():
        box = imaging.BOXES[purpose]
        ours: list[float] = []
        bare: list[float] = []
        for _ in range(RUNS):
            ours.append(_seconds(partial(imaging.reencode, data, purpose)))
            bare.append(_seconds(partial(_bare, data, box)))
        result = imaging.reencode(data, purpose)
        rows.append(
            Row(
                f"re-encode {label} ({len(data) // 1024} KB in, {len(result.data) // 1024} KB out)",
                "ms",
                median(ours) * 1000,
                median(bare) * 1000,
                "bare Pillow, same steps",
                paired_ratio=paired_ratio(ours, bare),
            )
        )
        details[label] = {"ours_s": ours, "bare_s": bare, "bytes_in": len(data)}
    return Result("page_images", rows, details, watch.seconds)
