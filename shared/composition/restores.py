"""Restore a manual backup into a new webcast (P32, issue 16).

The owner uploads the ZIP into the gated `restores` container; once the malware gate has
found it clean, a queued job reads it twice. The first pass checks all of it and writes
nothing: sizes, compression ratios, member names, the manifest's SHA-256 of every member,
every document against its type's model and the new webcast's bounds, every blob name a
document or playlist names. A ZIP that fails any check is refused whole, with a report.
The second pass writes the documents under the new webcast's id (the old id replaced
everywhere, login keys recomputed, published pages rendered again), copies the files, and
creates the webcast last, so that nothing is reachable before all of it is there. People
whom the original webcast's erasure ledger names stay erased; keys, secrets and
credentials are never in a backup, and the owner issues new ones."""

import hashlib
import io
import json
import posixpath
import re
import zipfile
from collections.abc import Iterator, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
from azure.cosmos import exceptions as cosmos_errors
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from shared.audit import operations
from shared.audit.models import SYSTEM_ACTOR, Actor, ActorKind, RequestContext
from shared.auth.models import Principal
from shared.auth.permissions import require_owner
from shared.blob_files import BlobRangeReader
from shared.blob_sas import UploadTicket, upload_ticket
from shared.clients import blob_container_name, blob_service, cosmos_container, queue_client
from shared.clock import now, utc_iso
from shared.composition import backups
from shared.composition.restore_uploads import CONTAINER
from shared.cosmos.repository import Document, TenantRepository
from shared.deletions import sweep
from shared.designs import service as designs
from shared.designs.models import Design, PageImage
from shared.downloads import service as handouts
from shared.downloads.models import Handout
from shared.errors import DomainError, conflict, not_found
from shared.events.models import EventGridEvent
from shared.events.service import EventDroppedError
from shared.ids import new_id
from shared.integrations.models import EmbedSettings, EmbedSettingsInput
from shared.mail.models import MailTemplates
from shared.malware import REFUSALS, Verdict, require_clean
from shared.media.models import Asset, AssetFile, Publication
from shared.messages import feed
from shared.messages.models import Message, VoteTally
from shared.messages.models import Vote as MessageVote
from shared.participants import service as participants
from shared.participants.models import LinkSettings, Participant, RegistrationForm
from shared.polls.models import Poll, Tally
from shared.polls.models import Vote as PollVote
from shared.privacy.blobs import delete_prefix
from shared.text import InputModel
from shared.tracking import service as tracking
from shared.tracking.models import Viewing
from shared.upload_size import size_refusal
from shared.webcasts import service as webcasts
from shared.webcasts.models import Slug, Title, Webcast

QUEUE = "restores"
# Bounds of the work one uploaded ZIP can cause.
MAX_BYTES = 50 * 1024**3
MAX_MEMBERS = 200_000
MAX_UNPACKED_BYTES = 200 * 1024**3
# DEFLATE reaches about 1,000:1 on repeated bytes; JSON Lines compress about 10:1 and media
# barely at all, so a member past this ratio is a bomb, not a backup.
MAX_RATIO = 100
_RATIO_FREE_BYTES = 1024 * 1024
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
MAX_LINE_BYTES = 2 * 1024 * 1024  # the largest document Cosmos DB stores
MAX_PLAYLIST_BYTES = 8 * 1024 * 1024
MAX_PROBLEMS = 20
UPLOAD_SECONDS = 2 * 60 * 60
UPLOAD_BLOCK_BYTES = 8 * 1024 * 1024
KEPT_SECONDS = 24 * 60 * 60
_READ_BYTES = 4 * 1024 * 1024
_WRITERS = 16
_BATCH = 256

