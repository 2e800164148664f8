"""Media assets: direct upload, malware gate, transcode jobs, edits, captions, publishing.

The API hands out a write-only SAS URL for `uploads/{tenant}/{webcast}/{asset}/source`; the
BlobCreated event registers the upload, waits for a clean scan (P38) and queues a transcode
job; the worker's result messages make the asset ready or failed. Edits make new versions
from the original source; nothing is changed in place (P20).
"""

import base64
import logging
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

from shared import malware
from shared.audit import operations
from shared.audit.models import SYSTEM_ACTOR, RequestContext
from shared.auth.models import Principal
from shared.blob_sas import UploadTicket, upload_ticket
from shared.clients import blob_container_name, blob_service, queue_client
from shared.clock import utc_iso
from shared.config import get_settings
from shared.errors import conflict, not_found, validation_error
from shared.events.models import EventGridEvent
from shared.ids import new_id
from shared.media.hls import timestamp_mapped
from shared.media.models import (
    CAPTION_MAX_BYTES,
    ENDED,
    MEDIA,
    TRANSCODE_QUEUE,
    UPLOAD_BLOCK_BYTES,
    UPLOADS,
    VIDEO_EXTENSIONS,
    Asset,
    AssetKind,
    AssetStatus,
    AssetUpdate,
    AssetView,
    Caption,
    CaptionStatus,
    CreatedUpload,
    CutRange,
    EditCreate,
    EditSpec,
    MediaResult,
    Publication,
    TranscodeJob,
    UploadCreate,
    UploadedBlock,
    UploadProgress,
    caption_upload_name,
    media_prefix,
    source_blob_name,
)
from shared.media.repository import PUBLICATION_ID, assets, forget_published, publications
from shared.privacy.blobs import delete_prefix
from shared.text import text_problem
from shared.upload_size import size_refusal
from shared.webcasts.models import Webcast
from shared.webcasts.service import MANAGER, MEMBER, admin_webcast, find_in_tenant, is_gone

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

log = logging.getLogger("webcast.media")

_SOURCE_PATTERN = re.compile(r"^(?P<tenant>[^/]+)/(?P<webcast>[^/]+)/(?P<asset>[^/]+)/source$")
_CAPTION_PATTERN = re.compile(
    r"^(?P<tenant>[^/]+)/(?P<webcast>[^/]+)/(?P<asset>[^/]+)/captions/(?P<language>[^/]+)\.vtt$"
)
_VTT_TYPE = "text/vtt; charset=utf-8"
_CUE_TIMING = re.compile(
    r"^(\d{2,}:)?\d{2}:\d{2}\.\d{3}\s+-->\s+(\d{2,}:)?\d{2}:\d{2}\.\d{3}(\s+.*)?$"
)
_MIN_KEPT_SECONDS = 0.5


def _asset(webcast: Webcast, asset_id: str) -> Asset:
    asset = assets.get(tenant_id=webcast.tenant_id, item_id=asset_id, partition_key=webcast.id)
    if asset is None:
        raise not_found("Asset")
    return asset


def _ticket(asset: Asset) -> UploadTicket:
    settings = get_settings()
    return upload_ticket(
        container=UPLOADS,
        blob_name=asset.source_blob,
        lifetime_seconds=settings.media_upload_seconds,
        max_bytes=settings.media_upload_max_bytes,
        block_bytes=UPLOAD_BLOCK_BYTES,
    )


def _published_id(webcast: Webcast) -> str | None:
    publication = publications.get(
        tenant_id=webcast.tenant_id, item_id=PUBLICATION_ID, partition_key=webcast.id
    )
    return publication.asset_id if publication is not None else None


def last_published_at(*, tenant_id: str, webcast_id: str) -> str | None:
    """When the webcast's VOD was last published (None: nothing is published)."""
    publication = publications.get(
        tenant_id=tenant_id, item_id=PUBLICATION_ID, partition_key=webcast_id
    )
    return publication.published_at if publication is not None else None


