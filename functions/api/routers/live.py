"""Live channels: the admin's channel and stream key, and the ingest's hooks.

Admin routes need the owner (or support with a write grant for changes). The ingest hooks
under /api/live/ingest are for the ingest process only, which sends the shared secret in
`X-Ingest-Secret`; the publish hook takes the form fields nginx-rtmp's on_publish sends.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Header, Response

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.routing import DeferredAPIRoute
from shared.live import service
from shared.live.models import (
    IngestDone,
    IngestGrant,
    IngestHealthReport,
    IngestSessionRef,
    IssuedStreamKey,
    LiveChannelCreate,
    LiveChannelUpdate,
    LiveChannelView,
    LiveSessionView,
    RecordingTarget,
)
from shared.text import Text

router = APIRouter(tags=["live"], route_class=DeferredAPIRoute)

CHANNEL = "/api/webcasts/{webcast_id}/live"


def _no_store(response: Response) -> None:
    # The stream key is in the body: no cache may keep it.
    response.headers["Cache-Control"] = "no-store"


@router.post(CHANNEL, status_code=201, responses=problems.responses(409))
def create_channel(
    webcast_id: str,
    principal: CurrentPrincipal,
    context: Context,
    response: Response,
    body: LiveChannelCreate | None = None,
) -> IssuedStreamKey:
    _no_store(response)
    return service.create_channel(
        principal=principal,
        webcast_id=webcast_id,
        data=body or LiveChannelCreate(),
        context=context,
    )


@router.get(CHANNEL)
def get_channel(webcast_id: str, principal: CurrentPrincipal) -> LiveChannelView:
    return service.get_channel(principal=principal, webcast_id=webcast_id)


@router.patch(CHANNEL, responses=problems.responses(409))
def update_channel(
    webcast_id: str, body: LiveChannelUpdate, principal: CurrentPrincipal, context: Context
) -> LiveChannelView:
    return service.update_channel(
        principal=principal, webcast_id=webcast_id, data=body, context=context
    )


@router.post(f"{CHANNEL}/key")
def rotate_key(
    webcast_id: str, principal: CurrentPrincipal, context: Context, response: Response
) -> IssuedStreamKey:
    _no_store(response)
    return service.rotate_key(principal=principal, webcast_id=webcast_id, context=context)


@router.delete(CHANNEL, status_code=204, responses=problems.responses(409))
def delete_channel(webcast_id: str, principal: CurrentPrincipal, context: Context) -> None:
    service.delete_channel(principal=principal, webcast_id=webcast_id, context=context)


@problems.refuses(403)
async def _ingest_only(
    x_ingest_secret: Annotated[str | None, Header(max_length=512)] = None,
) -> None:
    service.verify_ingest_secret(supplied=x_ingest_secret)


IngestOnly = [Depends(_ingest_only)]


@router.post("/api/live/ingest/publish", dependencies=IngestOnly)
def publish(
    name: Annotated[Text, Form(max_length=1024)],
    app: Annotated[Text, Form(max_length=256)],
) -> IngestGrant:
    """nginx-rtmp's on_publish, relayed: `name` is the stream key."""
    return service.start_session(stream_key=name, app=app)


@router.post(
    "/api/live/ingest/publish-done", dependencies=IngestOnly, responses=problems.responses(409)
)
def publish_done(body: IngestDone) -> LiveSessionView:
    return service.end_session(report=body)


@router.post(
    "/api/live/ingest/health",
    status_code=204,
    dependencies=IngestOnly,
    responses=problems.responses(409),
)
def health(body: IngestHealthReport) -> None:
    service.report_health(report=body)


@router.post(
    "/api/live/ingest/recording", dependencies=IngestOnly, responses=problems.responses(409)
)
def recording(body: IngestSessionRef) -> RecordingTarget:
    return service.recording_target(ref=body)
