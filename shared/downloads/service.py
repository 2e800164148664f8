"""Handouts per webcast (P37) behind the malware gate (P38).

Admins (the owner, support under a grant) create a handout and PUT its file to a write-only
URL for exactly its blob. The BlobCreated event then checks the real size, waits for the
malware scan and only after a clean result reads the file's first bytes (and an Office
archive's directory) against the declared kind. A file that passes is available: viewers with
a grant list it and are sent to a short-lived read URL whose response is an attachment with
the kind's content type. A refused file is deleted; its record keeps the reason.
"""

from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING

from azure.core import MatchConditions
from azure.core.exceptions import ResourceNotFoundError

from shared.audit import operations
from shared.audit.models import SYSTEM_ACTOR, RequestContext
from shared.auth.models import Principal
from shared.blob_files import BlobRangeReader
from shared.blob_sas import UploadTicket, read_url, shared_window, upload_ticket
from shared.cache import ShortCache
from shared.clients import blob_container_name, blob_service
from shared.clock import utc_iso
from shared.config import get_settings
from shared.downloads import filetypes
from shared.downloads.models import (
    CONTAINER,
    MAX_HANDOUTS,
    Handout,
    HandoutCreate,
    HandoutOrder,
    HandoutRejection,
    HandoutStatus,
    HandoutUpdate,
)
from shared.downloads.repository import handouts
from shared.errors import (
    InvalidField,
    conflict,
    invalid_fields,
    not_found,
    validation_error,
)
from shared.events.models import EventGridEvent
from shared.ids import new_id
from shared.malware import REFUSALS, Verdict, require_clean
from shared.participants.access import require_grant
from shared.participants.models import ParticipantSession
from shared.privacy.blobs import delete_prefix
from shared.upload_size import size_refusal
from shared.webcasts.models import Webcast
from shared.webcasts.service import MANAGER, admin_webcast, viewer_webcast

# The blob SDK is imported by shared.clients when first used: a cold start need not load it.
if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, BlobProperties

UPLOAD_SECONDS = 30 * 60
# Viewers of a webcast get the same read URL within one window (cacheable); it stays valid for
# one to two windows after it is handed out.
DOWNLOAD_WINDOW_SECONDS = 5 * 60
# Viewers load the list with the player page: at 100,000 viewers a query each would weigh on
# the webcast's partition, so each process keeps the offered handouts for a few seconds.
OFFERED_CACHE_SECONDS = 5.0
# The most one read of a ZIP archive's directory may fetch: a larger claim is no document.
_MAX_ZIP_READ = 16 * 1024 * 1024
_GATE_CODES = {
    Verdict.malicious: "malware",
    Verdict.unscanned: "unscanned",
    Verdict.missing: "missing",
}

_offered: ShortCache[list[Handout]] = ShortCache(seconds=OFFERED_CACHE_SECONDS)


def _blob(name: str) -> "BlobClient":
    return blob_service().get_blob_client(blob_container_name(CONTAINER), name)


def _delete_blob(name: str) -> None:
    with suppress(ResourceNotFoundError):
        _blob(name).delete_blob(delete_snapshots="include")


def _ordered(items: list[Handout]) -> list[Handout]:
    return sorted(items, key=lambda h: (h.position, h.created_at))


def _forget(webcast_id: str) -> None:
    _offered.forget(webcast_id)


def _save(handout: Handout) -> Handout:
    handout.updated_at = utc_iso()
    saved = handouts.replace(tenant_id=handout.tenant_id, item=handout)
    _forget(handout.webcast_id)
    return saved


def _raise_all(errors: list[InvalidField]) -> None:
    if errors:
        raise invalid_fields(errors)


# -------------------------------------------------------------------------------------------
# Admin side
# -------------------------------------------------------------------------------------------


def _handout_or_404(webcast: Webcast, handout_id: str) -> Handout:
    handout = handouts.get(
        tenant_id=webcast.tenant_id, partition_key=webcast.id, item_id=handout_id
    )
    if handout is None:
        raise not_found("Handout")
    return handout