def _saved_view(
    webcast: Webcast,
    asset: Asset,
    principal: Principal,
    *,
    action: str,
    changed: str,
    context: RequestContext,
) -> AssetView:
    """An admin's edit of an asset: stored with its audit entry, shown as the admin sees it."""
    asset.updated_at = utc_iso()
    asset = operations.replace(
        assets,
        tenant_id=webcast.tenant_id,
        item=asset,
        actor=principal.actor,
        action=action,
        entity_type="media-asset",
        changed_fields=[changed],
        context=context,
    )
    return view(asset, published_id=_published_id(webcast))


def view(asset: Asset, *, published_id: str | None) -> AssetView:
    return AssetView.of(asset, published=asset.id == published_id)


# ---- upload ----


def start_upload(
    *, principal: Principal, webcast_id: str, data: UploadCreate, context: RequestContext
) -> CreatedUpload:
    """Register an asset awaiting its file and hand out the write-only upload URL."""
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    settings = get_settings()
    if PurePosixPath(data.filename).suffix.lower() not in VIDEO_EXTENSIONS:
        allowed = ", ".join(sorted(VIDEO_EXTENSIONS))
        raise validation_error("body.filename", f"Upload a video file ({allowed})")
    if data.size > settings.media_upload_max_bytes:
        raise validation_error("body.size", f"At most {settings.media_upload_max_bytes} bytes")
    asset_id = new_id()
    moment = utc_iso()
    asset = operations.create(
        assets,
        tenant_id=webcast.tenant_id,
        item=Asset(
            id=asset_id,
            tenant_id=webcast.tenant_id,
            webcast_id=webcast.id,
            title=data.title,
            kind=AssetKind.upload,
            status=AssetStatus.awaiting_upload,
            source_blob=source_blob_name(
                tenant_id=webcast.tenant_id, webcast_id=webcast.id, asset_id=asset_id
            ),
            source_filename=PurePosixPath(data.filename).name,
            source_size=data.size,
            content_type=data.content_type,
            created_by=principal.account_id,
            created_at=moment,
            updated_at=moment,
        ),
        actor=principal.actor,
        action="media.asset.create",
        entity_type="media-asset",
        changed_fields=["title", "source_filename"],
        context=context,
    )
    return CreatedUpload(asset=view(asset, published_id=None), upload=_ticket(asset))


def renew_upload(*, principal: Principal, webcast_id: str, asset_id: str) -> UploadTicket:
    """A fresh upload URL for an upload that is not finished (resuming after expiry)."""
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    asset = _asset(webcast, asset_id)
    if asset.status != AssetStatus.awaiting_upload:
        raise conflict("The file of this asset has arrived already")
    return _ticket(asset)


def upload_progress(*, principal: Principal, webcast_id: str, asset_id: str) -> UploadProgress:
    """The blocks that arrived (uncommitted until Put Block List), so a client can resume."""
    webcast = admin_webcast(principal, webcast_id, needs=MEMBER, write=False)
    asset = _asset(webcast, asset_id)
    if asset.source_container != UPLOADS or asset.kind == AssetKind.edit:
        raise conflict("This asset has no upload")
    blob = blob_service().get_blob_client(blob_container_name(UPLOADS), asset.source_blob)
    try:
        committed, uncommitted = blob.get_block_list("all")
    except ResourceNotFoundError:
        committed, uncommitted = [], []
    blocks = committed if committed else uncommitted
    return UploadProgress(
        asset_id=asset.id,
        committed=bool(committed),
        # The SDK decodes block ids; clients send and compare them base64-encoded.
        blocks=[
            UploadedBlock(id=base64.b64encode(block.id.encode()).decode(), size=block.size)
            for block in blocks
        ],
        uploaded_bytes=sum(block.size for block in blocks),
    )


def find_recording_asset(*, tenant_id: str, webcast_id: str, asset_id: str) -> Asset | None:
    """The asset a live session records into, for the ingest (no principal: a system call)."""
    return assets.get(tenant_id=tenant_id, item_id=asset_id, partition_key=webcast_id)