# What a restore writes, by store and type: exactly the models a backup holds. Slug
# reservations and login keys are made anew, the attendance snapshot is recomputed on read.
RESTORED_TYPES: Mapping[str, Mapping[str, type[Document]]] = {
    "webcasts": {
        m.doc_type: m
        for m in (Webcast, RegistrationForm, MailTemplates, LinkSettings, EmbedSettings)
    },
    "participants": {Participant.doc_type: Participant},
    "messages": {m.doc_type: m for m in (Message, MessageVote, VoteTally)},
    "polls": {m.doc_type: m for m in (Poll, PollVote, Tally)},
    "tracking": {Viewing.doc_type: Viewing},
    "media": {m.doc_type: m for m in (Asset, Publication)},
    "downloads": {Handout.doc_type: Handout},
    "designs": {m.doc_type: m for m in (Design, PageImage)},
}
# Handouts pass the upload checks again (size, malware gate, type) when their files land:
# copied once the webcast exists, since a file event of a webcast not there drops the file.
_CHECKED_AGAIN = ("downloads",)
_SERVED_AS_STORED = tuple(s for s in backups.BLOB_STORES if s not in _CHECKED_AGAIN)
# Made anew, never taken from the ZIP: slug reservations, login keys, the attendance
# snapshot (recomputed on read) and the published message feed (rebuilt from the messages).
MADE_ANEW = frozenset({"slug", "participant-login", "attendance-report", "message-feed"})
_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}"
_BLOB_MEMBER = re.compile(rf"^blobs/([a-z-]+)/({_SEGMENT}(?:/{_SEGMENT}){{0,7}})$")
_DOCUMENT_MEMBER = re.compile(r"^documents/([a-z]+)\.jsonl$")
_ID_PREFIX = re.compile(r"^[0-9a-f]{32}/")
# An id as `shared.ids.new_id` makes them: 32 hex digits, not part of a longer hash.
_ID_TOKEN = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")
_MAP_URI = re.compile(r'URI="([^"]*)"')
_CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".vtt": "text/vtt",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
}


class RestoreStatus(StrEnum):
    awaiting_upload = "awaiting_upload"
    queued = "queued"
    restoring = "restoring"
    ready = "ready"
    failed = "failed"


class RestoreProblem(BaseModel):
    """Why the ZIP was refused: which member (and line), and what is wrong with it."""

    member: str | None = None
    line: int | None = None
    reason: str


class RestoreJob(Document):
    doc_type = "restore"

    tenant_id: str
    # The new webcast's id, fixed when the job is made (its files and its upload live
    # under it, so that deleting the webcast or the account sweeps them).
    webcast_id: str
    requested_by: str
    slug: str
    title: str | None = None
    declared_size: int
    blob: str
    status: RestoreStatus = RestoreStatus.awaiting_upload
    created_at: str
    updated_at: str
    source_webcast_id: str | None = None
    counts: dict[str, int] = {}
    problems: list[RestoreProblem] = []
    failure: str | None = None


class RestoreCreate(InputModel):
    """A backup ZIP to upload, and the new webcast's slug (and title, else the backup's)."""

    model_config = ConfigDict(extra="forbid")

    size: int = Field(gt=0, le=MAX_BYTES)
    slug: Slug
    title: Title | None = None


class RestoreView(BaseModel):
    id: str
    webcast_id: str
    slug: str
    status: RestoreStatus
    created_at: str
    source_webcast_id: str | None
    counts: dict[str, int]
    problems: list[RestoreProblem]
    failure: str | None
    # Only when the job is made: where the browser puts the ZIP.
    upload: UploadTicket | None = None


class RestoreMessage(BaseModel):
    tenant_id: str
    restore_id: str


restores = TenantRepository(container="backups", model=RestoreJob)


class RefusedError(Exception):
    """The ZIP fails a check: nothing is written."""

    def __init__(self, problems: list[RestoreProblem]) -> None:
        super().__init__(problems[0].reason if problems else "refused")
        self.problems = problems


def _view(job: RestoreJob, upload: UploadTicket | None = None) -> RestoreView:
    return RestoreView(
        **job.model_dump(include=set(RestoreView.model_fields) - {"upload"}), upload=upload
    )


def request_restore(
    *, principal: Principal, data: RestoreCreate, context: RequestContext
) -> RestoreView:
    """The owner asks to restore a backup into a new webcast: where to upload the ZIP."""
    tenant_id = require_owner(principal)
    if webcasts.webcast_id_by_slug(tenant_id=tenant_id, slug=data.slug) is not None:
        raise conflict("Another webcast of this account uses this slug", "slug")
    restore_id, webcast_id = new_id(), new_id()
    moment = utc_iso()
    job = operations.create(
        restores,
        tenant_id=tenant_id,
        item=RestoreJob(
            id=restore_id,
            tenant_id=tenant_id,
            webcast_id=webcast_id,
            requested_by=principal.account_id,
            slug=data.slug,
            title=data.title,
            declared_size=data.size,
            blob=f"{tenant_id}/{webcast_id}/restore/{restore_id}.zip",
            created_at=moment,
            updated_at=moment,
        ),
        actor=principal.actor,
        action="webcast.restore.request",
        entity_type="restore",
        changed_fields=sorted(data.model_fields_set | {"slug", "size"}),
        context=context,
    )
    ticket = upload_ticket(
        container=CONTAINER,
        blob_name=job.blob,
        lifetime_seconds=UPLOAD_SECONDS,
        max_bytes=data.size,
        content_type="application/zip",
        block_bytes=UPLOAD_BLOCK_BYTES,
    )
    return _view(job, ticket)


