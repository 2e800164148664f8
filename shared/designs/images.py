"""Page images (logo, background, speakers' photos) behind the malware gate (P38).

Admins create an image with its use, type and size and PUT the file to a write-only URL in
`page-uploads`. The BlobCreated event checks the real size, waits for a clean scan, and only
then decodes the file (`imaging`): what pages show is a WebP written again from its pixels
into `page-images`, and the upload is deleted. An image is never replaced: a new file is a
new image. Viewers reach an image only through the published design that uses it.
"""

from contextlib import suppress

from azure.core import MatchConditions
from azure.core.exceptions import ResourceNotFoundError

from shared.audit import operations
from shared.audit.models import SYSTEM_ACTOR, RequestContext
from shared.auth.models import Principal
from shared.blob_sas import UploadTicket, read_url, shared_window, upload_ticket
from shared.clients import blob_container_name, blob_service
from shared.clock import utc_iso
from shared.config import get_settings
from shared.designs import imaging
from shared.designs.models import (
    IMAGE_UPLOADS,
    IMAGES,
    MAX_IMAGES,
    Block,
    ImageRejection,
    ImageStatus,
    PageImage,
    PageImageCreate,
    PublishedDesign,
    Theme,
)
from shared.designs.repository import designs, page_images
from shared.errors import InvalidField, conflict, invalid_fields, not_found
from shared.events.models import EventGridEvent
from shared.ids import new_id
from shared.malware import REFUSALS, Verdict, require_clean
from shared.privacy.blobs import delete_prefix
from shared.upload_size import size_refusal
from shared.webcasts.models import Webcast
from shared.webcasts.service import MANAGER, admin_webcast

UPLOAD_SECONDS = 30 * 60
UPLOAD_NAME = "upload"
IMAGE_NAME = "image.webp"
# Viewers of a webcast get the same read URL within one window; it stays valid for one to
# two windows after it is handed out, longer than the redirect to it may be cached.
READ_WINDOW_SECONDS = 5 * 60
REDIRECT_MAX_AGE = 4 * 60
# Images are immutable (a new file is a new image id), so browsers keep them.
IMAGE_CACHE_CONTROL = "public, max-age=31536000, immutable"
_GATE_CODES = {
    Verdict.malicious: "malware",
    Verdict.unscanned: "unscanned",
    Verdict.missing: "missing",
}


def image_id_of(document_id: str) -> str:
    return document_id.removeprefix("image:")


def _document_id(image_id: str) -> str:
    return f"image:{image_id}"


def _prefix(tenant_id: str, webcast_id: str, image_id: str) -> str:
    return f"{tenant_id}/{webcast_id}/{image_id}/"


def image_blob_name(tenant_id: str, webcast_id: str, image_id: str) -> str:
    return _prefix(tenant_id, webcast_id, image_id) + IMAGE_NAME


def image_path(webcast_id: str, image_id: str) -> str:
    """Where a page finds the image: on its own origin, answered with a redirect."""
    return f"/api/w/{webcast_id}/images/{image_id}"


def _max_bytes() -> int:
    return get_settings().page_image_max_bytes


# -------------------------------------------------------------------------------------------
# Admin side
# -------------------------------------------------------------------------------------------


def _all(webcast: Webcast) -> list[PageImage]:
    found = page_images.query(tenant_id=webcast.tenant_id, partition_key=webcast.id)
    return sorted(found, key=lambda image: image.created_at)


def images_of(webcast: Webcast) -> dict[str, PageImage]:
    """Every image of the webcast by its id (a design's references are checked against it)."""
    return {image_id_of(image.id): image for image in _all(webcast)}


def _image_or_404(webcast: Webcast, image_id: str) -> PageImage:
    image = page_images.get(
        tenant_id=webcast.tenant_id, partition_key=webcast.id, item_id=_document_id(image_id)
    )
    if image is None:
        raise not_found("Image")
    return image