def create_recording_asset(
    *, tenant_id: str, webcast_id: str, live_session_id: str, title: str
) -> Asset:
    """An asset for a live recording; the ingest puts the file at its `source_blob`."""
    asset_id = new_id()
    moment = utc_iso()
    asset = operations.create(
        assets,
        tenant_id=tenant_id,
        item=Asset(
            id=asset_id,
            tenant_id=tenant_id,
            webcast_id=webcast_id,
            title=title[:200] or "Recording",
            kind=AssetKind.recording,
            status=AssetStatus.awaiting_upload,
            live_session_id=live_session_id,
            source_blob=source_blob_name(
                tenant_id=tenant_id, webcast_id=webcast_id, asset_id=asset_id
            ),
            source_filename="recording.ts",
            content_type="video/mp2t",
            created_at=moment,
            updated_at=moment,
        ),
        actor=SYSTEM_ACTOR,
        action="media.recording.create",
        entity_type="media-asset",
        changed_fields=["live_session_id"],
    )
    return asset


def _delete_upload(blob_name: str) -> None:
    blob = blob_service().get_blob_client(blob_container_name(UPLOADS), blob_name)
    try:
        blob.delete_blob(delete_snapshots="include")
    except ResourceNotFoundError:
        return


def _end(asset: Asset, status: AssetStatus, code: str, reason: str) -> Asset:
    asset.status, asset.failure_code, asset.failure_reason = status, code, reason
    asset.updated_at = utc_iso()
    saved = assets.replace(tenant_id=asset.tenant_id, item=asset)
    operations.record_write(
        tenant_id=asset.tenant_id,
        actor=SYSTEM_ACTOR,
        action=f"media.asset.{status.value}",
        entity_type="media-asset",
        entity_id=asset.id,
        changed_fields=["status", "failure_code"],
        outcome="failure",
    )
    return saved


def _queue_job(asset: Asset, *, source_blob: str, edit: EditSpec | None) -> None:
    webcast = find_in_tenant(tenant_id=asset.tenant_id, webcast_id=asset.webcast_id)
    job = TranscodeJob(
        tenant_id=asset.tenant_id,
        webcast_id=asset.webcast_id,
        asset_id=asset.id,
        source_container=UPLOADS,
        source_blob=source_blob,
        output_prefix=media_prefix(
            tenant_id=asset.tenant_id, webcast_id=asset.webcast_id, asset_id=asset.id
        ),
        ladder=get_settings().media_ladder,
        source_etag=asset.source_etag,
        download_mp4=bool(webcast and webcast.vod_download),
        edit=edit,
    )
    queue_client(TRANSCODE_QUEUE).send_message(job.model_dump_json().encode())


def _caption_blob(asset: Asset, caption: Caption) -> "BlobClient":
    prefix = media_prefix(tenant_id=asset.tenant_id, webcast_id=asset.webcast_id, asset_id=asset.id)
    return blob_service().get_blob_client(blob_container_name(MEDIA), prefix + caption.blob)


def _store_caption(asset: Asset, caption: Caption, text: str) -> None:
    """The caption beside the ladder, its X-TIMESTAMP-MAP at the asset's first video PTS
    (none while the asset has no measured one); the caption records which map it got."""
    from azure.storage.blob import ContentSettings  # imported late: cold start (cold_import)

    _caption_blob(asset, caption).upload_blob(
        timestamp_mapped(text, asset.start_pts_90khz).encode(),
        overwrite=True,
        content_settings=ContentSettings(content_type=_VTT_TYPE),
    )
    caption.mapped_pts_90khz = asset.start_pts_90khz


def _remap_captions(asset: Asset) -> None:
    """Give every offered caption the map of the asset's (new) encode. Written before the
    asset: a conflict on its replace retries the whole result, which then sees the caption
    a concurrent malware verdict made available, so either order ends with the right map."""
    for caption in asset.offered_captions:
        if caption.mapped_pts_90khz == asset.start_pts_90khz:
            continue
        try:
            stored = bytes(_caption_blob(asset, caption).download_blob().readall())
        except ResourceNotFoundError:
            continue  # deleted meanwhile (delete_caption removes it from the asset as well)
        _store_caption(asset, caption, stored.decode("utf-8", errors="replace"))


