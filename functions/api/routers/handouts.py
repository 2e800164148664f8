"""HTTP adapter for handouts (P37): admins manage them under /api/webcasts/{webcast_id}/handouts
(owner or support under a grant), viewers with a grant list and download available ones under
/api/w/{webcast_id}/handouts."""

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.routing import DeferredAPIRoute
from functions.api.viewer_deps import ViewerSession
from shared.downloads import service
from shared.downloads.models import (
    CreatedHandout,
    HandoutCreate,
    HandoutOrder,
    HandoutUpdate,
    HandoutView,
    ViewerHandout,
)

router = APIRouter(tags=["handouts"], route_class=DeferredAPIRoute)
ADMIN = "/api/webcasts/{webcast_id}/handouts"
VIEWER = "/api/w/{webcast_id}/handouts"


# ---- admin side ----

# The handout's file in Blob storage, readable with this address for a short while.
SIGNED_URL = {"schema": {"type": "string", "format": "uri"}, "required": True}


@router.post(ADMIN, status_code=201, responses=problems.responses(409))
def create_handout(
    webcast_id: str, body: HandoutCreate, principal: CurrentPrincipal, context: Context
) -> CreatedHandout:
    """A new handout and a write-only upload URL for its file (PUT, 30 minutes)."""
    handout, ticket = service.create_handout(
        principal=principal, webcast_id=webcast_id, data=body, context=context
    )
    return CreatedHandout(handout=HandoutView.of(handout), upload=ticket)


@router.get(ADMIN)
def list_handouts(webcast_id: str, principal: CurrentPrincipal) -> list[HandoutView]:
    return [
        HandoutView.of(h) for h in service.list_handouts(principal=principal, webcast_id=webcast_id)
    ]


@router.put(f"{ADMIN}/order")
def reorder_handouts(
    webcast_id: str, body: HandoutOrder, principal: CurrentPrincipal, context: Context
) -> list[HandoutView]:
    ordered = service.reorder_handouts(
        principal=principal, webcast_id=webcast_id, data=body, context=context
    )
    return [HandoutView.of(h) for h in ordered]


@router.get(f"{ADMIN}/{{handout_id}}")
def get_handout(webcast_id: str, handout_id: str, principal: CurrentPrincipal) -> HandoutView:
    return HandoutView.of(
        service.get_handout(principal=principal, webcast_id=webcast_id, handout_id=handout_id)
    )


@router.patch(f"{ADMIN}/{{handout_id}}")
def update_handout(
    webcast_id: str,
    handout_id: str,
    body: HandoutUpdate,
    principal: CurrentPrincipal,
    context: Context,
) -> HandoutView:
    handout = service.update_handout(
        principal=principal,
        webcast_id=webcast_id,
        handout_id=handout_id,
        data=body,
        context=context,
    )
    return HandoutView.of(handout)


@router.delete(f"{ADMIN}/{{handout_id}}", status_code=204)
def delete_handout(
    webcast_id: str, handout_id: str, principal: CurrentPrincipal, context: Context
) -> None:
    service.delete_handout(
        principal=principal, webcast_id=webcast_id, handout_id=handout_id, context=context
    )


# ---- viewer side ----


@router.get(VIEWER)
def available_handouts(webcast_id: str, session: ViewerSession) -> list[ViewerHandout]:
    return [
        ViewerHandout.of(h)
        for h in service.available_handouts(session=session, webcast_id=webcast_id)
    ]


@router.get(
    f"{VIEWER}/{{handout_id}}",
    status_code=303,
    response_class=RedirectResponse,
    responses={303: {"headers": {"Location": SIGNED_URL}}},
)
def download_handout(webcast_id: str, handout_id: str, session: ViewerSession) -> RedirectResponse:
    """303 to a short-lived read URL; its response is an attachment (Content-Disposition)."""
    url = service.download_url(session=session, webcast_id=webcast_id, handout_id=handout_id)
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
