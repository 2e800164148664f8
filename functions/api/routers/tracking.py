"""Attendance tracking: viewer heartbeats (202) and the admin-side attendance reports.

Access: heartbeat = viewer grant for the webcast; report = any admin account of the tenant
(aggregates only); per-viewer rows and exports = the `participants` permission.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Response
from fastapi.responses import StreamingResponse

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.downloads import OR_XLSX, CsvDownload, download
from functions.api.etags import UNCHANGED, matches, quoted
from functions.api.routing import DeferredAPIRoute
from functions.api.viewer_deps import ViewerSession
from shared.tracking import reports, service
from shared.tracking.models import AttendanceReport, Heartbeat, HeartbeatAccepted, ViewerList

router = APIRouter(tags=["tracking"], route_class=DeferredAPIRoute)


@router.post("/api/w/{webcast_id}/heartbeat", status_code=202, responses=problems.needs_module())
def heartbeat(webcast_id: str, body: Heartbeat, session: ViewerSession) -> HeartbeatAccepted:
    """Send the next one after `interval_seconds`; the server may lengthen it under load."""
    return service.accept_heartbeat(webcast_id=webcast_id, session=session, heartbeat=body)


@router.get(
    "/api/webcasts/{webcast_id}/attendance",
    response_model=AttendanceReport,
    responses=UNCHANGED,
)
def attendance_report(
    webcast_id: str,
    principal: CurrentPrincipal,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Aggregates for moderator views, which poll with If-None-Match."""
    report, tag = reports.read_report(principal=principal, webcast_id=webcast_id)
    headers = {"ETag": quoted(tag), "Cache-Control": "no-cache"}
    if matches(if_none_match, quoted(tag)):
        return Response(status_code=304, headers=headers)
    return Response(report.model_dump_json(), media_type="application/json", headers=headers)


@router.get("/api/webcasts/{webcast_id}/attendance/viewers")
def attendance_viewers(webcast_id: str, principal: CurrentPrincipal) -> ViewerList:
    """Per viewer session (pseudonymous), or per participant while attendance is tied (P17)."""
    return reports.list_viewers(principal=principal, webcast_id=webcast_id)


@router.get(
    "/api/webcasts/{webcast_id}/attendance/export.{file_format}",
    response_class=CsvDownload,
    responses=OR_XLSX,
)
def attendance_export(
    webcast_id: str,
    file_format: Literal["csv", "xlsx"],
    principal: CurrentPrincipal,
    context: Context,
) -> StreamingResponse:
    return download(
        reports.export_viewers(
            principal=principal, webcast_id=webcast_id, file_format=file_format, context=context
        )
    )