def on_caption_created(event: EventGridEvent, match: re.Match[str]) -> None:
    """A caption the API stored: offered once the malware gate found it clean, else refused."""
    asset = assets.get(
        tenant_id=match["tenant"], item_id=match["asset"], partition_key=match["webcast"]
    )
    captions = asset.captions if asset is not None else []
    caption = next((c for c in captions if c.language == match["language"]), None)
    if asset is None or caption is None or caption.status != CaptionStatus.scanning:
        _delete_upload(event.blob_name)  # removed or replaced meanwhile
        return
    blob = blob_service().get_blob_client(blob_container_name(UPLOADS), event.blob_name)
    try:
        properties = blob.get_blob_properties()
    except ResourceNotFoundError:
        return
    found = malware.require_clean(
        container=UPLOADS, blob_name=event.blob_name, uploaded_at=event.happened_at
    )
    content = b""
    if found == malware.Verdict.clean and properties.size <= CAPTION_MAX_BYTES:
        try:
            # The version read is the one the verdict was for: an overwrite in between fails.
            content = blob.download_blob(
                etag=properties.etag, match_condition=MatchConditions.IfNotModified
            ).readall()
        except (ResourceNotFoundError, ResourceModifiedError):
            return  # replaced meanwhile: the new version has an event of its own
    if content:
        # Only put_caption writes here, after checking the text; a byte it did not write
        # shows as a replacement character rather than failing the event for ever.
        _store_caption(asset, caption, content.decode("utf-8", errors="replace"))
        caption.status = CaptionStatus.available
    else:
        caption.status = CaptionStatus.rejected
        caption.rejection = malware.REFUSALS.get(found, "the file is larger than allowed")
    asset.updated_at = utc_iso()
    assets.replace(tenant_id=asset.tenant_id, item=asset)
    _delete_upload(event.blob_name)


def on_upload_created(event: EventGridEvent) -> None:
    """A source arrived: register it, pass it through the malware gate, queue the transcode."""
    caption = _CAPTION_PATTERN.match(event.blob_name)
    if caption is not None:
        on_caption_created(event, caption)
        return
    match = _SOURCE_PATTERN.match(event.blob_name)
    if match is None:
        log.warning("ignoring upload %s outside the asset layout", event.blob_name)
        return
    asset = assets.get(
        tenant_id=match["tenant"], item_id=match["asset"], partition_key=match["webcast"]
    )
    if asset is None:
        # Nobody asked for this file: it must not stay unaccounted for (it may show people).
        _delete_upload(event.blob_name)
        return
    if asset.status not in (AssetStatus.awaiting_upload, AssetStatus.uploaded):
        return
    try:
        properties = (
            blob_service()
            .get_blob_client(blob_container_name(UPLOADS), asset.source_blob)
            .get_blob_properties()
        )
    except ResourceNotFoundError:
        return  # deleted meanwhile (with its asset or webcast)
    refused = size_refusal(
        actual=properties.size,
        declared=asset.source_size,
        limit=get_settings().media_upload_max_bytes,
    )
    if refused is not None:
        _delete_upload(asset.source_blob)
        code = "too_large" if refused.too_large else "size_mismatch"
        _end(asset, AssetStatus.failed, code, refused.reason[:1].upper() + refused.reason[1:])
        return
    if asset.status == AssetStatus.awaiting_upload:
        asset.status = AssetStatus.uploaded
        asset.source_size = properties.size
        asset.content_type = event.data.content_type or asset.content_type
        asset.updated_at = utc_iso()
        asset = assets.replace(tenant_id=asset.tenant_id, item=asset)
    found = malware.require_clean(
        container=UPLOADS, blob_name=asset.source_blob, uploaded_at=event.happened_at
    )
    if found != malware.Verdict.clean:
        _delete_upload(asset.source_blob)
        _end(asset, AssetStatus.rejected, found.value, malware.REFUSALS[found])
        return
    # The worker reads the version checked here (size above, verdict for this etag or a
    # later one, which then fails the worker's read of this etag).
    asset.source_etag = properties.etag
    # Queue first, then mark: a crash in between queues the job twice, which the worker
    # tolerates (same output prefix), instead of leaving an asset queued without a job.
    _queue_job(asset, source_blob=asset.source_blob, edit=None)
    asset.status = AssetStatus.queued
    asset.updated_at = utc_iso()
    assets.replace(tenant_id=asset.tenant_id, item=asset)


# ---- worker results ----


