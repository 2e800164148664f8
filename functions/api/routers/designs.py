"""HTTP adapter for page designs (P36): admins edit, preview and publish the design under
/api/webcasts/{webcast_id}/design; anyone who may open the page reads the published one under
/api/w/{webcast_id}/design (cacheable, with an ETag)."""

from typing import Annotated

from fastapi import APIRouter, Header, Response

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.etags import UNCHANGED, conditional_json
from functions.api.routing import DeferredAPIRoute
from shared.designs import service
from shared.designs.models import DesignInput, DraftView, PublishedDesign, PublishResult

router = APIRouter(tags=["designs"], route_class=DeferredAPIRoute)
ADMIN = "/api/webcasts/{webcast_id}/design"
VIEWER = "/api/w/{webcast_id}/design"
# A public webcast's design may sit in the CDN this long; a publication shows after it.
PUBLIC_MAX_AGE = 60


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
