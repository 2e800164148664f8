"""The customer account's controller profile (issue 16): the owner writes it, the admins read
it, participant pages show how to reach the controller."""

from fastapi import APIRouter, Response

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.routing import DeferredAPIRoute
from shared.accounts import service as accounts
from shared.accounts.models import ControllerProfileInput, ControllerProfileView, PublicController
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