def apply_result(result: MediaResult) -> bool:
    """Apply a worker result once; a ready asset is never downgraded by a late message.

    A result for a webcast that is gone (being deleted) changes nothing, and the outputs the
    worker made for it are deleted."""
    if is_gone(tenant_id=result.tenant_id, webcast_id=result.webcast_id):
        delete_prefix(
            MEDIA,
            media_prefix(
                tenant_id=result.tenant_id, webcast_id=result.webcast_id, asset_id=result.asset_id
            ),
        )
        return False
    asset = assets.get(
        tenant_id=result.tenant_id, item_id=result.asset_id, partition_key=result.webcast_id
    )
    if asset is None or asset.status in (AssetStatus.rejected, AssetStatus.awaiting_upload):
        return False
    if asset.status == AssetStatus.ready and result.outcome != "ready":
        return False
    if result.outcome == "processing":
        if asset.status in ENDED or asset.status == AssetStatus.processing:
            return False
        asset.status = AssetStatus.processing
        asset.job_attempts = max(asset.job_attempts, result.attempt)
        asset.updated_at = utc_iso()
        assets.replace(tenant_id=asset.tenant_id, item=asset)
        return True
    if result.outcome == "failed":
        asset.job_attempts = max(asset.job_attempts, result.attempt)
        _end(
            asset,
            AssetStatus.failed,
            result.failure_code or "failed",
            result.failure_reason or "The video could not be processed",
        )
        return True
    first = asset.status != AssetStatus.ready
    moment = utc_iso()
    asset.status = AssetStatus.ready
    asset.failure_code = asset.failure_reason = None
    asset.duration_seconds = result.duration_seconds
    asset.width, asset.height = result.width, result.height
    asset.renditions = result.renditions
    asset.start_pts_90khz = result.start_pts_90khz
    _remap_captions(asset)
    asset.poster, asset.download = result.poster, result.download
    asset.ready_at = asset.ready_at or moment
    asset.updated_at = moment
    assets.replace(tenant_id=asset.tenant_id, item=asset)
    if first:
        operations.record_write(
            tenant_id=asset.tenant_id,
            actor=SYSTEM_ACTOR,
            action="media.asset.ready",
            entity_type="media-asset",
            entity_id=asset.id,
            changed_fields=["status", "renditions"],
        )
    return True


# ---- reading and changing assets ----


def list_assets(*, principal: Principal, webcast_id: str) -> list[AssetView]:
    webcast = admin_webcast(principal, webcast_id, needs=MEMBER, write=False)
    published_id = _published_id(webcast)
    found = assets.query(
        tenant_id=webcast.tenant_id,
        partition_key=webcast.id,
        where="c.webcast_id = @w",
        parameters={"@w": webcast.id},
        order_by="c.created_at DESC",
    )
    return [view(asset, published_id=published_id) for asset in found]


def get_asset(*, principal: Principal, webcast_id: str, asset_id: str) -> AssetView:
    webcast = admin_webcast(principal, webcast_id, needs=MEMBER, write=False)
    return view(_asset(webcast, asset_id), published_id=_published_id(webcast))


def update_asset(
    *,
    principal: Principal,
    webcast_id: str,
    asset_id: str,
    data: AssetUpdate,
    context: RequestContext,
) -> AssetView:
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    asset = _asset(webcast, asset_id)
    asset.title = data.title
    return _saved_view(
        webcast, asset, principal, action="media.asset.update", changed="title", context=context
    )


def delete_asset(
    *, principal: Principal, webcast_id: str, asset_id: str, context: RequestContext
) -> None:
    """Delete an asset's ladder, captions and (when no other version uses it) its source."""
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    asset = _asset(webcast, asset_id)
    if _published_id(webcast) == asset.id:
        raise conflict("This asset is the webcast's published VOD: unpublish it first")
    delete_prefix(
        MEDIA, media_prefix(tenant_id=webcast.tenant_id, webcast_id=webcast.id, asset_id=asset.id)
    )
    sharing = assets.query(
        tenant_id=webcast.tenant_id,
        partition_key=webcast.id,
        where="c.webcast_id = @w AND c.source_blob = @s AND c.id != @a",
        parameters={"@w": webcast.id, "@s": asset.source_blob, "@a": asset.id},
    )
    if not sharing:
        _delete_upload(asset.source_blob)
    operations.delete(
        assets,
        tenant_id=webcast.tenant_id,
        item_id=asset.id,
        partition_key=webcast.id,
        actor=principal.actor,
        action="media.asset.delete",
        entity_type="media-asset",
        context=context,
    )