def read_restore(*, principal: Principal, restore_id: str) -> RestoreView:
    tenant_id = require_owner(principal)
    job = restores.get(tenant_id=tenant_id, item_id=restore_id)
    if job is None:
        raise not_found("Restore")
    return _view(job)


def _job_of_blob(name: str) -> RestoreJob | None:
    parts = name.split("/")
    if len(parts) != 4 or parts[2] != "restore" or not parts[3].endswith(".zip"):
        return None
    job = restores.get(tenant_id=parts[0], item_id=parts[3].removesuffix(".zip"))
    return job if job is not None and job.blob == name else None


def _blob(job: RestoreJob) -> Any:
    return blob_service().get_blob_client(blob_container_name(CONTAINER), job.blob)


def on_upload_created(event: EventGridEvent) -> None:
    """An uploaded ZIP: once the malware gate found it clean (P38), queue its restore."""
    job = _job_of_blob(event.blob_name)
    if job is None:
        # No restore asked for this file (or another account's): it goes unread.
        delete_prefix(CONTAINER, event.blob_name)
        raise EventDroppedError(event.blob_name)
    if job.status != RestoreStatus.awaiting_upload:
        return
    try:
        properties = _blob(job).get_blob_properties()
    except ResourceNotFoundError:
        return
    found = require_clean(
        container=CONTAINER, blob_name=job.blob, uploaded_at=properties.last_modified
    )
    if found != Verdict.clean:
        _fail(job, [RestoreProblem(reason=REFUSALS[found])])
        return
    refused = size_refusal(actual=properties.size, declared=job.declared_size, limit=MAX_BYTES)
    if refused is not None:
        _fail(job, [RestoreProblem(reason=refused.reason)])
        return
    job.status = RestoreStatus.queued
    job.updated_at = utc_iso()
    restores.replace(tenant_id=job.tenant_id, item=job)
    message = RestoreMessage(tenant_id=job.tenant_id, restore_id=job.id)
    queue_client(QUEUE).send_message(message.model_dump_json().encode())


class ManifestMember(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=1000)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: str
    version: int
    tenant_id: str
    webcast_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    backup_id: str
    created_at: str
    members: list[ManifestMember] = Field(max_length=MAX_MEMBERS)


@dataclass
class _Plan:
    """What the first pass found: the manifest, counts, and whom to leave out."""

    manifest: Manifest
    counts: dict[str, int] = field(default_factory=dict)
    erased: set[str] = field(default_factory=set)  # their ids in the new webcast
    ids: dict[str, str] = field(default_factory=dict)  # of the backup -> in the new webcast
    webcast: Webcast | None = None


class _Problems:
    """The report of a refused ZIP: the first problems, then the run stops."""

    def __init__(self) -> None:
        self.found: list[RestoreProblem] = []

    def add(self, reason: str, member: str | None = None, line: int | None = None) -> None:
        self.found.append(RestoreProblem(member=member, line=line, reason=reason))
        if len(self.found) >= MAX_PROBLEMS:
            raise RefusedError(self.found)

    def raise_any(self) -> None:
        if self.found:
            raise RefusedError(self.found)


def _check_members(archive: zipfile.ZipFile, zip_size: int, problems: _Problems) -> None:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS + 1:
        problems.add(f"the ZIP has more than {MAX_MEMBERS} members")
        problems.raise_any()
    names: set[str] = set()
    unpacked = 0
    for info in infos:
        name = info.filename
        if name in names:
            problems.add("the name appears twice", name)
        names.add(name)
        if name != "manifest.json" and not (
            _DOCUMENT_MEMBER.match(name) or _BLOB_MEMBER.match(name)
        ):
            problems.add("not a member a backup holds (name or path refused)", name[:200])
        if info.flag_bits & 0x1:
            problems.add("encrypted members are refused", name[:200])
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            problems.add("only stored or deflated members are read", name[:200])
        if info.file_size > _RATIO_FREE_BYTES and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            problems.add(f"compressed more than {MAX_RATIO}:1", name[:200])
        unpacked += info.file_size
    if unpacked > min(MAX_UNPACKED_BYTES, MAX_RATIO * zip_size + _RATIO_FREE_BYTES):
        problems.add("the members unpack to more than a backup of this size can hold")
    if "manifest.json" not in names:
        problems.add("the ZIP has no manifest.json")
    problems.raise_any()