def _all(webcast: Webcast) -> list[Handout]:
    return _ordered(handouts.query(tenant_id=webcast.tenant_id, partition_key=webcast.id))


def _checked_file(data: HandoutCreate) -> tuple[str, filetypes.FileKind]:
    """The cleaned file name and its kind; refuses a wrong name, type or size up front."""
    filename = filetypes.clean_filename(data.filename)
    kind = filetypes.kind_of_name(filename)
    errors: list[InvalidField] = []
    if kind is None:
        allowed = ", ".join(filetypes.allowed_extensions())
        errors.append(InvalidField("filename", f"must end in one of {allowed}"))
    elif not kind.accepts_declared(data.content_type):
        errors.append(
            InvalidField("content_type", f"must be {kind.content_type} for a {kind.label}")
        )
    limit = get_settings().downloads_max_bytes
    if data.size > limit:
        errors.append(InvalidField("size", f"must be at most {limit} bytes"))
    _raise_all(errors)
    assert kind is not None
    return filename, kind


def create_handout(
    *, principal: Principal, webcast_id: str, data: HandoutCreate, context: RequestContext
) -> tuple[Handout, UploadTicket]:
    """A new handout and a short-lived write-only URL for exactly its file."""
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    filename, kind = _checked_file(data)
    existing = _all(webcast)
    if len(existing) >= MAX_HANDOUTS:
        raise conflict(f"A webcast offers at most {MAX_HANDOUTS} handouts")
    handout_id = new_id()
    moment = utc_iso()
    handout = operations.create(
        handouts,
        tenant_id=webcast.tenant_id,
        item=Handout(
            id=handout_id,
            tenant_id=webcast.tenant_id,
            webcast_id=webcast.id,
            title=data.title,
            filename=filename,
            content_type=kind.content_type,
            size=data.size,
            position=max((h.position for h in existing), default=-1) + 1,
            blob_name=f"{webcast.tenant_id}/{webcast.id}/{handout_id}/"
            f"{filetypes.blob_file_name(filename)}",
            created_by=principal.account_id,
            created_at=moment,
            updated_at=moment,
        ),
        actor=principal.actor,
        action="handout.create",
        entity_type="handout",
        changed_fields=["content_type", "filename", "size", "title"],
        context=context,
    )
    ticket = upload_ticket(
        container=CONTAINER,
        blob_name=handout.blob_name,
        lifetime_seconds=UPLOAD_SECONDS,
        max_bytes=get_settings().downloads_max_bytes,
        content_type=kind.content_type,
    )
    return handout, ticket


def list_handouts(*, principal: Principal, webcast_id: str) -> list[Handout]:
    """Every handout of the webcast in the viewers' order, with its status."""
    return _all(admin_webcast(principal, webcast_id, needs=MANAGER, write=False))


def get_handout(*, principal: Principal, webcast_id: str, handout_id: str) -> Handout:
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=False)
    return _handout_or_404(webcast, handout_id)


def update_handout(
    *,
    principal: Principal,
    webcast_id: str,
    handout_id: str,
    data: HandoutUpdate,
    context: RequestContext,
) -> Handout:
    """Rename the handout or the file name viewers download it as (same kind of file)."""
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    handout = _handout_or_404(webcast, handout_id)
    changed: list[str] = []
    if data.title is not None and data.title != handout.title:
        handout.title = data.title
        changed.append("title")
    if data.filename is not None:
        filename = filetypes.clean_filename(data.filename)
        kind = filetypes.kind_of_name(handout.blob_name)
        if not filename or kind is None or filetypes.kind_of_name(filename) is not kind:
            allowed = " or ".join(kind.extensions) if kind else "the same extension"
            raise validation_error("filename", f"must end in {allowed}")
        if filename != handout.filename:
            handout.filename = filename
            changed.append("filename")
    if not changed:
        return handout
    handout = _save(handout)
    operations.record_write(
        tenant_id=webcast.tenant_id,
        actor=principal.actor,
        action="handout.update",
        entity_type="handout",
        entity_id=handout.id,
        changed_fields=changed,
        context=context,
    )
    return handout