# ---- editing ----


def _source_ranges(parent: Asset, edit: EditSpec) -> list[tuple[float, float]]:
    """The edit's kept ranges in the original source's timeline (edits of edits compose)."""
    duration = parent.duration_seconds or 0.0
    wanted = edit.kept_ranges(duration)
    if parent.edit is None:
        return wanted
    # The parent's timeline is its kept source ranges laid end to end.
    pieces = parent.edit.kept_ranges(float("inf"))
    mapped: list[tuple[float, float]] = []
    for start, end in wanted:
        offset = 0.0
        for piece_start, piece_end in pieces:
            length = piece_end - piece_start
            low, high = max(start, offset), min(end, offset + length)
            if high > low:
                mapped.append((piece_start + low - offset, piece_start + high - offset))
            offset += length
    return mapped


def _spec_of(ranges: list[tuple[float, float]]) -> EditSpec:
    cuts = [
        CutRange(start=ranges[index][1], end=ranges[index + 1][0])
        for index in range(len(ranges) - 1)
        if ranges[index + 1][0] > ranges[index][1]
    ]
    return EditSpec(trim_start=ranges[0][0], trim_end=ranges[-1][1], cuts=cuts)


def create_edit(
    *,
    principal: Principal,
    webcast_id: str,
    asset_id: str,
    data: EditCreate,
    context: RequestContext,
) -> AssetView:
    """A new version of a ready asset, cut from the original source; the parent stays."""
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    parent = _asset(webcast, asset_id)
    if parent.status != AssetStatus.ready or not parent.duration_seconds:
        raise conflict("Only a ready asset can be edited")
    duration = parent.duration_seconds
    if data.edit.trim_start >= duration:
        raise validation_error("body.edit.trim_start", f"Must be below {duration:.2f} s")
    for index, cut in enumerate(data.edit.cuts):
        if cut.start >= duration:
            raise validation_error(
                f"body.edit.cuts.{index}.start", f"Must be below {duration:.2f} s"
            )
    ranges = _source_ranges(parent, data.edit)
    if sum(end - start for start, end in ranges) < _MIN_KEPT_SECONDS:
        raise validation_error("body.edit", "The edit leaves (almost) nothing")
    family = assets.query(
        tenant_id=webcast.tenant_id,
        partition_key=webcast.id,
        where="c.webcast_id = @w AND c.source_blob = @s",
        parameters={"@w": webcast.id, "@s": parent.source_blob},
    )
    moment = utc_iso()
    asset = assets.create(
        tenant_id=webcast.tenant_id,
        item=Asset(
            id=new_id(),
            tenant_id=webcast.tenant_id,
            webcast_id=webcast.id,
            title=data.title or parent.title,
            kind=AssetKind.edit,
            status=AssetStatus.queued,
            version=max(member.version for member in family) + 1,
            parent_asset_id=parent.id,
            edit=_spec_of(ranges),
            source_blob=parent.source_blob,
            source_filename=parent.source_filename,
            source_size=parent.source_size,
            source_etag=parent.source_etag,
            content_type=parent.content_type,
            captions=[],
            created_by=principal.account_id,
            created_at=moment,
            updated_at=moment,
        ),
    )
    _queue_job(asset, source_blob=asset.source_blob, edit=asset.edit)
    operations.record_bulk(
        tenant_id=webcast.tenant_id,
        actor=principal.actor,
        action="media.asset.edit",
        entity_type="media-asset",
        entity_ids=[asset.id, parent.id],
        changed_fields=["edit"],
        context=context,
    )
    return view(asset, published_id=_published_id(webcast))


# ---- captions ----


def _checked_vtt(content: bytes) -> str:
    if len(content) > CAPTION_MAX_BYTES:
        raise validation_error("body", f"At most {CAPTION_MAX_BYTES} bytes")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise validation_error("body", "WebVTT must be UTF-8") from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        # Cue text reaches every viewer's player: Unicode without controls (decision 0030).
        if (reason := text_problem(line.replace("\t", " "))) is not None:
            raise validation_error("body", f"Line {number}: {reason}")
    header = lines[0]
    if not (header == "WEBVTT" or header.startswith(("WEBVTT ", "WEBVTT\t"))):
        raise validation_error("body", "A WebVTT file starts with 'WEBVTT'")
    timings = [line for line in lines if "-->" in line]
    for number, line in enumerate(lines, start=1):
        if "-->" in line and not _CUE_TIMING.match(line.strip()):
            raise validation_error(
                "body", f"Line {number}: a cue timing looks like 00:01.000 --> ..."
            )
    if not timings:
        raise validation_error("body", "The WebVTT file has no cues")
    return text


