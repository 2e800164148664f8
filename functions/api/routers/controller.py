"""The customer account's controller profile (issue 16): the owner writes it, the admins read
it, participant pages show how to reach the controller; and the record of processing
activities generated from the account's configuration (P33)."""

from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse, PlainTextResponse

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.routing import DeferredAPIRoute
from shared.accounts import service as accounts
from shared.accounts.models import ControllerProfileInput, ControllerProfileView, PublicController
from shared.composition import processing_record
from shared.composition.controller import controller_of_webcast

router = APIRouter(route_class=DeferredAPIRoute)
# The profile changes seldom and is the same for every viewer: a few minutes at the edge.
PUBLIC_CACHE = "public, max-age=300"


@router.get("/api/account/controller", tags=["accounts"], responses=problems.responses(404))
def get_controller_profile(principal: CurrentPrincipal) -> ControllerProfileView:
    """The profile as last saved; 404 before the owner saved one."""
    return accounts.get_controller_profile(principal=principal)


@router.put("/api/account/controller", tags=["accounts"])
def set_controller_profile(
    body: ControllerProfileInput, principal: CurrentPrincipal, context: Context
) -> ControllerProfileView:
    """The owner alone; audited with the fields that changed."""
    return accounts.set_controller_profile(principal=principal, data=body, context=context)


@router.get("/api/w/{webcast_id}/controller", tags=["viewer"], responses=problems.responses(404))
def webcast_controller(webcast_id: str, response: Response) -> PublicController:
    """Who is responsible for the webcast's data and how to reach them."""
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return controller_of_webcast(webcast_id)


class MarkdownDocument(PlainTextResponse):
    """As a route's `response_class`, documents its answer as Markdown."""

    media_type = "text/markdown"


@router.get("/api/account/processing-record.md", tags=["accounts"], response_class=MarkdownDocument)
def processing_record_markdown(
    principal: CurrentPrincipal, language: Literal["de", "en"] = "de"
) -> MarkdownDocument:
    """The record of processing activities (Art. 30 GDPR) as the account is configured now."""
    record = processing_record.build(principal=principal, language=language)
    return MarkdownDocument(
        processing_record.markdown(record), headers={"Cache-Control": "no-store"}
    )


@router.get("/api/account/processing-record.html", tags=["accounts"], response_class=HTMLResponse)
def processing_record_page(
    principal: CurrentPrincipal, language: Literal["de", "en"] = "de"
) -> HTMLResponse:
    """The same record as a printable page."""
    record = processing_record.build(principal=principal, language=language)
    return HTMLResponse(processing_record.html(record), headers={"Cache-Control": "no-store"})