def _read_manifest(archive: zipfile.ZipFile, job: RestoreJob, problems: _Problems) -> Manifest:
    info = archive.getinfo("manifest.json")
    if info.file_size > MAX_MANIFEST_BYTES:
        problems.add("the manifest is too large", "manifest.json")
        problems.raise_any()
    try:
        manifest = Manifest.model_validate_json(archive.read(info))
    except ValidationError as error:
        problems.add(f"the manifest is not a backup's: {error.errors()[0]['msg']}", "manifest.json")
        raise RefusedError(problems.found) from error
    if manifest.format != backups.FORMAT or manifest.version != backups.VERSION:
        problems.add("not a backup of this platform's format and version", "manifest.json")
    if manifest.tenant_id != job.tenant_id:
        problems.add("a backup restores only into the account it was made in", "manifest.json")
    listed = [member.name for member in manifest.members]
    present = {i.filename: i.file_size for i in archive.infolist()}
    present.pop("manifest.json", None)
    if len(set(listed)) != len(listed) or set(listed) != set(present):
        problems.add("the manifest does not list exactly the ZIP's members", "manifest.json")
    for member in manifest.members:
        if member.name in present and present[member.name] != member.size:
            problems.add("its size differs from the manifest's", member.name)
    problems.raise_any()
    return manifest


def _new_id(restore_id: str, old: str) -> str:
    # Derived, not drawn: a repeated run writes the same documents again.
    return hashlib.sha256(f"restore:{restore_id}:{old}".encode()).hexdigest()[:32]


def _remapped(value: Any, ids: Mapping[str, str]) -> Any:
    """The value with every id of the backup's documents replaced by its new one, in every
    string and key (references, partitions, blob names); other ids (accounts) stay."""
    if isinstance(value, str):
        return _ID_TOKEN.sub(lambda found: ids.get(found.group(0), found.group(0)), value)
    if isinstance(value, list):
        return [_remapped(each, ids) for each in value]
    if isinstance(value, dict):
        return {_remapped(key, ids): _remapped(each, ids) for key, each in value.items()}
    return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for each in value:
            yield from _strings(each)
    elif isinstance(value, dict):
        for key, each in value.items():
            yield key
            yield from _strings(each)


def _outside(doc: dict[str, Any], prefix: str) -> bool:
    """Whether a string of the document names a blob outside the new webcast's folders."""
    for text in _strings(doc):
        if _ID_PREFIX.match(text) and not (
            text.startswith(prefix) and ".." not in text.split("/") and "\\" not in text
        ):
            return True
    return False


def _relative_files(asset: Asset) -> list[str | None]:
    return [asset.poster, asset.download, *(caption.blob for caption in asset.captions)]


_ASSET_FILE: TypeAdapter[str] = TypeAdapter(AssetFile)


def _check_document(item: Any, store: str, tenant_id: str, webcast_id: str) -> str | Document:
    """The document, ready to be written under the new id; or why it is refused."""
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        return "not a document"
    kind = item["type"]
    if kind in MADE_ANEW:
        return ""
    model = RESTORED_TYPES[store].get(kind)
    if model is None:
        return f"a document of type {kind[:40]!r} is not restored into {store}"
    if item.get("tenant_id") != tenant_id or item.get("blocked_at"):
        return "of another account, or blocked (blocked data is in no backup)"
    own = item.get("id") if kind == Webcast.doc_type else item.get("webcast_id")
    if own != webcast_id:
        return "of another webcast than the manifest's"
    if _outside(item, f"{tenant_id}/{webcast_id}/"):
        return "names a file outside the webcast's folders"
    try:
        document = model.model_validate(item)
        if isinstance(document, Webcast):
            webcasts.check_restorable(document)
        if isinstance(document, EmbedSettings):
            EmbedSettingsInput(enabled=document.enabled, allowed_origins=document.allowed_origins)
    except ValidationError as error:
        first = error.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"[:300]
    except DomainError as error:
        return error.detail[:300]
    if isinstance(document, Asset):
        try:
            for name in _relative_files(document):
                if name is not None:
                    _ASSET_FILE.validate_python(name)
        except ValidationError:
            return "names a file outside the asset's folder"
    return document


