"""Re-encoding an uploaded page image (decision 0058): decoded by Pillow from PNG, JPEG or
WebP only, bounded in pixels before any pixel is decoded, scaled to its use and written
again as WebP from the bare pixels, so that no metadata (EXIF with its GPS position and
camera serial, XMP, ICC profiles, comments) and nothing but pixels of the upload survives.
"""

import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.designs.models import ImagePurpose

# Pillow is imported when an image is first read: every cold start imports this module.
if TYPE_CHECKING:
    from PIL.Image import Image as PillowImage

# Formats Pillow may try; SVG (scripts and links in a page's origin) and everything else is
# not even parsed.
FORMATS = ("PNG", "JPEG", "WEBP")
CONTENT_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
# Read from the header before decoding (a few kilobytes of PNG can claim billions of
# pixels); for a JPEG, at the reduced size it is decoded at.
MAX_PIXELS = 40_000_000
# The largest box each use is scaled into (aspect ratio kept, never enlarged).
BOXES = {
    ImagePurpose.logo: (1200, 600),
    ImagePurpose.background: (2560, 1600),
    ImagePurpose.speaker: (800, 800),
}
OUTPUT_TYPE = "image/webp"
QUALITY = 85


class ImageRefusedError(Exception):
    """The upload is no image this page takes; `code` names why."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Reencoded:
    data: bytes
    width: int
    height: int


def content_type_refusal(content_type: str) -> str | None:
    """Why a declared content type is refused before any upload (None: accepted)."""
    declared = content_type.split(";", 1)[0].strip().lower()
    if declared in CONTENT_TYPES:
        return None
    if declared == "image/svg+xml":
        return "must not be SVG: a drawing can carry scripts and links; upload PNG, JPEG or WebP"
    return "must be image/png, image/jpeg or image/webp"


def reencode(data: bytes, purpose: ImagePurpose) -> Reencoded:
    """The image's pixels, oriented, scaled into the purpose's box and written as WebP."""
    from PIL import Image, ImageOps

    not_an_image = ImageRefusedError("not-an-image", "the file is no PNG, JPEG or WebP image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            source = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as bomb:
        raise _too_many_pixels() from bomb
    except (OSError, SyntaxError, ValueError) as error:
        raise not_an_image from error
    with source:
        box = BOXES[purpose]
        # A JPEG decodes at a fraction of its size when that still covers the box, so a
        # camera's 50-megapixel photo is counted (and decoded) at that fraction.
        try:
            source.draft("RGB", box)
            if source.width * source.height > MAX_PIXELS:
                raise _too_many_pixels()
            oriented = ImageOps.exif_transpose(source)
            oriented.thumbnail(box, Image.Resampling.LANCZOS)
            mode = "RGBA" if _has_alpha(oriented) else "RGB"
            pixels = oriented.convert(mode)
        except (OSError, SyntaxError, ValueError) as error:
            raise not_an_image from error
    # A new image from the bare pixels: nothing of the upload's `info` (EXIF, XMP, ICC,
    # comments) can reach the encoder.
    clean = Image.new(mode, pixels.size)
    clean.paste(pixels)
    out = io.BytesIO()
    clean.save(out, format="WEBP", quality=QUALITY, method=4)
    return Reencoded(data=out.getvalue(), width=clean.width, height=clean.height)


def _has_alpha(image: "PillowImage") -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _too_many_pixels() -> ImageRefusedError:
    return ImageRefusedError(
        "too-many-pixels", f"the image has more than {MAX_PIXELS:,} pixels".replace(",", " ")
    )
