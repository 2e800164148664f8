"""Manual backups of a webcast project (P32): the owner asks for one and downloads it."""

from fastapi import APIRouter

from functions.api.deps import Context, CurrentPrincipal
from functions.api.routing import DeferredAPIRoute
from shared.composition import backups
from shared.composition.backups import BackupView

router = APIRouter(
    prefix="/api/webcasts/{webcast_id}/backups", tags=["webcasts"], route_class=DeferredAPIRoute
)


@router.post("", status_code=202)
def request_backup(webcast_id: str, principal: CurrentPrincipal, context: Context) -> BackupView:
    """A ZIP of the whole project (documents, media, a manifest with SHA-256 sums), built by a
    queued job; the owner alone. Kept 24 hours."""
    return backups.request_backup(principal=principal, webcast_id=webcast_id, context=context)


@router.get("/{backup_id}")
def read_backup(webcast_id: str, backup_id: str, principal: CurrentPrincipal) -> BackupView:
    """The job's state; once ready, a download URL valid for ten minutes."""
    return backups.read_backup(principal=principal, webcast_id=webcast_id, backup_id=backup_id)
