"""A webcast's retention: its dates, and the owner's extension (P21, decision 0049)."""

from fastapi import APIRouter

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.routing import DeferredAPIRoute
from shared.composition import retention
from shared.webcasts.models import RetentionExtension, RetentionView

router = APIRouter(prefix="/api/webcasts", tags=["webcasts"], route_class=DeferredAPIRoute)


@router.get("/{webcast_id}/retention")
def get_retention(webcast_id: str, principal: CurrentPrincipal) -> RetentionView:
    """When the webcast ended, when it is deleted and when its owner is told."""
    return retention.read_retention(principal=principal, webcast_id=webcast_id)


@router.post("/{webcast_id}/retention/extension", responses=problems.responses(422))
def extend_retention(
    webcast_id: str, body: RetentionExtension, principal: CurrentPrincipal, context: Context
) -> RetentionView:
    """The owner keeps the webcast longer: `days` more; a new notice comes before the new date."""
    return retention.extend_retention(
        principal=principal, webcast_id=webcast_id, data=body, context=context
    )