def reorder_handouts(
    *, principal: Principal, webcast_id: str, data: HandoutOrder, context: RequestContext
) -> list[Handout]:
    """The named handouts first, in the given order; the others follow in theirs."""
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    current = _all(webcast)
    by_id = {h.id: h for h in current}
    errors: list[InvalidField] = []
    named: list[str] = []
    for index, handout_id in enumerate(data.ids):
        if handout_id not in by_id:
            errors.append(InvalidField(f"ids[{index}]", "is not a handout of this webcast"))
        elif handout_id in named:
            errors.append(InvalidField(f"ids[{index}]", "names a handout a second time"))
        else:
            named.append(handout_id)
    _raise_all(errors)
    ordered = [by_id[i] for i in named] + [h for h in current if h.id not in named]
    moved: list[str] = []
    for position, handout in enumerate(ordered):
        if handout.position != position:
            handout.position = position
            ordered[position] = _save(handout)
            moved.append(handout.id)
    if moved:
        operations.record_bulk(
            tenant_id=webcast.tenant_id,
            actor=principal.actor,
            action="handout.reorder",
            entity_type="handout",
            entity_ids=moved,
            changed_fields=["position"],
            context=context,
        )
    return ordered


def delete_handout(
    *, principal: Principal, webcast_id: str, handout_id: str, context: RequestContext
) -> None:
    """The handout and its file; a file uploaded later finds no handout and is deleted too."""
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    handout = _handout_or_404(webcast, handout_id)
    delete_prefix(CONTAINER, f"{webcast.tenant_id}/{webcast.id}/{handout.id}/")
    operations.delete(
        handouts,
        tenant_id=webcast.tenant_id,
        item_id=handout.id,
        partition_key=webcast.id,
        actor=principal.actor,
        action="handout.delete",
        entity_type="handout",
        context=context,
    )
    _forget(webcast.id)


# -------------------------------------------------------------------------------------------
# Viewer side
# -------------------------------------------------------------------------------------------


def _offered_handouts(webcast_id: str) -> list[Handout]:
    # The webcast first (cached, forgotten at once in the process that tombstones it): a
    # deleted webcast's handouts are not served from this cache for the rest of its time.
    viewer_webcast(webcast_id)
    return _offered.get(webcast_id, lambda: _load_offered(webcast_id))


def _load_offered(webcast_id: str) -> list[Handout]:
    webcast = viewer_webcast(webcast_id)
    return _ordered(
        handouts.query(
            tenant_id=webcast.tenant_id,
            partition_key=webcast.id,
            where="c.status = @status",
            parameters={"@status": HandoutStatus.available.value},
        )
    )


def available_handouts(*, session: ParticipantSession | None, webcast_id: str) -> list[Handout]:
    """The handouts offered to a viewer with a grant for the webcast, in their order."""
    require_grant(session, webcast_id)
    return _offered_handouts(webcast_id)


def download_url(*, session: ParticipantSession | None, webcast_id: str, handout_id: str) -> str:
    """A short-lived read URL whose response is an attachment with the handout's file name
    and content type; only for available handouts and viewers with a grant."""
    require_grant(session, webcast_id)
    handout = next((h for h in _offered_handouts(webcast_id) if h.id == handout_id), None)
    if handout is None:
        raise not_found("Handout")
    start, expiry = shared_window(DOWNLOAD_WINDOW_SECONDS)
    return read_url(
        container=CONTAINER,
        blob_name=handout.blob_name,
        start=start,
        expiry=expiry,
        content_disposition=filetypes.content_disposition(handout.filename),
        content_type=handout.content_type,
    )


# -------------------------------------------------------------------------------------------
# The uploaded file
# -------------------------------------------------------------------------------------------


def _head(blob: "BlobClient", properties: "BlobProperties") -> bytes:
    if not properties.size:
        return b""
    head: bytes = blob.download_blob(
        offset=0,
        length=min(filetypes.HEAD_BYTES, properties.size),
        etag=properties.etag,
        match_condition=MatchConditions.IfNotModified,
    ).readall()
    return head