def create_image(
    *, principal: Principal, webcast_id: str, data: PageImageCreate, context: RequestContext
) -> tuple[PageImage, UploadTicket]:
    """A new image and a short-lived write-only URL for exactly its upload."""
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    errors: list[InvalidField] = []
    refused_type = imaging.content_type_refusal(data.content_type)
    if refused_type is not None:
        errors.append(InvalidField("content_type", refused_type))
    if data.size > _max_bytes():
        errors.append(InvalidField("size", f"must be at most {_max_bytes()} bytes"))
    if errors:
        raise invalid_fields(errors)
    if len(_all(webcast)) >= MAX_IMAGES:
        raise conflict(f"A webcast keeps at most {MAX_IMAGES} page images: delete unused ones")
    image_id = new_id()
    moment = utc_iso()
    image = operations.create(
        page_images,
        tenant_id=webcast.tenant_id,
        item=PageImage(
            id=_document_id(image_id),
            tenant_id=webcast.tenant_id,
            webcast_id=webcast.id,
            purpose=data.purpose,
            size=data.size,
            upload_blob=_prefix(webcast.tenant_id, webcast.id, image_id) + UPLOAD_NAME,
            created_by=principal.account_id,
            created_at=moment,
            updated_at=moment,
        ),
        actor=principal.actor,
        action="page_image.create",
        entity_type="page_image",
        changed_fields=["purpose", "size"],
        context=context,
    )
    ticket = upload_ticket(
        container=IMAGE_UPLOADS,
        blob_name=image.upload_blob,
        lifetime_seconds=UPLOAD_SECONDS,
        max_bytes=_max_bytes(),
        content_type=data.content_type.split(";", 1)[0].strip().lower(),
    )
    return image, ticket


def list_images(*, principal: Principal, webcast_id: str) -> list[PageImage]:
    return _all(admin_webcast(principal, webcast_id, needs=MANAGER, write=False))


def get_image(*, principal: Principal, webcast_id: str, image_id: str) -> PageImage:
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=False)
    return _image_or_404(webcast, image_id)


def preview_url(image: PageImage) -> str | None:
    """A short-lived read URL of a ready image, for the admins' preview."""
    if image.image_blob is None:
        return None
    start, expiry = shared_window(READ_WINDOW_SECONDS)
    return read_url(container=IMAGES, blob_name=image.image_blob, start=start, expiry=expiry)


def referenced(theme: Theme, blocks: list[Block]) -> set[str]:
    """The ids of the images a design's theme and blocks name."""
    named = {theme.logo, theme.background_image}
    named |= {speaker.photo for block in blocks for speaker in block.speakers}
    return {image_id for image_id in named if image_id is not None}


def _in_use(webcast: Webcast) -> set[str]:
    """Images of the draft and of the version viewers see."""
    versions = designs.query(tenant_id=webcast.tenant_id, partition_key=webcast.id)
    draft = next((d for d in versions if d.version == 0), None)
    shown = draft.published_version if draft else None
    used: set[str] = set()
    for design in versions:
        if design.version in (0, shown):
            used |= referenced(design.theme, design.blocks)
    return used


def delete_image(
    *, principal: Principal, webcast_id: str, image_id: str, context: RequestContext
) -> None:
    """The image and its files; refused while the draft or the published design uses it."""
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    image = _image_or_404(webcast, image_id)
    if image_id in _in_use(webcast):
        raise conflict("The draft or the published design uses this image: remove it there first")
    remove_files(webcast.tenant_id, webcast.id, image_id)
    operations.delete(
        page_images,
        tenant_id=webcast.tenant_id,
        item_id=image.id,
        partition_key=webcast.id,
        actor=principal.actor,
        action="page_image.delete",
        entity_type="page_image",
        context=context,
    )


def remove_files(tenant_id: str, webcast_id: str, image_id: str) -> None:
    prefix = _prefix(tenant_id, webcast_id, image_id)
    delete_prefix(IMAGE_UPLOADS, prefix)
    delete_prefix(IMAGES, prefix)


def erase_image(tenant_id: str, webcast_id: str, image_id: str) -> None:
    """An image and its files, without an admin (a speaker's erasure)."""
    remove_files(tenant_id, webcast_id, image_id)
    page_images.delete(
        tenant_id=tenant_id, item_id=_document_id(image_id), partition_key=webcast_id
    )


# -------------------------------------------------------------------------------------------
# Viewer side
# -------------------------------------------------------------------------------------------


def used_by(design: PublishedDesign) -> set[str]:
    """The ids of the images a rendered design shows."""
    paths = [design.theme.logo_url, design.theme.background_image_url]
    paths += [speaker.photo_url for block in design.blocks for speaker in block.speakers]
    return {path.rsplit("/", 1)[1] for path in paths if path}


