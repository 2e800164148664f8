"""HTTP adapter for page designs (P36): admins edit, preview and publish the design and
upload its images under /api/webcasts/{webcast_id}/design; anyone who may open the page reads
the published one and its images under /api/w/{webcast_id}/ (cacheable)."""

from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import RedirectResponse

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.etags import UNCHANGED, conditional_json
from functions.api.routing import DeferredAPIRoute
from shared.designs import images, service
from shared.designs.models import (
    CreatedPageImage,
    DesignInput,
    DraftView,
    PageImage,
    PageImageCreate,
    PageImageView,
    PublishedDesign,
    PublishResult,
)

router = APIRouter(tags=["designs"], route_class=DeferredAPIRoute)
ADMIN = "/api/webcasts/{webcast_id}/design"
VIEWER = "/api/w/{webcast_id}/design"
IMAGES = f"{ADMIN}/images"
# A public webcast's design may sit in the CDN this long; a publication shows after it.
PUBLIC_MAX_AGE = 60
# The re-encoded image in Blob storage, readable with this address for a short while.
SIGNED_URL = {"schema": {"type": "string", "format": "uri"}, "required": True}


def _view(image: PageImage) -> PageImageView:
    return PageImageView.of(image, images.preview_url(image))


@router.get(ADMIN)
def get_draft(webcast_id: str, principal: CurrentPrincipal) -> DraftView:
    """The draft (the default page until one is saved)."""
    return service.get_draft(principal=principal, webcast_id=webcast_id)


@router.put(ADMIN)
def save_draft(
    webcast_id: str, body: DesignInput, principal: CurrentPrincipal, context: Context
) -> DraftView:
    """Saves the draft; refused whole (422 naming each field) when it could not be published."""
    return service.save_draft(
        principal=principal, webcast_id=webcast_id, data=body, context=context
    )


@router.get(f"{ADMIN}/preview")
def preview_draft(webcast_id: str, principal: CurrentPrincipal) -> PublishedDesign:
    """The draft as viewers would get it once published."""
    return service.preview(principal=principal, webcast_id=webcast_id)


@router.post(f"{ADMIN}/publish", responses=problems.responses(409))
def publish_draft(webcast_id: str, principal: CurrentPrincipal, context: Context) -> PublishResult:
    return service.publish(principal=principal, webcast_id=webcast_id, context=context)


@router.get(VIEWER, tags=["viewer"], response_model=PublishedDesign, responses=UNCHANGED)
def published_design(
    webcast_id: str, if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    """The published design, or the default page; `public` caching for public webcasts."""
    found = service.viewer_design(webcast_id)
    cache = f"public, max-age={PUBLIC_MAX_AGE}" if found.public else "private, no-cache"
    return conditional_json(found.design, if_none_match, cache_control=cache)


@router.post(IMAGES, status_code=201, responses=problems.responses(409))
def create_image(
    webcast_id: str, body: PageImageCreate, principal: CurrentPrincipal, context: Context
) -> CreatedPageImage:
    """A new page image and a write-only upload URL for its file (PUT, 30 minutes); it is
    ready once scanned and re-encoded (PNG, JPEG or WebP; SVG is refused)."""
    image, ticket = images.create_image(
        principal=principal, webcast_id=webcast_id, data=body, context=context
    )
    return CreatedPageImage(image=_view(image), upload=ticket)


@router.get(IMAGES)
def list_images(webcast_id: str, principal: CurrentPrincipal) -> list[PageImageView]:
    return [_view(i) for i in images.list_images(principal=principal, webcast_id=webcast_id)]


@router.get(f"{IMAGES}/{{image_id}}")
def get_image(webcast_id: str, image_id: str, principal: CurrentPrincipal) -> PageImageView:
    return _view(images.get_image(principal=principal, webcast_id=webcast_id, image_id=image_id))


@router.delete(f"{IMAGES}/{{image_id}}", status_code=204, responses=problems.responses(409))
def delete_image(
    webcast_id: str, image_id: str, principal: CurrentPrincipal, context: Context
) -> None:
    """Refused (409) while the draft or the published design uses the image."""
    images.delete_image(
        principal=principal, webcast_id=webcast_id, image_id=image_id, context=context
    )


@router.get(
    "/api/w/{webcast_id}/images/{image_id}",
    tags=["viewer"],
    status_code=302,
    response_class=RedirectResponse,
    responses={302: {"headers": {"Location": SIGNED_URL}}},
)
def page_image(webcast_id: str, image_id: str) -> RedirectResponse:
    """302 to a short-lived read URL of an image the published design shows."""
    found = service.viewer_image(webcast_id, image_id)
    scope = "public" if found.public else "private"
    return RedirectResponse(
        found.url,
        status_code=302,
        headers={"Cache-Control": f"{scope}, max-age={images.REDIRECT_MAX_AGE}"},
    )