def _refusal(
    handout: Handout, blob: "BlobClient", properties: "BlobProperties", uploaded_at: datetime
) -> HandoutRejection | None:
    """Why the file is not offered (None: it may be); `ScanPendingError` until the scan result
    is there. Nothing of the content is read before the scan found it clean."""
    refused = size_refusal(
        actual=properties.size, declared=handout.size, limit=get_settings().downloads_max_bytes
    )
    if refused is not None:
        code = "too-large" if refused.too_large else "size-mismatch"
        return HandoutRejection(code=code, reason=refused.reason)
    found = require_clean(container=CONTAINER, blob_name=handout.blob_name, uploaded_at=uploaded_at)
    if found != Verdict.clean:
        return HandoutRejection(code=_GATE_CODES[found], reason=REFUSALS[found])
    kind = filetypes.kind_of_name(handout.blob_name)
    if kind is None:
        return HandoutRejection(code="wrong-type", reason="the file name has no allowed extension")
    wrong = HandoutRejection(code="wrong-type", reason=f"the file's content is not a {kind.label}")
    if not kind.matches_head(_head(blob, properties)):
        return wrong
    if kind.required_part and not filetypes.holds_part(
        BlobRangeReader(blob, properties, max_read=_MAX_ZIP_READ), kind.required_part
    ):
        return wrong
    return None


def _audit_scan(handout: Handout, outcome: str) -> None:
    operations.record_write(
        tenant_id=handout.tenant_id,
        actor=SYSTEM_ACTOR,
        action="handout.scan",
        entity_type="handout",
        entity_id=handout.id,
        changed_fields=["status"],
        outcome=outcome,
    )


def _handout_of_blob(name: str) -> tuple[Handout | None, bool]:
    """The handout a blob of the downloads container belongs to, and whether the name is ours."""
    parts = name.split("/")
    if len(parts) != 4:
        return None, False
    tenant_id, webcast_id, handout_id, _ = parts
    return handouts.get(tenant_id=tenant_id, partition_key=webcast_id, item_id=handout_id), True


def on_file_created(event: EventGridEvent) -> None:
    """An uploaded handout file: available once size, malware scan and type pass (P38).

    Raises `ScanPendingError` while the scan result has not arrived; the handout stays
    `scanning` and is not offered meanwhile. Safe to run again for the same event."""
    handout, ours = _handout_of_blob(event.blob_name)
    if not ours:
        return
    if (
        handout is None
        or handout.blob_name != event.blob_name
        or handout.status == HandoutStatus.rejected
    ):
        _delete_blob(event.blob_name)  # no handout wants it: deleted, or refused already
        return
    blob = _blob(event.blob_name)
    try:
        properties = blob.get_blob_properties()
    except ResourceNotFoundError:
        return  # deleted with its handout meanwhile
    if handout.status == HandoutStatus.available and handout.file_etag == properties.etag:
        return  # this version is offered already
    if handout.status != HandoutStatus.scanning:
        # An overwritten file is not offered again before it has passed.
        handout.status = HandoutStatus.scanning
        handout.uploaded_at = utc_iso()
        handout = _save(handout)
    rejection = _refusal(handout, blob, properties, event.happened_at)
    if rejection is not None:
        handout.status = HandoutStatus.rejected
        handout.rejection = rejection
        handout.file_etag = None
        handout.available_at = None
        _save(handout)  # first: a failed delete leaves a rejected handout, retried by the event
        _delete_blob(handout.blob_name)
        _audit_scan(handout, "failure")
        return
    handout.status = HandoutStatus.available
    handout.rejection = None
    handout.size = properties.size
    handout.file_etag = properties.etag
    handout.available_at = utc_iso()
    _save(handout)
    _audit_scan(handout, "success")


def restored(handout: Handout) -> Handout:
    """A handout restored from a backup: its file, copied anew, passes the checks of an
    upload (size, malware gate, type) before it is offered again."""
    if handout.status != HandoutStatus.available:
        return handout
    return handout.model_copy(
        update={
            "status": HandoutStatus.scanning,
            "file_etag": None,
            "available_at": None,
            "uploaded_at": utc_iso(),
        }
    )