def viewer_image_url(*, tenant_id: str, design: PublishedDesign, image_id: str) -> str:
    """A read URL of an image the published design shows (a design names only ready
    images, and an image it names is not deleted); 404 for any other."""
    if image_id not in used_by(design):
        raise not_found("Image")
    start, expiry = shared_window(READ_WINDOW_SECONDS)
    return read_url(
        container=IMAGES,
        blob_name=image_blob_name(tenant_id, design.webcast_id, image_id),
        start=start,
        expiry=expiry,
    )


# -------------------------------------------------------------------------------------------
# The uploaded file
# -------------------------------------------------------------------------------------------


def _save(image: PageImage) -> PageImage:
    image.updated_at = utc_iso()
    return page_images.replace(tenant_id=image.tenant_id, item=image)


def _delete_upload(name: str) -> None:
    blob = blob_service().get_blob_client(blob_container_name(IMAGE_UPLOADS), name)
    with suppress(ResourceNotFoundError):
        blob.delete_blob(delete_snapshots="include")


def _image_of_upload(name: str) -> tuple[PageImage | None, bool]:
    """The image an upload belongs to, and whether the name has our layout."""
    parts = name.split("/")
    if len(parts) != 4 or parts[3] != UPLOAD_NAME:
        return None, False
    tenant_id, webcast_id, image_id, _ = parts
    found = page_images.get(
        tenant_id=tenant_id, partition_key=webcast_id, item_id=_document_id(image_id)
    )
    return found, True


def _audit_scan(image: PageImage, outcome: str) -> None:
    operations.record_write(
        tenant_id=image.tenant_id,
        actor=SYSTEM_ACTOR,
        action="page_image.scan",
        entity_type="page_image",
        entity_id=image.id,
        changed_fields=["status"],
        outcome=outcome,
    )


def _reject(image: PageImage, code: str, reason: str) -> None:
    image.status = ImageStatus.rejected
    image.rejection = ImageRejection(code=code, reason=reason)
    _save(image)  # first: a failed delete leaves a rejected image, retried by the event
    _delete_upload(image.upload_blob)
    _audit_scan(image, "failure")


def on_upload_created(event: EventGridEvent) -> None:
    """An uploaded page image: ready once size, malware scan and decoding pass (P38).

    Raises `ScanPendingError` while the scan result has not arrived; nothing of the file is
    read before it is clean. Safe to run again for the same event."""
    image, ours = _image_of_upload(event.blob_name)
    if not ours:
        return
    if image is None or image.status in (ImageStatus.ready, ImageStatus.rejected):
        # No image wants it, or its image is decided: an image is never replaced.
        _delete_upload(event.blob_name)
        return
    blob = blob_service().get_blob_client(blob_container_name(IMAGE_UPLOADS), event.blob_name)
    try:
        properties = blob.get_blob_properties()
    except ResourceNotFoundError:
        return  # deleted with its image meanwhile
    if image.status != ImageStatus.processing:
        image.status = ImageStatus.processing
        image = _save(image)
    refused = size_refusal(actual=properties.size, declared=image.size, limit=_max_bytes())
    if refused is not None:
        _reject(image, "too-large" if refused.too_large else "size-mismatch", refused.reason)
        return
    found = require_clean(
        container=IMAGE_UPLOADS, blob_name=event.blob_name, uploaded_at=event.happened_at
    )
    if found != Verdict.clean:
        _reject(image, _GATE_CODES[found], REFUSALS[found])
        return
    data: bytes = blob.download_blob(
        etag=properties.etag, match_condition=MatchConditions.IfNotModified
    ).readall()
    try:
        result = imaging.reencode(data, image.purpose)
    except imaging.ImageRefusedError as refusal:
        _reject(image, refusal.code, refusal.reason)
        return
    _write_image(image, result)
    _delete_upload(image.upload_blob)
    _audit_scan(image, "success")


def _write_image(image: PageImage, result: imaging.Reencoded) -> None:
    from azure.storage.blob import ContentSettings

    name = image_blob_name(image.tenant_id, image.webcast_id, image_id_of(image.id))
    blob_service().get_blob_client(blob_container_name(IMAGES), name).upload_blob(
        result.data,
        overwrite=True,
        content_settings=ContentSettings(
            content_type=imaging.OUTPUT_TYPE, cache_control=IMAGE_CACHE_CONTROL
        ),
    )
    image.status = ImageStatus.ready
    image.rejection = None
    image.image_blob = name
    image.width, image.height = result.width, result.height
    image.ready_at = utc_iso()
    _save(image)
