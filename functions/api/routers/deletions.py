"""Deleting a webcast project (owner only): the request, the job's state and its receipt."""

from fastapi import APIRouter, Response

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.routing import DeferredAPIRoute
from shared.deletions import service
from shared.deletions.models import DeletionRequest, DeletionView

router = APIRouter(tags=["deletions"], route_class=DeferredAPIRoute)


@router.post(
    "/api/webcasts/{webcast_id}/deletion", status_code=202, responses=problems.responses(422)
)
def request_deletion(
    webcast_id: str, body: DeletionRequest, principal: CurrentPrincipal, context: Context
) -> DeletionView:
    """Delete the webcast and all of its data irrevocably: the owner types its slug back.
    The answer is the queued job; the webcast is gone for everyone at once."""
    job = service.request_deletion(
        principal=principal, webcast_id=webcast_id, data=body, context=context
    )
    return service.view(job)


@router.get("/api/deletions/{deletion_id}")
def get_deletion(deletion_id: str, principal: CurrentPrincipal) -> DeletionView:
    return service.get_deletion(principal=principal, job_id=deletion_id)


@router.get("/api/deletions/{deletion_id}/receipt")
def get_receipt(deletion_id: str, principal: CurrentPrincipal, response: Response) -> DeletionView:
    """The finished deletion's receipt, as a file: what each store deleted and held after."""
    receipt = service.receipt(principal=principal, job_id=deletion_id)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="deletion-{receipt.webcast_id}.json"'
    )
    return receipt