def _json_line(raw: bytes) -> Any:
    item = json.loads(raw)
    # A lone surrogate parses from an escape but cannot be stored: refused here.
    json.dumps(item, ensure_ascii=False).encode()
    return item


def _document_lines(archive: zipfile.ZipFile, name: str) -> Iterator[tuple[int, bytes]]:
    with archive.open(name) as member:
        number = 0
        while True:
            raw = member.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            number += 1
            yield number, raw


def _check_playlist(archive: zipfile.ZipFile, name: str, problems: _Problems) -> None:
    """Every URI of a restored media playlist names a file beside it in its asset's folder,
    never another webcast's segments (their signed URLs would hand those out)."""
    info = archive.getinfo(name)
    if info.file_size > MAX_PLAYLIST_BYTES:
        problems.add("the playlist is too large", name)
        return
    folder = name.split("/", 3)[:3]
    for line in archive.read(info).decode("utf-8", "replace").splitlines():
        body = line.strip()
        uris = _MAP_URI.findall(body) if body.startswith("#") else [body] if body else []
        for uri in uris:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), uri))
            if "://" in uri or uri.startswith("/") or target.split("/")[:3] != folder:
                problems.add("the playlist names a file outside its asset's folder", name)
                return


def _check(archive: zipfile.ZipFile, job: RestoreJob, zip_size: int) -> _Plan:
    """The first pass: everything checked, nothing written; RefusedError with the report."""
    problems = _Problems()
    _check_members(archive, zip_size, problems)
    manifest = _read_manifest(archive, job, problems)
    plan = _Plan(manifest=manifest, ids={manifest.webcast_id: job.webcast_id})
    ledger = participants.erasure_entries(tenant_id=job.tenant_id, webcast_id=manifest.webcast_id)
    logins: set[tuple[str, str]] = set()
    for member in manifest.members:
        digest = hashlib.sha256()
        document_store = _DOCUMENT_MEMBER.match(member.name)
        if document_store and document_store.group(1) not in RESTORED_TYPES:
            problems.add("not a store a backup holds", member.name)
            continue
        if document_store:
            store = document_store.group(1)
            count = 0
            try:
                for number, raw in _document_lines(archive, member.name):
                    digest.update(raw)
                    if len(raw) > MAX_LINE_BYTES:
                        problems.add(
                            "the line is longer than a document can be", member.name, number
                        )
                        break
                    try:
                        item = _json_line(raw)
                    except (ValueError, RecursionError, UnicodeError):
                        problems.add("not a JSON document", member.name, number)
                        continue
                    found = _check_document(item, store, job.tenant_id, manifest.webcast_id)
                    if isinstance(found, str):
                        if found:
                            problems.add(found, member.name, number)
                        continue
                    count += 1
                    for old in _ID_TOKEN.findall(found.id):
                        plan.ids.setdefault(old, _new_id(job.id, old))
                    if isinstance(found, Webcast):
                        if plan.webcast is not None:
                            problems.add("a second webcast document", member.name, number)
                        plan.webcast = found
                    if isinstance(found, Participant):
                        for login in participants.login_values(found):
                            if login in logins:
                                problems.add(
                                    "a second participant with this login", member.name, number
                                )
                            logins.add(login)
                        if participants.was_erased(
                            found, original_webcast_id=manifest.webcast_id, entries=ledger
                        ):
                            plan.erased.add(_remapped(found.id, plan.ids))
            except zipfile.BadZipFile as error:
                problems.add(f"unreadable: {error}"[:200], member.name)
                continue
            plan.counts[f"cosmos:{store}"] = count
        else:
            blob_member = _BLOB_MEMBER.match(member.name)
            store = blob_member.group(1) if blob_member else ""
            if store not in backups.BLOB_STORES:
                problems.add("not a file store a backup holds", member.name)
                continue
            if member.name.endswith(".m3u8"):
                _check_playlist(archive, member.name, problems)
            try:
                with archive.open(member.name) as data:
                    while chunk := data.read(_READ_BYTES):
                        digest.update(chunk)
            except zipfile.BadZipFile as error:
                problems.add(f"unreadable: {error}"[:200], member.name)
                continue
            plan.counts[f"blob:{store}"] = plan.counts.get(f"blob:{store}", 0) + 1
        if digest.hexdigest() != member.sha256:
            problems.add("its SHA-256 differs from the manifest's", member.name)
    if plan.webcast is None:
        problems.add("the backup holds no webcast document")
    problems.raise_any()
    plan.counts["erased"] = len(plan.erased)
    return plan


