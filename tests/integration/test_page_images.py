"""Page images (P36, P38): uploaded through the malware gate, decoded only after a clean
scan, served re-encoded as WebP without metadata, SVG and pixel bombs refused; a speaker's
photo goes with the speaker. Through Azurite, the Cosmos emulator and the trigger runner."""

import io
import struct
import zlib
from typing import Any

import httpx
import pytest
from PIL import Image

from shared.clients import blob_container_name, blob_service
from shared.composition.privacy_handlers import COSMOS_HANDLERS
from shared.malware import record_scan_result
from shared.privacy.models import DataSubject
from tests import helpers

UPLOADS = "page-uploads"
IMAGES = "page-images"
TRIGGERS = helpers.Triggers({"blob_created"}, watch=(UPLOADS,))

pytestmark = pytest.mark.usefixtures("defender_gate")


def photo_with_metadata() -> bytes:
    """A camera JPEG: EXIF with a GPS position and the camera's serial, an ICC profile, a
    comment; rotated by its orientation tag."""
    picture = Image.new("RGB", (3000, 2000), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    exif[0xA431] = "SERIAL-4711"  # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (52.0, 22.0, 12.0)  # latitude of a speaker's home
    buffer = io.BytesIO()
    picture.save(
        buffer, "JPEG", exif=exif, icc_profile=b"ICC-PROFILE-BYTES", comment=b"home address"
    )
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A few bytes of PNG whose header claims `width` x `height` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def blobs(container: str, owner: helpers.Admin, webcast_id: str, image_id: str) -> list[str]:
    client = blob_service().get_container_client(blob_container_name(container))
    prefix = f"{owner.tenant_id}/{webcast_id}/{image_id}/"
    return [b.name for b in client.list_blobs(name_starts_with=prefix)]


def uploaded(
    owner: helpers.Admin, webcast_id: str, purpose: str, content: bytes, content_type: str
) -> dict[str, Any]:
    created = owner.post(
        f"/api/webcasts/{webcast_id}/design/images",
        json={"purpose": purpose, "content_type": content_type, "size": len(content)},
    )
    assert created.status_code == 201, created.text
    ticket = created.json()["upload"]
    assert "sp=cw" in ticket["url"], "write-only, one blob"
    put = httpx.put(ticket["url"], content=content, headers=ticket["headers"], timeout=30)
    assert put.status_code == 201, put.text
    image: dict[str, Any] = created.json()["image"]
    return image


def scanned(
    owner: helpers.Admin, webcast_id: str, image: dict[str, Any], *, clean: bool = True
) -> dict[str, Any]:
    (name,) = blobs(UPLOADS, owner, webcast_id, image["id"])
    record_scan_result(container=UPLOADS, blob_name=name, clean=clean)
    TRIGGERS.drain()
    found = owner.get(f"/api/webcasts/{webcast_id}/design/images/{image['id']}")
    assert found.status_code == 200, found.text
    result: dict[str, Any] = found.json()
    return result


def design(photo: str | None = None, logo: str | None = None, **theme: Any) -> dict[str, Any]:
    speaker: dict[str, Any] = {"id": "ada", "name": "Ada Lovelace"}
    if photo:
        speaker["photo"] = photo
    return {
        "theme": {"logo": logo, **theme},
        "blocks": [{"id": "speakers", "kind": "speakers", "speakers": [speaker]}],
    }


@pytest.mark.claim("P36")
@pytest.mark.claim("P38")
def test_a_photo_is_served_re_encoded_without_its_metadata(stack: object) -> None:
    owner = helpers.new_owner("page-images")
    webcast_id = helpers.new_webcast(owner, access_mode="public")
    image = uploaded(owner, webcast_id, "speaker", photo_with_metadata(), "image/jpeg")
    assert image["status"] == "awaiting_upload"

    # Nothing of the file is read before Defender's result: it waits, not ready, not usable.
    assert TRIGGERS.runner.run_once().did_work
    waiting = owner.get(f"/api/webcasts/{webcast_id}/design/images/{image['id']}").json()
    assert waiting["status"] == "processing"
    early = owner.request("PUT", f"/api/webcasts/{webcast_id}/design", json=design(image["id"]))
    assert early.status_code == 422
    assert [e["field"] for e in early.json()["errors"]] == ["blocks.0.speakers.0.photo"]

    ready = scanned(owner, webcast_id, image)
    assert ready["status"] == "ready", ready
    # Turned upright by its orientation, then scaled into the speaker box (800 x 800).
    assert (ready["width"], ready["height"]) == (533, 800)
    assert blobs(UPLOADS, owner, webcast_id, image["id"]) == [], "the upload is deleted"
    served = httpx.get(ready["preview_url"], timeout=10)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/webp"
    assert "immutable" in served.headers["cache-control"]
    with Image.open(io.BytesIO(served.content)) as reencoded:
        assert reencoded.format == "WEBP"
        assert not reencoded.getexif(), "no EXIF"
        assert not {"exif", "icc_profile", "xmp", "comment"} & set(reencoded.info)
        pixel = reencoded.getpixel((10, 10))
        assert isinstance(pixel, tuple) and pixel[0] > 150, "the pixels are the photo's"
    for secret in (b"SERIAL-4711", b"ICC-PROFILE", b"home address", b"Exif"):
        assert secret not in served.content

    # Used by the published design, the page finds it on its own origin.
    base = f"/api/webcasts/{webcast_id}/design"
    assert owner.request("PUT", base, json=design(image["id"])).status_code == 200
    assert owner.post(f"{base}/publish").status_code == 200
    viewer = helpers.client()
    published = viewer.get(f"/api/w/{webcast_id}/design").json()
    (speaker,) = published["blocks"][0]["speakers"]
    assert speaker["photo_url"] == f"/api/w/{webcast_id}/images/{image['id']}"
    redirect = viewer.get(speaker["photo_url"], follow_redirects=False)
    assert redirect.status_code == 302, redirect.text
    assert redirect.headers["cache-control"].startswith("public, max-age=")
    assert httpx.get(redirect.headers["location"], timeout=10).content == served.content
    # Not deleted while the design shows it.
    assert owner.delete(f"{base}/images/{image['id']}").status_code == 409

    # An image the published design does not show is not reachable through the page.
    unused = scanned(
        owner,
        webcast_id,
        uploaded(owner, webcast_id, "speaker", photo_with_metadata(), "image/jpeg"),
    )
    assert unused["status"] == "ready"
    assert viewer.get(f"/api/w/{webcast_id}/images/{unused['id']}").status_code == 404
    assert owner.delete(f"{base}/images/{unused['id']}").status_code == 204
    assert blobs(IMAGES, owner, webcast_id, unused["id"]) == []

    # The speaker's erasure takes their photo with them.
    subject = DataSubject(tenant_id=owner.tenant_id, webcast_id=webcast_id, speaker_id="ada")
    eraser = COSMOS_HANDLERS["designs"].eraser
    assert callable(eraser)
    assert eraser(subject=subject) == 2, "the draft and the published version"
    assert blobs(IMAGES, owner, webcast_id, image["id"]) == []
    gone = owner.get(f"{base}/images/{image['id']}")
    assert gone.status_code == 404
    assert viewer.get(f"/api/w/{webcast_id}/images/{image['id']}").status_code == 404


@pytest.mark.claim("P36")
@pytest.mark.claim("P38")
def test_svg_bombs_and_impostors_are_refused_and_a_logo_needs_words(stack: object) -> None:
    owner = helpers.new_owner("page-images-hostile")
    webcast_id = helpers.new_webcast(owner)
    base = f"/api/webcasts/{webcast_id}/design"

    svg = owner.post(
        f"{base}/images",
        json={"purpose": "logo", "content_type": "image/svg+xml", "size": 100},
    )
    assert svg.status_code == 422, svg.text
    assert svg.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in svg.json()["errors"]] == ["content_type"]
    assert "SVG" in svg.text
    huge = owner.post(
        f"{base}/images", json={"purpose": "logo", "content_type": "image/png", "size": 10**9}
    )
    assert [e["field"] for e in huge.json()["errors"]] == ["size"]

    cases = {
        # A drawing with a script, declared as PNG.
        "not-an-image": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        # 60,000 x 60,000 pixels claimed in about a hundred bytes: refused from the header.
        "too-many-pixels": png_claiming(60_000, 60_000),
        # A PNG cut off after its header.
        "truncated": png_claiming(64, 64)[:40],
    }
    for code, content in cases.items():
        image = uploaded(owner, webcast_id, "logo", content, "image/png")
        refused = scanned(owner, webcast_id, image)
        assert refused["status"] == "rejected", (code, refused)
        expected = "not-an-image" if code == "truncated" else code
        assert refused["rejection"]["code"] == expected, refused
        assert blobs(UPLOADS, owner, webcast_id, image["id"]) == []
        assert blobs(IMAGES, owner, webcast_id, image["id"]) == []

    # What Defender finds malicious is never opened.
    infected = uploaded(owner, webcast_id, "logo", photo_with_metadata(), "image/jpeg")
    refused = scanned(owner, webcast_id, infected, clean=False)
    assert refused["rejection"]["code"] == "malware"

    # A logo must be a ready logo image and say what it shows in every language.
    logo = scanned(
        owner, webcast_id, uploaded(owner, webcast_id, "logo", photo_with_metadata(), "image/jpeg")
    )
    assert logo["status"] == "ready"
    wrong = owner.request("PUT", base, json=design(photo=logo["id"], logo=logo["id"]))
    assert {e["field"] for e in wrong.json()["errors"]} == {
        "blocks.0.speakers.0.photo",
        "theme.logo_alt.de",
    }
    rejected = owner.request("PUT", base, json=design(logo=infected["id"]))
    assert "theme.logo" in {e["field"] for e in rejected.json()["errors"]}
    saved = owner.request("PUT", base, json=design(logo=logo["id"], logo_alt={"de": "Beispiel AG"}))
    assert saved.status_code == 200, saved.text
    # A design is never shown another webcast's image.
    other = helpers.new_webcast(owner)
    stolen = owner.request(
        "PUT",
        f"/api/webcasts/{other}/design",
        json=design(logo=logo["id"], logo_alt={"de": "Beispiel AG"}),
    )
    assert [e["field"] for e in stolen.json()["errors"]] == ["theme.logo"]
