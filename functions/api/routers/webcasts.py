"""Webcast projects: list, create, read (ETag), change (If-Match); deletion is its own router."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.etags import tagged
from functions.api.routing import DeferredAPIRoute
from shared.webcasts import service
from shared.webcasts.models import WebcastCreate, WebcastUpdate, WebcastView

router = APIRouter(prefix="/api/webcasts", tags=["webcasts"], route_class=DeferredAPIRoute)


class WebcastPage(BaseModel):
    items: list[WebcastView]
    continuation: str | None


def _etag(response: Response, view: WebcastView) -> WebcastView:
    if view.etag:
        response.headers["ETag"] = f'"{view.etag.strip(chr(34))}"'
    return view


@router.get("")
def list_webcasts(
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    continuation: Annotated[str | None, Query(max_length=4096)] = None,
) -> WebcastPage:
    page = service.list_webcasts(principal=principal, max_items=limit, continuation=continuation)
    return WebcastPage(
        items=[WebcastView.of(w) for w in page.items], continuation=page.continuation
    )


@router.post("", status_code=201, responses=tagged(201) | problems.responses(409))
def create_webcast(
    body: WebcastCreate, principal: CurrentPrincipal, context: Context, response: Response
) -> WebcastView:
    webcast = service.create_webcast(principal=principal, data=body, context=context)
    return _etag(response, WebcastView.of(webcast))


@router.get("/{webcast_id}", responses=tagged())
def get_webcast(webcast_id: str, principal: CurrentPrincipal, response: Response) -> WebcastView:
    return _etag(
        response, WebcastView.of(service.get_webcast(principal=principal, webcast_id=webcast_id))
    )


@router.patch("/{webcast_id}", responses=tagged() | problems.responses(409))
def update_webcast(
    webcast_id: str,
    body: WebcastUpdate,
    principal: CurrentPrincipal,
    context: Context,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> WebcastView:
    webcast = service.update_webcast(
        principal=principal, webcast_id=webcast_id, data=body, if_match=if_match, context=context
    )
    return _etag(response, WebcastView.of(webcast))
