"""Restoring a manual backup into a new webcast (P32): the owner uploads the ZIP and follows
the job."""

from fastapi import APIRouter

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.routing import DeferredAPIRoute
from shared.composition import restores
from shared.composition.restores import RestoreCreate, RestoreView

router = APIRouter(prefix="/api/restores", tags=["webcasts"], route_class=DeferredAPIRoute)


@router.post("", status_code=201, responses=problems.responses(409))
def request_restore(
    body: RestoreCreate, principal: CurrentPrincipal, context: Context
) -> RestoreView:
    """A restore into a new webcast with this slug, and the write-only URL for the backup
    ZIP (PUT, or blocks for large files; two hours). The owner alone."""
    return restores.request_restore(principal=principal, data=body, context=context)


@router.get("/{restore_id}")
def read_restore(restore_id: str, principal: CurrentPrincipal) -> RestoreView:
    """The job's state: its counts once ready, its report when the ZIP was refused."""
    return restores.read_restore(principal=principal, restore_id=restore_id)