def _prepared(document: Document) -> Document:
    """What is written for a checked document: published pages rendered again from their
    blocks (no HTML of the ZIP reaches a viewer), a participant's viewings in the shard
    their new id keys, handouts waiting for their files' checks."""
    if isinstance(document, Design) and document.rendered is not None:
        return designs.rendered_again(document)
    if isinstance(document, Viewing):
        return tracking.rehomed(document)
    if isinstance(document, Handout):
        return handouts.restored(document)
    return document


def _new_webcast(original: Webcast, job: RestoreJob, moment: str) -> Webcast:
    return original.model_copy(
        update={
            "slug": job.slug,
            "title": job.title or original.title,
            "created_at": moment,
            "updated_at": moment,
            "created_by": job.requested_by,
            "retention_notice_for": None,
            "retention_notice_at": None,
            "deletion_started_at": None,
            "etag": None,
        }
    )


def _write_documents(
    archive: zipfile.ZipFile, job: RestoreJob, plan: _Plan, pool: Executor
) -> None:
    for store in backups.DOCUMENT_STORES:
        name = f"documents/{store}.jsonl"
        if name not in archive.namelist():
            continue
        container = cosmos_container(store)
        batch: list[Document] = []

        def flush(batch: list[Document], container: Any = container) -> None:
            people = [d for d in batch if isinstance(d, Participant)]
            if people:
                participants.restore_participants(people, pool=pool, restore_id=job.id)
            others = [d for d in batch if not isinstance(d, Participant)]
            list(pool.map(lambda d: container.upsert_item(d.to_item()), others))

        for _, raw in _document_lines(archive, name):
            item = _remapped(_json_line(raw), plan.ids)
            found = _check_document(item, store, job.tenant_id, job.webcast_id)
            if isinstance(found, (str, Webcast)):
                continue  # made anew, or the webcast itself: created last
            if (found.id if isinstance(found, Participant) else _tied_to(found)) in plan.erased:
                continue  # a person erased since, with everything tied to them
            batch.append(_prepared(found))
            if len(batch) >= _BATCH:
                flush(batch)
                batch = []
        if batch:
            flush(batch)


def _tied_to(document: Document) -> str | None:
    """The participant a message, vote or viewing is tied to, if any."""
    participant_id = getattr(document, "participant_id", None)
    return participant_id if isinstance(participant_id, str) else None


def _content_type(name: str) -> str:
    return _CONTENT_TYPES.get(posixpath.splitext(name)[1].lower(), "application/octet-stream")


def _copy_blobs(
    archive: zipfile.ZipFile, job: RestoreJob, plan: _Plan, stores: tuple[str, ...]
) -> None:
    from azure.storage.blob import ContentSettings

    for member in plan.manifest.members:
        found = _BLOB_MEMBER.match(member.name)
        if found is None or found.group(1) not in stores:
            continue
        store, relative = found.groups()
        relative = _remapped(relative, plan.ids)
        target = f"{job.tenant_id}/{job.webcast_id}/{relative}"
        client = blob_service().get_blob_client(blob_container_name(store), target)
        with archive.open(member.name) as data:
            client.upload_blob(
                data,
                length=member.size,
                overwrite=True,
                content_settings=ContentSettings(content_type=_content_type(relative)),
            )


def _apply(archive: zipfile.ZipFile, job: RestoreJob, plan: _Plan) -> None:
    """The second pass: documents (none of people erased since), files, the webcast, then
    what its existence lets in (the message feed, the handouts' files)."""
    assert plan.webcast is not None
    with ThreadPoolExecutor(max_workers=_WRITERS) as pool:
        _write_documents(archive, job, plan, pool)
    _copy_blobs(archive, job, plan, _SERVED_AS_STORED)
    original = Webcast.model_validate(_remapped(plan.webcast.to_item(), plan.ids))
    restored = webcasts.restore_webcast(
        webcast=_new_webcast(original, job, utc_iso()),
        actor=Actor(kind=ActorKind.owner, id=job.requested_by, role="owner"),
    )
    feed.rebuild(restored)
    _copy_blobs(archive, job, plan, _CHECKED_AGAIN)


