"""Media assets of a webcast: upload, progress, edit, captions, publish (owner or support)."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.routing import DeferredAPIRoute
from shared.blob_sas import UploadTicket
from shared.media import service
from shared.media.models import (
    AssetUpdate,
    AssetView,
    CreatedUpload,
    EditCreate,
    Language,
    UploadCreate,
    UploadProgress,
)

router = APIRouter(
    prefix="/api/webcasts/{webcast_id}/media", tags=["media"], route_class=DeferredAPIRoute
)
CaptionLabel = Annotated[str | None, Query(min_length=1, max_length=80)]


@router.get("")
def list_assets(webcast_id: str, principal: CurrentPrincipal) -> list[AssetView]:
    return service.list_assets(principal=principal, webcast_id=webcast_id)


@router.post("", status_code=201)
def create_upload(
    webcast_id: str, body: UploadCreate, principal: CurrentPrincipal, context: Context
) -> CreatedUpload:
    return service.start_upload(
        principal=principal, webcast_id=webcast_id, data=body, context=context
    )


@router.get("/{asset_id}")
def get_asset(webcast_id: str, asset_id: str, principal: CurrentPrincipal) -> AssetView:
    return service.get_asset(principal=principal, webcast_id=webcast_id, asset_id=asset_id)


@router.patch("/{asset_id}")
def update_asset(
    webcast_id: str, asset_id: str, body: AssetUpdate, principal: CurrentPrincipal, context: Context
) -> AssetView:
    return service.update_asset(
        principal=principal, webcast_id=webcast_id, asset_id=asset_id, data=body, context=context
    )


@router.delete("/{asset_id}", status_code=204, responses=problems.responses(409))
def delete_asset(
    webcast_id: str, asset_id: str, principal: CurrentPrincipal, context: Context
) -> None:
    service.delete_asset(
        principal=principal, webcast_id=webcast_id, asset_id=asset_id, context=context
    )


@router.get("/{asset_id}/upload", responses=problems.responses(409))
def upload_progress(webcast_id: str, asset_id: str, principal: CurrentPrincipal) -> UploadProgress:
    return service.upload_progress(principal=principal, webcast_id=webcast_id, asset_id=asset_id)


@router.post("/{asset_id}/upload", responses=problems.responses(409))
def renew_upload(webcast_id: str, asset_id: str, principal: CurrentPrincipal) -> UploadTicket:
    return service.renew_upload(principal=principal, webcast_id=webcast_id, asset_id=asset_id)


@router.post("/{asset_id}/edits", status_code=201, responses=problems.responses(409))
def create_edit(
    webcast_id: str, asset_id: str, body: EditCreate, principal: CurrentPrincipal, context: Context
) -> AssetView:
    return service.create_edit(
        principal=principal, webcast_id=webcast_id, asset_id=asset_id, data=body, context=context
    )


@router.put("/{asset_id}/captions/{language}", responses=problems.responses(409))
async def put_caption(
    webcast_id: str,
    asset_id: str,
    language: Annotated[Language, Path()],
    request: Request,
    principal: CurrentPrincipal,
    context: Context,
    label: CaptionLabel = None,
) -> AssetView:
    """The body is the WebVTT file itself (Content-Type text/vtt); the label defaults to
    the language code."""
    content = await request.body()
    return await run_in_threadpool(
        lambda: service.put_caption(
            principal=principal,
            webcast_id=webcast_id,
            asset_id=asset_id,
            language=language,
            label=label or language,
            content=content,
            context=context,
        )
    )


@router.delete("/{asset_id}/captions/{language}")
def delete_caption(
    webcast_id: str,
    asset_id: str,
    language: Annotated[Language, Path()],
    principal: CurrentPrincipal,
    context: Context,
) -> AssetView:
    return service.delete_caption(
        principal=principal,
        webcast_id=webcast_id,
        asset_id=asset_id,
        language=language,
        context=context,
    )


@router.post("/{asset_id}/publish", responses=problems.responses(409))
def publish(
    webcast_id: str, asset_id: str, principal: CurrentPrincipal, context: Context
) -> AssetView:
    return service.publish(
        principal=principal, webcast_id=webcast_id, asset_id=asset_id, context=context
    )


@router.delete("/publication/vod", status_code=204)
def unpublish(webcast_id: str, principal: CurrentPrincipal, context: Context) -> None:
    service.unpublish(principal=principal, webcast_id=webcast_id, context=context)