def put_caption(
    *,
    principal: Principal,
    webcast_id: str,
    asset_id: str,
    language: str,
    label: str,
    content: bytes,
    context: RequestContext,
) -> AssetView:
    """Store (or replace) the WebVTT captions of one language."""
    from azure.storage.blob import ContentSettings  # imported late: cold start (cold_import)

    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    asset = _asset(webcast, asset_id)
    if asset.status in (AssetStatus.failed, AssetStatus.rejected):
        raise conflict("This asset has no video to caption")
    text = _checked_vtt(content)
    # Offered only once the malware gate has passed it (on_caption_created), like any upload.
    blob_service().get_blob_client(
        blob_container_name(UPLOADS),
        caption_upload_name(
            tenant_id=webcast.tenant_id, webcast_id=webcast.id, asset_id=asset.id, language=language
        ),
    ).upload_blob(
        text.encode(),
        overwrite=True,
        content_settings=ContentSettings(content_type=_VTT_TYPE),
    )
    caption = Caption(
        language=language,
        label=label,
        blob=f"captions/{language}.vtt",
        created_at=utc_iso(),
        status=CaptionStatus.scanning,
    )
    asset.captions = [c for c in asset.captions if c.language != language] + [caption]
    return _saved_view(
        webcast, asset, principal, action="media.caption.put", changed="captions", context=context
    )


def delete_caption(
    *,
    principal: Principal,
    webcast_id: str,
    asset_id: str,
    language: str,
    context: RequestContext,
) -> AssetView:
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    asset = _asset(webcast, asset_id)
    caption = next((c for c in asset.captions if c.language == language), None)
    if caption is None:
        raise not_found("Caption")
    prefix = media_prefix(tenant_id=webcast.tenant_id, webcast_id=webcast.id, asset_id=asset.id)
    delete_prefix(MEDIA, prefix + caption.blob)
    _delete_upload(
        caption_upload_name(
            tenant_id=webcast.tenant_id, webcast_id=webcast.id, asset_id=asset.id, language=language
        )
    )
    asset.captions = [c for c in asset.captions if c.language != language]
    return _saved_view(
        webcast,
        asset,
        principal,
        action="media.caption.delete",
        changed="captions",
        context=context,
    )


# ---- publishing ----


def publish(
    *, principal: Principal, webcast_id: str, asset_id: str, context: RequestContext
) -> AssetView:
    """Offer a ready asset as the webcast's VOD (replacing the one offered before)."""
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    asset = _asset(webcast, asset_id)
    if asset.status != AssetStatus.ready:
        raise conflict("Only a ready asset can be published")
    publications.upsert(
        tenant_id=webcast.tenant_id,
        item=Publication(
            id=PUBLICATION_ID,
            tenant_id=webcast.tenant_id,
            webcast_id=webcast.id,
            asset_id=asset.id,
            published_at=utc_iso(),
            published_by=principal.account_id,
        ),
    )
    forget_published(webcast.id)
    operations.record_write(
        tenant_id=webcast.tenant_id,
        actor=principal.actor,
        action="media.publish",
        entity_type="media-asset",
        entity_id=asset.id,
        context=context,
    )
    return view(asset, published_id=asset.id)


def unpublish(*, principal: Principal, webcast_id: str, context: RequestContext) -> None:
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    published_id = _published_id(webcast)
    if published_id is None:
        raise not_found("Publication")
    publications.delete(
        tenant_id=webcast.tenant_id, item_id=PUBLICATION_ID, partition_key=webcast.id
    )
    forget_published(webcast.id)
    operations.record_write(
        tenant_id=webcast.tenant_id,
        actor=principal.actor,
        action="media.unpublish",
        entity_type="media-asset",
        entity_id=published_id,
        context=context,
    )