def run_restore(*, message: RestoreMessage, final_attempt: bool = False) -> bool:
    """Check, then restore the job's ZIP; a redelivered message of a finished job does
    nothing. A refused ZIP writes nothing; a failure on the last delivery removes what was
    written and leaves the job failed with its reason."""
    job = restores.get(tenant_id=message.tenant_id, item_id=message.restore_id)
    if job is None or job.status not in (RestoreStatus.queued, RestoreStatus.restoring):
        return False
    job.status = RestoreStatus.restoring
    job.updated_at = utc_iso()
    job = restores.replace(tenant_id=job.tenant_id, item=job)
    try:
        client = _blob(job)
        blob = BlobRangeReader(client, client.get_blob_properties())
        with zipfile.ZipFile(io.BufferedReader(blob, buffer_size=_READ_BYTES)) as archive:
            plan = _check(archive, job, blob.size)
            job.source_webcast_id, job.counts = plan.manifest.webcast_id, plan.counts
            _apply(archive, job, plan)
    except RefusedError as refused:
        _fail(job, refused.problems)
        return False
    except zipfile.BadZipFile as error:
        _fail(job, [RestoreProblem(reason=f"not a readable ZIP: {error}"[:300])])
        return False
    except DomainError as error:
        _undo(job)
        _fail(job, [RestoreProblem(reason=error.detail)])
        return False
    except (cosmos_errors.CosmosHttpResponseError, ResourceModifiedError, OSError) as error:
        if final_attempt:
            _undo(job)
            _fail(job, [], failure=type(error).__name__)
            return False
        raise
    _finish(job, RestoreStatus.ready)
    return True


def _undo(job: RestoreJob) -> None:
    """Remove whatever of the new webcast the run wrote (the job document goes with it and
    is written again by `_finish`)."""
    sweep.sweep(tenant_id=job.tenant_id, webcast_id=job.webcast_id)


def _fail(job: RestoreJob, problems: list[RestoreProblem], *, failure: str | None = None) -> None:
    job.problems = problems
    _finish(
        job, RestoreStatus.failed, failure=failure or (problems[0].reason if problems else None)
    )


def _finish(job: RestoreJob, status: RestoreStatus, *, failure: str | None = None) -> None:
    job.status = status
    job.failure = failure
    job.updated_at = utc_iso()
    job.etag = None
    restores.upsert(tenant_id=job.tenant_id, item=job)
    with suppress(ResourceNotFoundError):
        _blob(job).delete_blob(delete_snapshots="include")
    operations.record_event(
        tenant_id=job.tenant_id,
        actor=SYSTEM_ACTOR,
        action=f"webcast.restore.{status.value}",
        entity_type="restore",
        entity_id=job.id,
        store_counts={store: [count] for store, count in job.counts.items()} or None,
        outcome="success" if status == RestoreStatus.ready else "failure",
    )


def expire_uploads() -> int:
    """Refuse restores whose ZIP was not uploaded or not restored within 24 hours, and
    delete their ZIPs; how many."""
    moment = datetime.fromtimestamp(now() - KEPT_SECONDS, UTC).isoformat().replace("+00:00", "Z")
    # Every tenant's: only this timer asks, for jobs past their time.
    due = cosmos_container("backups").query_items(  # nosemgrep: cosmos-query-without-partition-key
        "SELECT c.id, c.tenant_id FROM c WHERE c.type = @type "
        "AND ARRAY_CONTAINS(@waiting, c.status) AND c.updated_at <= @before",
        parameters=[
            {"name": "@type", "value": RestoreJob.doc_type},
            {
                "name": "@waiting",
                "value": [RestoreStatus.awaiting_upload.value, RestoreStatus.queued.value],
            },
            {"name": "@before", "value": moment},
        ],
        enable_cross_partition_query=True,
    )
    expired = 0
    for item in list(due):
        job = restores.get(tenant_id=item["tenant_id"], item_id=item["id"])
        if job is not None:
            _fail(job, [RestoreProblem(reason="the backup was not uploaded and restored in time")])
            expired += 1
    return expired
