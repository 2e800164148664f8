"""Re-encoding page images: what survives is pixels (transparency included), oriented and
scaled into the use's box; claims of too many pixels are refused from the header."""

import io

import pytest
from PIL import Image

from shared.designs import imaging
from shared.designs.models import ImagePurpose


def _encoded(image: Image.Image, format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def _decoded(result: imaging.Reencoded) -> Image.Image:
    image = Image.open(io.BytesIO(result.data))
    assert image.format == "WEBP"
    assert (image.width, image.height) == (result.width, result.height)
    return image


def _pixel(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    found = image.getpixel((x, y))
    assert isinstance(found, tuple)
    return found


def test_a_transparent_logo_keeps_its_transparency_and_is_scaled_into_its_box() -> None:
    logo = Image.new("RGBA", (2400, 600), (0, 0, 0, 0))
    logo.paste((200, 0, 0, 255), (0, 0, 1200, 600))
    result = imaging.reencode(_encoded(logo, "PNG"), ImagePurpose.logo)
    assert (result.width, result.height) == (1200, 300)
    decoded = _decoded(result).convert("RGBA")
    assert _pixel(decoded, 100, 100)[3] == 255
    assert _pixel(decoded, 1100, 100)[3] == 0, "the transparent half stays transparent"


def test_a_small_image_is_not_enlarged_and_a_cmyk_jpeg_becomes_rgb() -> None:
    cmyk = Image.new("CMYK", (300, 200), (0, 255, 255, 0))
    result = imaging.reencode(_encoded(cmyk, "JPEG"), ImagePurpose.background)
    assert (result.width, result.height) == (300, 200)
    decoded = _decoded(result)
    assert decoded.mode == "RGB"
    red, green, blue = _pixel(decoded, 150, 100)
    assert red > 200 and green < 60 and blue < 60


def test_an_animated_webp_keeps_only_its_first_frame() -> None:
    frames = [Image.new("RGB", (100, 100), colour) for colour in ((0, 0, 255), (255, 0, 0))]
    data = _encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)
    decoded = _decoded(imaging.reencode(data, ImagePurpose.speaker))
    assert getattr(decoded, "n_frames", 1) == 1
    assert _pixel(decoded, 50, 50)[2] > 200


@pytest.mark.parametrize(
    ("content_type", "refused"),
    [
        ("image/png", False),
        ("IMAGE/JPEG; charset=binary", False),
        ("image/webp", False),
        ("image/svg+xml", True),
        ("image/gif", True),
        ("text/html", True),
    ],
)
def test_only_png_jpeg_and_webp_are_declared(content_type: str, refused: bool) -> None:
    assert (imaging.content_type_refusal(content_type) is not None) is refused


def test_a_gif_and_a_claim_beyond_pillows_own_bomb_limit_are_refused() -> None:
    gif = _encoded(Image.new("P", (10, 10)), "GIF")
    with pytest.raises(imaging.ImageRefusedError) as not_taken:
        imaging.reencode(gif, ImagePurpose.logo)
    assert not_taken.value.code == "not-an-image"
    # A JPEG header that claims 65,000 x 65,000 pixels: Pillow's own limit trips on open.
    small = _encoded(Image.new("RGB", (8, 8)), "JPEG")
    marker = small.index(b"\xff\xc0") + 5
    claimed = small[:marker] + (65000).to_bytes(2, "big") * 2 + small[marker + 4 :]
    with pytest.raises(imaging.ImageRefusedError) as bomb:
        imaging.reencode(claimed, ImagePurpose.logo)
    assert bomb.value.code == "too-many-pixels"


def test_a_large_camera_jpeg_decodes_at_a_fraction_but_a_png_that_size_is_refused() -> None:
    photo = Image.new("RGB", (9000, 5000), (10, 120, 10))
    result = imaging.reencode(_encoded(photo, "JPEG", quality=50), ImagePurpose.background)
    assert (result.width, result.height) == (2560, 1422)
    with pytest.raises(imaging.ImageRefusedError) as refused:
        imaging.reencode(_encoded(photo, "PNG", compress_level=1), ImagePurpose.background)
    assert refused.value.code == "too-many-pixels"
