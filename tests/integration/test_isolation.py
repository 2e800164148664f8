"""Tenant isolation and need-to-know over every route (P29, P30).

Every route of the app must be classified here; a new route without a class fails the test,
so isolation is checked for it before it ships.
"""

import base64
import io
import json
import time
import uuid
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from shared import clock
from shared.auth.models import Permission
from shared.clients import blob_container_name, blob_service, cosmos_container, queue_client
from shared.clock import utc_iso
from shared.config import get_settings
from shared.media.models import AssetStatus, Caption, Rendition, media_prefix
from shared.media.repository import assets
from shared.stores import (
    BLOB_CONTAINERS,
    COSMOS_CONTAINERS,
    QUEUES,
    cosmos_container_spec,
)
from shared.tracking.reports import SNAPSHOT_ID as REPORT_SNAPSHOT_ID
from tests import helpers

OWNER = "owner"  # the tenant's owner alone: no sub-account, no support under any grant
MANAGER_READ = "manager-read"  # owner or support (read-only grant suffices); no sub-accounts
MANAGER_WRITE = "manager-write"  # owner or support with a full grant; no sub-accounts
MEMBER_READ = "member-read"  # every account of the tenant
PARTICIPANTS = "participants"  # owner, support under a grant, sub-accounts with the permission
MODERATION = "moderation"  # the same with the moderation permission
POLLS = "polls"  # the same with the polls permission
VIEWER = "viewer"  # a viewer session's grant for the webcast; its own tests check grants
SELF = "self"  # acts on the caller's own session only
# The privacy page's grant, opened by the mailed privacy token, for one's own data in one
# webcast; tests/integration/test_self_service.py checks what it reaches and what not.
PRIVACY = "privacy"
PUBLIC = "public"

ROUTES = {
    ("GET", "/api/accounts"): OWNER,
    ("POST", "/api/accounts"): OWNER,
    ("GET", "/api/accounts/{account_id}"): OWNER,
    ("PATCH", "/api/accounts/{account_id}"): OWNER,
    ("DELETE", "/api/accounts/{account_id}"): OWNER,
    ("POST", "/api/accounts/{account_id}/mfa-reset"): OWNER,
    ("GET", "/api/support-grants"): OWNER,
    ("POST", "/api/support-grants"): OWNER,
    ("POST", "/api/support-grants/{grant_id}/revoke"): OWNER,
    # Deleting the whole customer account (P22, decision 0050); its receipt is read with the
    # receipt token the request answered, as the deletion ends every session of the tenant.
    ("POST", "/api/account/deletion"): OWNER,
    ("GET", "/api/account/slug"): OWNER,
    ("PUT", "/api/account/slug"): OWNER,
    ("GET", "/api/account/controller"): MANAGER_READ,
    ("PUT", "/api/account/controller"): OWNER,
    ("GET", "/api/account/processing-record.md"): MANAGER_READ,
    ("GET", "/api/account/processing-record.html"): MANAGER_READ,
    ("GET", "/api/p/{tenant_slug}/{webcast_slug}"): PUBLIC,
    # How to reach the controller: what the webcast's pages show anyway.
    ("GET", "/api/w/{webcast_id}/controller"): PUBLIC,
    ("GET", "/api/account-deletions/{tenant_id}"): PUBLIC,
    ("POST", "/api/support/tenants/{tenant_id}/enter"): SELF,
    ("POST", "/api/support/leave"): SELF,
    ("GET", "/api/webcasts"): MEMBER_READ,
    ("POST", "/api/webcasts"): MANAGER_WRITE,
    ("GET", "/api/webcasts/{webcast_id}"): MEMBER_READ,
    ("PATCH", "/api/webcasts/{webcast_id}"): MANAGER_WRITE,
    # Deleting a webcast project (P22): the owner types its slug back; the job and receipt.
    ("POST", "/api/webcasts/{webcast_id}/deletion"): OWNER,
    ("GET", "/api/deletions/{deletion_id}"): OWNER,
    ("GET", "/api/deletions/{deletion_id}/receipt"): OWNER,
    ("GET", "/api/webcasts/{webcast_id}/retention"): MEMBER_READ,
    # Manual backups (P32): the whole project's data, the owner's alone.
    ("POST", "/api/webcasts/{webcast_id}/backups"): OWNER,
    ("GET", "/api/webcasts/{webcast_id}/backups/{backup_id}"): OWNER,
    # Restoring a backup into a new webcast of the owner's account.
    ("POST", "/api/restores"): OWNER,
    ("GET", "/api/restores/{restore_id}"): OWNER,
    ("POST", "/api/webcasts/{webcast_id}/retention/extension"): OWNER,
    # Data-subject requests (P23) across the tenant's webcasts: the person is named in the body.
    ("POST", "/api/people/search"): MANAGER_READ,
    ("POST", "/api/people/export"): MANAGER_READ,
    ("POST", "/api/people/erasure"): MANAGER_WRITE,
    ("POST", "/api/people/blocking"): MANAGER_WRITE,
    ("POST", "/api/people/unblocking"): MANAGER_WRITE,
    ("GET", "/api/people/holds"): MANAGER_READ,
    ("GET", "/api/audit"): MANAGER_READ,
    ("GET", "/api/audit/export.csv"): MANAGER_READ,
    ("GET", "/api/audit/verify"): MANAGER_READ,
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/mfa/verify"): SELF,
    ("POST", "/api/auth/mfa/enrolment"): SELF,
    ("POST", "/api/auth/mfa/enrolment/confirm"): SELF,
    ("GET", "/api/auth/session"): SELF,
    ("POST", "/api/auth/logout"): SELF,
    ("POST", "/api/auth/password"): SELF,
    ("POST", "/api/auth/password-reset"): PUBLIC,
    ("POST", "/api/auth/password-reset/confirm"): PUBLIC,
    ("GET", "/api/health"): PUBLIC,
    ("GET", "/api/webcasts/{webcast_id}/form"): PARTICIPANTS,
    ("PUT", "/api/webcasts/{webcast_id}/form"): PARTICIPANTS,
    ("GET", "/api/webcasts/{webcast_id}/participants"): PARTICIPANTS,
    ("POST", "/api/webcasts/{webcast_id}/participants"): PARTICIPANTS,
    ("GET", "/api/webcasts/{webcast_id}/participants/{participant_id}"): PARTICIPANTS,
    ("PATCH", "/api/webcasts/{webcast_id}/participants/{participant_id}"): PARTICIPANTS,
    ("DELETE", "/api/webcasts/{webcast_id}/participants/{participant_id}"): PARTICIPANTS,
    # The viewer side is reached by webcast id; its own tests check grants per webcast.
    ("GET", "/api/w/{webcast_id}"): PUBLIC,
    ("POST", "/api/w/{webcast_id}/enter"): PUBLIC,
    ("POST", "/api/w/{webcast_id}/registrations"): PUBLIC,
    ("POST", "/api/w/{webcast_id}/login"): PUBLIC,
    ("POST", "/api/w/{webcast_id}/link"): PUBLIC,
    # Anyone may ask; the answer is the caller's own standing and CSRF token only.
    ("GET", "/api/w/{webcast_id}/session"): PUBLIC,
    ("GET", "/api/w/{webcast_id}/me"): SELF,
    # The privacy page (P23): the mailed privacy token opens a grant for one's own data only.
    ("POST", "/api/w/{webcast_id}/privacy/session"): PUBLIC,
    ("GET", "/api/w/{webcast_id}/privacy"): PRIVACY,
    ("GET", "/api/w/{webcast_id}/privacy/export"): PRIVACY,
    ("POST", "/api/w/{webcast_id}/privacy/consents/{field_id}/withdrawal"): PRIVACY,
    ("POST", "/api/w/{webcast_id}/privacy/erasure-request"): PRIVACY,
    # By the mailed erasure link's token alone (it may open in another browser).
    ("POST", "/api/w/{webcast_id}/privacy/erasure"): PUBLIC,
    # Mail (P08): invitations, registration links and texts need the participants permission;
    # the participant's password reset is public and answers the same for every login.
    ("POST", "/api/webcasts/{webcast_id}/invitations"): PARTICIPANTS,
    ("GET", "/api/webcasts/{webcast_id}/links"): PARTICIPANTS,
    ("POST", "/api/webcasts/{webcast_id}/links/rotate"): PARTICIPANTS,
    ("GET", "/api/webcasts/{webcast_id}/mail-templates"): PARTICIPANTS,
    ("PUT", "/api/webcasts/{webcast_id}/mail-templates"): PARTICIPANTS,
    ("POST", "/api/w/{webcast_id}/password-reset"): PUBLIC,
    ("POST", "/api/w/{webcast_id}/password-reset/confirm"): PUBLIC,
    # Embedding and customer servers (P35): settings and keys need the participants
    # permission; the exchange and the server API authenticate by token or credential.
    ("GET", "/api/webcasts/{webcast_id}/embed"): PARTICIPANTS,
    ("PUT", "/api/webcasts/{webcast_id}/embed"): PARTICIPANTS,
    ("POST", "/api/webcasts/{webcast_id}/embed/secret"): PARTICIPANTS,
    ("GET", "/api/webcasts/{webcast_id}/server-credentials"): PARTICIPANTS,
    ("POST", "/api/webcasts/{webcast_id}/server-credentials"): PARTICIPANTS,
    ("POST", "/api/webcasts/{webcast_id}/server-credentials/revoke"): PARTICIPANTS,
    ("PUT", "/api/server/webcasts/{webcast_id}/participants"): PUBLIC,
    ("POST", "/api/w/{webcast_id}/embed/session"): PUBLIC,
    ("GET", "/embed/{webcast_id}"): PUBLIC,
    # Participant export and import jobs (P03, P09).
    ("GET", "/api/webcasts/{webcast_id}/participants/export.csv"): PARTICIPANTS,
    ("GET", "/api/webcasts/{webcast_id}/participants/export.xlsx"): PARTICIPANTS,
    ("POST", "/api/webcasts/{webcast_id}/imports"): PARTICIPANTS,
    ("GET", "/api/webcasts/{webcast_id}/imports"): PARTICIPANTS,
    ("GET", "/api/webcasts/{webcast_id}/imports/{job_id}"): PARTICIPANTS,
    ("POST", "/api/webcasts/{webcast_id}/imports/{job_id}/start"): PARTICIPANTS,
    # Message box (P05, P15).
    ("GET", "/api/webcasts/{webcast_id}/messages"): MODERATION,
    ("GET", "/api/webcasts/{webcast_id}/messages/export.csv"): MODERATION,
    ("GET", "/api/webcasts/{webcast_id}/messages/export.xlsx"): MODERATION,
    ("POST", "/api/webcasts/{webcast_id}/messages/bulk"): MODERATION,
    ("PATCH", "/api/webcasts/{webcast_id}/messages/{message_id}"): MODERATION,
    ("DELETE", "/api/webcasts/{webcast_id}/messages/{message_id}"): MODERATION,
    ("POST", "/api/webcasts/{webcast_id}/messages/{message_id}/replies"): MODERATION,
    ("POST", "/api/w/{webcast_id}/messages"): VIEWER,
    ("GET", "/api/w/{webcast_id}/messages/mine"): VIEWER,
    ("GET", "/api/w/{webcast_id}/messages/published"): VIEWER,
    ("POST", "/api/w/{webcast_id}/messages/{message_id}/votes"): VIEWER,
    # Polls and quizzes (P04, P16).
    ("GET", "/api/webcasts/{webcast_id}/polls"): POLLS,
    ("POST", "/api/webcasts/{webcast_id}/polls"): POLLS,
    ("GET", "/api/webcasts/{webcast_id}/polls/{poll_id}"): POLLS,
    ("PATCH", "/api/webcasts/{webcast_id}/polls/{poll_id}"): POLLS,
    ("DELETE", "/api/webcasts/{webcast_id}/polls/{poll_id}"): POLLS,
    ("POST", "/api/webcasts/{webcast_id}/polls/{poll_id}/duplicate"): POLLS,
    ("POST", "/api/webcasts/{webcast_id}/polls/{poll_id}/open"): POLLS,
    ("POST", "/api/webcasts/{webcast_id}/polls/{poll_id}/close"): POLLS,
    ("PUT", "/api/webcasts/{webcast_id}/polls/{poll_id}/results-visibility"): POLLS,
    ("GET", "/api/webcasts/{webcast_id}/polls/{poll_id}/results"): POLLS,
    ("GET", "/api/webcasts/{webcast_id}/polls/{poll_id}/export.csv"): POLLS,
    ("GET", "/api/webcasts/{webcast_id}/polls/{poll_id}/export.xlsx"): POLLS,
    ("GET", "/api/w/{webcast_id}/polls"): VIEWER,
    ("GET", "/api/w/{webcast_id}/polls/{poll_id}"): VIEWER,
    ("POST", "/api/w/{webcast_id}/polls/{poll_id}/answer"): VIEWER,
    ("GET", "/api/w/{webcast_id}/polls/{poll_id}/answer"): VIEWER,
    ("GET", "/api/w/{webcast_id}/polls/{poll_id}/results"): VIEWER,
    # Attendance (P17): aggregates for every account; per-viewer rows with participants.
    ("POST", "/api/w/{webcast_id}/heartbeat"): VIEWER,
    ("GET", "/api/webcasts/{webcast_id}/attendance"): MEMBER_READ,
    ("GET", "/api/webcasts/{webcast_id}/attendance/viewers"): PARTICIPANTS,
    ("GET", "/api/webcasts/{webcast_id}/attendance/export.{file_format}"): PARTICIPANTS,
    # Media (P20, P38): every account of the tenant reads; owner and support change.
    ("GET", "/api/webcasts/{webcast_id}/media"): MEMBER_READ,
    ("POST", "/api/webcasts/{webcast_id}/media"): MANAGER_WRITE,
    ("GET", "/api/webcasts/{webcast_id}/media/{asset_id}"): MEMBER_READ,
    ("PATCH", "/api/webcasts/{webcast_id}/media/{asset_id}"): MANAGER_WRITE,
    ("DELETE", "/api/webcasts/{webcast_id}/media/{asset_id}"): MANAGER_WRITE,
    ("GET", "/api/webcasts/{webcast_id}/media/{asset_id}/upload"): MEMBER_READ,
    ("POST", "/api/webcasts/{webcast_id}/media/{asset_id}/upload"): MANAGER_WRITE,
    ("POST", "/api/webcasts/{webcast_id}/media/{asset_id}/edits"): MANAGER_WRITE,
    ("PUT", "/api/webcasts/{webcast_id}/media/{asset_id}/captions/{language}"): MANAGER_WRITE,
    ("DELETE", "/api/webcasts/{webcast_id}/media/{asset_id}/captions/{language}"): MANAGER_WRITE,
    ("POST", "/api/webcasts/{webcast_id}/media/{asset_id}/publish"): MANAGER_WRITE,
    ("DELETE", "/api/webcasts/{webcast_id}/media/publication/vod"): MANAGER_WRITE,
    # Handouts (P37): owner and support manage; viewers with a grant download.
    ("POST", "/api/webcasts/{webcast_id}/handouts"): MANAGER_WRITE,
    ("GET", "/api/webcasts/{webcast_id}/handouts"): MANAGER_READ,
    ("PUT", "/api/webcasts/{webcast_id}/handouts/order"): MANAGER_WRITE,
    ("GET", "/api/webcasts/{webcast_id}/handouts/{handout_id}"): MANAGER_READ,
    ("PATCH", "/api/webcasts/{webcast_id}/handouts/{handout_id}"): MANAGER_WRITE,
    ("DELETE", "/api/webcasts/{webcast_id}/handouts/{handout_id}"): MANAGER_WRITE,
    ("GET", "/api/webcasts/{webcast_id}/design"): MANAGER_READ,
    ("PUT", "/api/webcasts/{webcast_id}/design"): MANAGER_WRITE,
    ("GET", "/api/webcasts/{webcast_id}/design/preview"): MANAGER_READ,
    ("POST", "/api/webcasts/{webcast_id}/design/publish"): MANAGER_WRITE,
    ("POST", "/api/webcasts/{webcast_id}/design/images"): MANAGER_WRITE,
    ("GET", "/api/webcasts/{webcast_id}/design/images"): MANAGER_READ,
    ("GET", "/api/webcasts/{webcast_id}/design/images/{image_id}"): MANAGER_READ,
    ("DELETE", "/api/webcasts/{webcast_id}/design/images/{image_id}"): MANAGER_WRITE,
    # The page's design and the images it shows are what its entry page shows before anyone
    # enters.
    ("GET", "/api/w/{webcast_id}/design"): PUBLIC,
    ("GET", "/api/w/{webcast_id}/images/{image_id}"): PUBLIC,
    ("GET", "/api/w/{webcast_id}/handouts"): VIEWER,
    ("GET", "/api/w/{webcast_id}/handouts/{handout_id}"): VIEWER,
    # Playback (P20): viewers with a grant; every account previews its tenant's assets.
    ("GET", "/api/w/{webcast_id}/vod"): VIEWER,
    ("GET", "/api/w/{webcast_id}/vod/{asset_id}/master.m3u8"): VIEWER,
    ("GET", "/api/w/{webcast_id}/vod/{asset_id}/captions/{language}.m3u8"): VIEWER,
    ("GET", "/api/w/{webcast_id}/vod/{asset_id}/{rung}/index.m3u8"): VIEWER,
    ("GET", "/api/webcasts/{webcast_id}/media/{asset_id}/preview/master.m3u8"): MEMBER_READ,
    ("GET", "/api/webcasts/{webcast_id}/media/{asset_id}/preview/captions/{language}.m3u8"): (
        MEMBER_READ
    ),
    ("GET", "/api/webcasts/{webcast_id}/media/{asset_id}/preview/{rung}/index.m3u8"): MEMBER_READ,
    # Live channels (P20): owner and support; the stream key is shown on create and rotate.
    ("POST", "/api/webcasts/{webcast_id}/live"): MANAGER_WRITE,
    ("GET", "/api/webcasts/{webcast_id}/live"): MANAGER_READ,
    ("PATCH", "/api/webcasts/{webcast_id}/live"): MANAGER_WRITE,
    ("POST", "/api/webcasts/{webcast_id}/live/key"): MANAGER_WRITE,
    ("DELETE", "/api/webcasts/{webcast_id}/live"): MANAGER_WRITE,
    # The ingest's hooks carry no session: the shared ingest secret is checked instead.
    ("POST", "/api/live/ingest/publish"): PUBLIC,
    ("POST", "/api/live/ingest/publish-done"): PUBLIC,
    ("POST", "/api/live/ingest/health"): PUBLIC,
    ("POST", "/api/live/ingest/recording"): PUBLIC,
    ("GET", "/api/w/{webcast_id}/live"): VIEWER,
    ("GET", "/api/w/{webcast_id}/live/{session_id}/master.m3u8"): VIEWER,
    # A live rung's playlist needs the signed URL that the viewer-only master names:
    # test_live.py checks that no other URL opens it.
    ("GET", "/api/live/{webcast_id}/{session_id}/{rung}/index.m3u8"): PUBLIC,
}
PERMISSION_CLASSES = {
    PARTICIPANTS: Permission.participants,
    MODERATION: Permission.moderation,
    POLLS: Permission.polls,
}
ADMIN_CLASSES = {
    OWNER,
    MANAGER_READ,
    MANAGER_WRITE,
    MEMBER_READ,
    *PERMISSION_CLASSES,
}


def _in(hours: float) -> str:
    return (datetime.fromtimestamp(clock.now(), UTC) + timedelta(hours=hours)).isoformat()


_POLL: dict[str, object] = {
    "title": "Secret poll",
    "questions": [
        {
            "id": "q1",
            "type": "single_choice",
            "text": "Yes or no?",
            "options": [{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}],
        }
    ],
}


def _bodies(ids: dict[str, str]) -> dict[tuple[str, str], dict[str, object]]:
    return {
        ("POST", "/api/accounts"): {
            "email": helpers.unique_email("intruder"),
            "display_name": "Intruder",
            "password": helpers.PASSWORD,
        },
        ("PATCH", "/api/accounts/{account_id}"): {"disabled": True},
        ("POST", "/api/restores"): {"size": 1000, "slug": "planted-restore"},
        ("POST", "/api/support-grants"): {"scope": "full", "expires_at": _in(1)},
        # No customer account's name: whoever calls it deletes nothing.
        ("POST", "/api/account/deletion"): {
            "confirm_name": "No customer account is named so",
            "password": helpers.PASSWORD,
        },
        # The victim's participant by address: another tenant's request finds no one.
        **{
            ("POST", f"/api/people/{route}"): {"email": ids.get("participant_email", "")}
            for route in ("search", "export", "erasure", "unblocking")
        },
        ("POST", "/api/people/blocking"): {
            "email": ids.get("participant_email", ""),
            "reason": "Hijack",
            "until": datetime.fromtimestamp(clock.now() + 30 * 86400, UTC).date().isoformat(),
        },
        ("POST", "/api/webcasts"): {"title": "Hijack", "slug": "hijack"},
        ("PUT", "/api/account/slug"): {"slug": f"hijack-{uuid.uuid4().hex[:8]}"},
        ("PUT", "/api/account/controller"): {
            "legal_name": "Hijack Ltd",
            "postal_address": "Nowhere",
            "contact_email": "hijack@example.org",
        },
        ("PATCH", "/api/webcasts/{webcast_id}"): {"title": "Hijacked"},
        ("POST", "/api/webcasts/{webcast_id}/deletion"): {"confirm_slug": "not-its-slug"},
        ("POST", "/api/webcasts/{webcast_id}/retention/extension"): {"days": 1},
        ("PUT", "/api/webcasts/{webcast_id}/form"): {
            "fields": [{"id": "hijack", "type": "short_text", "label": "Hijack"}]
        },
        ("POST", "/api/webcasts/{webcast_id}/participants"): {
            "email": helpers.unique_email("planted")
        },
        ("PATCH", "/api/webcasts/{webcast_id}/participants/{participant_id}"): {
            "status": "disabled"
        },
        ("POST", "/api/webcasts/{webcast_id}/invitations"): {"all": True},
        ("PUT", "/api/webcasts/{webcast_id}/mail-templates"): {
            "templates": {"invitation": {"en": {"subject": "Hijack", "text": "Hijack"}}}
        },
        ("PUT", "/api/webcasts/{webcast_id}/embed"): {
            "enabled": True,
            "allowed_origins": ["https://intruder.example"],
        },
        ("POST", "/api/webcasts/{webcast_id}/server-credentials"): {"label": "planted"},
        ("POST", "/api/webcasts/{webcast_id}/server-credentials/revoke"): {
            "id": ids.get("credential_id", "0123abcd")
        },
        ("POST", "/api/webcasts/{webcast_id}/imports"): {"filename": "planted.csv", "size": 10},
        ("POST", "/api/webcasts/{webcast_id}/imports/{job_id}/start"): {
            "mapping": {"E-Mail": "email"}
        },
        ("POST", "/api/webcasts/{webcast_id}/messages/bulk"): {
            "ids": [ids["message_id"]],
            "action": "delete",
        },
        ("PATCH", "/api/webcasts/{webcast_id}/messages/{message_id}"): {"published": True},
        ("POST", "/api/webcasts/{webcast_id}/media"): {
            "title": "Planted",
            "filename": "planted.mp4",
            "size": 1000,
        },
        ("PATCH", "/api/webcasts/{webcast_id}/media/{asset_id}"): {"title": "Hijacked"},
        ("POST", "/api/webcasts/{webcast_id}/live"): {"record": False},
        ("PATCH", "/api/webcasts/{webcast_id}/live"): {"record": False},
        ("POST", "/api/webcasts/{webcast_id}/handouts"): {
            "title": "Planted",
            "filename": "planted.pdf",
            "content_type": "application/pdf",
            "size": 1000,
        },
        ("PUT", "/api/webcasts/{webcast_id}/handouts/order"): {"ids": [ids["handout_id"]]},
        ("PATCH", "/api/webcasts/{webcast_id}/handouts/{handout_id}"): {"title": "Hijacked"},
        ("PUT", "/api/webcasts/{webcast_id}/design"): {
            "blocks": [{"id": "hijack", "kind": "rich_text", "texts": {"de": {"body": "Hi"}}}]
        },
        ("POST", "/api/webcasts/{webcast_id}/design/images"): {
            "purpose": "logo",
            "content_type": "image/png",
            "size": 1000,
        },
        ("POST", "/api/webcasts/{webcast_id}/media/{asset_id}/edits"): {"edit": {"trim_start": 1}},
        ("POST", "/api/webcasts/{webcast_id}/polls"): _POLL,
        ("PATCH", "/api/webcasts/{webcast_id}/polls/{poll_id}"): {"title": "Hijacked"},
        ("POST", "/api/webcasts/{webcast_id}/polls/{poll_id}/open"): {},
        ("PUT", "/api/webcasts/{webcast_id}/polls/{poll_id}/results-visibility"): {"shown": True},
        ("POST", "/api/webcasts/{webcast_id}/messages/{message_id}/replies"): {
            "text": "Planted",
            "public": True,
        },
    }


# Routes whose body names children of the webcast (the victim's, in these tests).
_BULK = ("POST", "/api/webcasts/{webcast_id}/messages/bulk")
_BODIES_NAMING_CHILDREN = {
    ("PUT", "/api/webcasts/{webcast_id}/handouts/order"): 422,  # names the field
    ("POST", "/api/webcasts/{webcast_id}/server-credentials/revoke"): 404,
}


def _wait_until_queued(mark: str) -> None:
    """Waits until a delayed message naming `mark` is visible, so snapshots taken later agree
    on it (the fold nudge of a vote is sent with a delay of a few seconds)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for spec in QUEUES:
            if any(
                mark.encode() in message.content
                for message in queue_client(spec.name).peek_messages(max_messages=32)
            ):
                return
        time.sleep(0.2)
    raise AssertionError(f"no queue message names {mark}")


def _snapshot(marks: Iterable[str], *, except_sessions_of: Iterable[str] = ()) -> dict[str, str]:
    """Every stored thing that names one of `marks` (the victim's tenant and webcast ids):
    documents of every registered Cosmos container with their etags, blobs of every blob
    container with their etags, and the messages at the head of every queue. The admin
    sessions of `except_sessions_of` (the acting accounts' own) are left out."""
    marks = list(marks)
    acting = set(except_sessions_of)
    names = [f"@m{index}" for index in range(len(marks))]
    # ToString of a document is its JSON text: one query per container finds every field.
    where = " OR ".join(f"CONTAINS(ToString(c), {name})" for name in names)
    parameters: list[dict[str, Any]] = [
        {"name": name, "value": mark} for name, mark in zip(names, marks, strict=True)
    ]

    def documents(name: str) -> dict[str, str]:
        # The same id may stand in several partitions (a report per webcast, for one).
        field = cosmos_container_spec(name).partition_key.removeprefix("/")
        return {
            f"{name}/{item['id']}@{item.get(field)}": item["_etag"]
            for item in cosmos_container(name).query_items(
                f"SELECT * FROM c WHERE {where}",  # noqa: S608 - fixed names, values as parameters
                parameters=parameters,
                enable_cross_partition_query=True,
            )
            if not (item.get("type") == "session" and item.get("account_id") in acting)
        }

    def blobs(name: str) -> dict[str, str]:
        container = blob_service().get_container_client(blob_container_name(name))
        return {
            f"blob:{name}/{blob.name}": str(blob.etag)
            for blob in container.list_blobs()
            if any(mark in blob.name for mark in marks)
        }

    def queued(name: str) -> dict[str, str]:
        return {
            f"queue:{name}/{message.id}": str(message.dequeue_count)
            for message in queue_client(name).peek_messages(max_messages=32)
            if any(mark.encode() in message.content for mark in marks)
        }

    reads = [partial(documents, spec.name) for spec in COSMOS_CONTAINERS]
    reads += [partial(blobs, spec.name) for spec in BLOB_CONTAINERS]
    reads += [partial(queued, spec.name) for spec in QUEUES]
    found: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=8) as pool:
        for part in pool.map(lambda read: read(), reads):
            found |= part
    return found


def _app_routes() -> set[tuple[str, str]]:
    schema = create_app().openapi()
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
    }


def test_every_route_is_classified_for_isolation(stack):
    routes = _app_routes()
    assert routes - set(ROUTES) == set(), "classify new routes in ROUTES"
    assert set(ROUTES) - routes == set(), "ROUTES lists routes that no longer exist"


SUB_NAME = "Vicky Victimsub"  # the victim's sub-account: its name must show up nowhere else
INGEST = {"X-Ingest-Secret": get_settings().live_ingest_secret.get_secret_value()}


def _viewer(webcast_id: str) -> tuple[TestClient, dict[str, str]]:
    """An anonymous viewer of a public webcast and the CSRF header of its session."""
    http = helpers.client()
    entered = http.post(f"/api/w/{webcast_id}/enter")
    assert entered.status_code == 200, entered.text
    return http, {"X-CSRF-Token": entered.json()["csrf_token"]}


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201, 202), response.text
    body: dict[str, Any] = response.json()
    return body


def _go_live(stream_key: str) -> dict[str, Any]:
    """The ingest's publish hook for a push with this key: the session it was granted."""
    form = {"name": stream_key, "app": "live"}
    return _created(helpers.client().post("/api/live/ingest/publish", data=form, headers=INGEST))


def _webcast_with_everything(owner: helpers.Admin, title: str) -> dict[str, str]:
    """A public webcast with a message (published), an open poll, a ready and
    published video, a live session, a handout, embedding, a server credential, two
    participants and two import jobs; the ids and the stream key and embed secret."""
    webcast = _created(
        owner.post(
            "/api/webcasts",
            json={
                "title": title,
                "slug": f"w-{uuid.uuid4().hex[:12]}",
                "modules": {"message_box": True, "polls": True, "tracking": True},
            },
        )
    )
    base = f"/api/webcasts/{webcast['id']}"
    viewer, csrf = _viewer(webcast["id"])
    messages = [
        _created(
            viewer.post(
                f"/api/w/{webcast['id']}/messages", json={"text": f"{title} question"}, headers=csrf
            )
        )
        for _ in range(2)
    ]
    _created(owner.patch(f"{base}/messages/{messages[0]['id']}", json={"published": True}))
    participants = [
        _created(owner.post(f"{base}/participants", json={"email": helpers.unique_email(name)}))
        for name in ("participant", "other-participant")
    ]
    jobs = [
        _created(owner.post(f"{base}/imports", json={"filename": "list.csv", "size": 10}))["job"]
        for _ in range(2)
    ]
    poll = _created(owner.post(f"{base}/polls", json={**_POLL, "title": f"{title} poll"}))
    _created(owner.post(f"{base}/polls/{poll['id']}/open", json={}))
    asset = _created(
        owner.post(
            f"{base}/media",
            json={"title": f"{title} video", "filename": "video.mp4", "size": 1000},
        )
    )["asset"]
    _make_ready(owner.tenant_id, webcast["id"], asset["id"])
    _created(owner.post(f"{base}/media/{asset['id']}/publish"))
    heartbeat = {"mode": "vod", "position": 1.0, "asset_id": asset["id"]}
    _created(viewer.post(f"/api/w/{webcast['id']}/heartbeat", json=heartbeat, headers=csrf))
    channel = _created(owner.post(f"{base}/live", json={"record": True}))
    live = _go_live(channel["stream_key"])
    handout = _created(
        owner.post(
            f"{base}/handouts",
            json={
                "title": f"{title} slides",
                "filename": "slides.pdf",
                "content_type": "application/pdf",
                "size": 1000,
            },
        )
    )["handout"]
    image = {"purpose": "speaker", "content_type": "image/jpeg", "size": 1000}
    page_image = _created(owner.post(f"{base}/design/images", json=image))["image"]
    embed = {"enabled": True, "allowed_origins": ["https://customer.example"]}
    _created(owner.request("PUT", f"{base}/embed", json=embed))
    embed_secret = _created(owner.post(f"{base}/embed/secret"))["secret"]
    credential = _created(owner.post(f"{base}/server-credentials", json={"label": "CRM"}))
    return {
        "webcast_id": webcast["id"],
        "handout_id": handout["id"],
        "image_id": page_image["id"],
        "asset_id": asset["id"],
        "language": "de",
        "rung": "720p",
        "session_id": live["session_id"],
        "poll_id": poll["id"],
        "file_format": "csv",
        "message_id": messages[0]["id"],
        "job_id": jobs[0]["id"],
        "participant_id": participants[0]["id"],
        "participant_email": participants[0]["email"],
        "other_participant_email": participants[1]["email"],
        "credential_id": credential["id"],
        "credential_token": credential["token"],
        "stream_key": channel["stream_key"],
        "embed_secret": embed_secret,
    }


@pytest.fixture(scope="module")
def victim(stack):
    owner = helpers.new_owner("victim")
    sub = _created(
        owner.post(
            "/api/accounts",
            json={
                "email": helpers.unique_email("victim-sub"),
                "display_name": SUB_NAME,
                "password": helpers.PASSWORD,
            },
        )
    )
    grant = _created(
        owner.post("/api/support-grants", json={"scope": "read_only", "expires_at": _in(0.5)})
    )
    profile = {
        "legal_name": "Secret controller",
        "postal_address": "Secret street",
        "contact_email": helpers.unique_email("victim-controller"),
    }
    assert owner.request("PUT", "/api/account/controller", json=profile).status_code == 200
    second = _created(owner.post("/api/webcasts", json={"title": "Secret two", "slug": "two"}))
    # A third webcast is being deleted: its job and receipt are the owner's alone.
    gone = _created(owner.post("/api/webcasts", json={"title": "Secret gone", "slug": "gone"}))
    deletion = owner.post(f"/api/webcasts/{gone['id']}/deletion", json={"confirm_slug": "gone"})
    assert deletion.status_code == 202, deletion.text
    ids = _webcast_with_everything(owner, "Secret")
    # A second poll holds an answer; no route of the matrix reads its tally, so none folds it.
    base = f"/api/webcasts/{ids['webcast_id']}/polls"
    answered = _created(owner.post(base, json={**_POLL, "title": "Secret answered poll"}))
    _created(owner.post(f"{base}/{answered['id']}/open", json={}))
    viewer, csrf = _viewer(ids["webcast_id"])
    vote = f"/api/w/{ids['webcast_id']}/polls/{answered['id']}/answer"
    _created(viewer.post(vote, json={"answers": {"q1": "yes"}}, headers=csrf))
    backup = _created(owner.post(f"/api/webcasts/{ids['webcast_id']}/backups"))
    restore = _created(owner.post("/api/restores", json={"size": 1000, "slug": "secret-restore"}))
    _wait_until_queued(answered["id"])
    _wait_until_queued(deletion.json()["id"])
    ids |= {
        "deletion_id": deletion.json()["id"],
        "backup_id": backup["id"],
        "restore_id": restore["id"],
        "account_id": sub["id"],
        "sub_email": sub["email"],
        "grant_id": grant["id"],
        "second_webcast_id": second["id"],
        "answered_poll_id": answered["id"],
        "tenant_id": owner.tenant_id,
    }
    return owner, ids


def _marks(owner: helpers.Admin, ids: dict[str, str]) -> set[str]:
    """What names the victim in stored things: its tenant and webcast ids."""
    return {owner.tenant_id, ids["webcast_id"], ids["second_webcast_id"]}


def _secrets(owner: helpers.Admin, ids: dict[str, str]) -> set[str]:
    """What another tenant must never read: the victim's ids, e-mails, names and titles
    (every title of the victim starts with "Secret")."""
    public = {ids["file_format"], ids["language"], ids["rung"]}
    return set(ids.values()) - public | {"Secret", owner.email, SUB_NAME}


@dataclass
class Intruder:
    owner: helpers.Admin
    ids: dict[str, str]


@pytest.fixture(scope="module")
def intruder(victim):
    owner = helpers.new_owner("intruder")
    return Intruder(owner=owner, ids=_webcast_with_everything(owner, "Mine"))


def _make_ready(tenant_id: str, webcast_id: str, asset_id: str) -> None:
    """The victim's asset as the worker leaves it: a one-rung ladder with German captions."""
    prefix = media_prefix(tenant_id=tenant_id, webcast_id=webcast_id, asset_id=asset_id)
    media = blob_service().get_container_client(blob_container_name("media"))
    media.upload_blob(
        f"{prefix}720p/index.m3u8",
        b'#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI="init.mp4"\n'
        b"#EXTINF:4.0,\nseg_00001.m4s\n#EXT-X-ENDLIST\n",
    )
    media.upload_blob(f"{prefix}captions/de.vtt", b"WEBVTT\n\n00:00.000 --> 00:01.000\nSecret\n")
    asset = assets.get(tenant_id=tenant_id, item_id=asset_id, partition_key=webcast_id)
    assert asset is not None
    rendition = Rendition(
        name="720p",
        width=1280,
        height=720,
        video_bitrate=3_000_000,
        audio_bitrate=128_000,
        bandwidth=3_500_000,
        codecs="avc1.640028,mp4a.40.2",
        playlist="720p/index.m3u8",
    )
    caption = Caption(language="de", label="Deutsch", blob="captions/de.vtt", created_at=utc_iso())
    ready = asset.model_copy(
        update={
            "status": AssetStatus.ready,
            "duration_seconds": 4.0,
            "renditions": [rendition],
            "captions": [caption],
        }
    )
    assets.replace(tenant_id=tenant_id, item=ready)


def _call(admin: helpers.Admin, method: str, path: str, ids: dict[str, str]):
    url = path.format(**ids)
    body = _bodies(ids).get((method, path))
    if method in ("GET", "DELETE"):
        return admin.request(method, url)
    return admin.request(method, url, json=body)


def _protected(classes: set[str]) -> list[tuple[str, str]]:
    return sorted(route for route, access in ROUTES.items() if access in classes)


@pytest.mark.claim("P29")
@pytest.mark.claim("P30")
def test_another_tenants_owner_reaches_nothing(victim):
    owner, ids = victim
    intruder = helpers.new_owner("intruder")
    before = _snapshot(_marks(owner, ids))
    secret_values = _secrets(owner, ids)
    for method, path in _protected(ADMIN_CLASSES):
        response = _call(intruder, method, path, ids)
        if "{" in path:
            assert response.status_code in (403, 404), (method, path, response.status_code)
        else:
            assert not _leaked(response, secret_values), (method, path)
    enter = intruder.post(f"/api/support/tenants/{owner.tenant_id}/enter")
    assert enter.status_code == 403
    assert _snapshot(_marks(owner, ids)) == before


@pytest.mark.claim("P29")
@pytest.mark.claim("P30")
def test_support_without_a_grant_or_with_an_expired_one_reaches_nothing(victim):
    owner, ids = victim
    _, without_grant = helpers.new_support()
    _, expiring = helpers.new_support()
    assert expiring.post(f"/api/support/tenants/{owner.tenant_id}/enter").status_code == 200
    # The grant (30 minutes) runs out while both sessions stay alive.
    for _ in range(2):
        clock.advance(20 * 60)
        for support in (without_grant, expiring):
            assert support.get("/api/auth/session").status_code == 200
    acting = (without_grant.account_id, expiring.account_id)
    before = _snapshot(_marks(owner, ids), except_sessions_of=acting)
    for support in (without_grant, expiring):
        for method, path in _protected(ADMIN_CLASSES):
            response = _call(support, method, path, ids)
            assert response.status_code == 403, (method, path, response.status_code)
        assert support.post(f"/api/support/tenants/{owner.tenant_id}/enter").status_code == 403
    assert _snapshot(_marks(owner, ids), except_sessions_of=acting) == before


@pytest.mark.claim("P28")
@pytest.mark.claim("P29")
def test_subaccounts_and_read_only_support_cannot_use_what_their_role_lacks(victim):
    victim_owner, ids = victim
    owner = helpers.sign_in(victim_owner.email, victim_owner.password, victim_owner.secret)
    before = _snapshot(_marks(owner, ids))
    sub = helpers.new_subaccount(owner, list(Permission))
    for method, path in _protected({OWNER, MANAGER_READ, MANAGER_WRITE}):
        response = _call(sub, method, path, ids)
        assert response.status_code == 403, (method, path, response.status_code)
    for access, permission in PERMISSION_CLASSES.items():
        lacking = helpers.new_subaccount(owner, [p for p in Permission if p != permission])
        for method, path in _protected({access}):
            response = _call(lacking, method, path, ids)
            assert response.status_code == 403, (method, path, response.status_code)
    grant = owner.post("/api/support-grants", json={"scope": "read_only", "expires_at": _in(1)})
    assert grant.status_code == 201
    _, reader = helpers.new_support()
    assert reader.post(f"/api/support/tenants/{owner.tenant_id}/enter").status_code == 200
    for method, path in _protected({OWNER, MANAGER_WRITE}):
        response = _call(reader, method, path, ids)
        assert response.status_code == 403, (method, path, response.status_code)
    for method, path in _protected(set(PERMISSION_CLASSES)):
        expected = 200 if method == "GET" else 403
        assert _call(reader, method, path, ids).status_code == expected, (method, path)
    for method, path in _protected({MANAGER_READ, MEMBER_READ}):
        assert _call(reader, method, path, ids).status_code == 200, (method, path)
    after = _snapshot(_marks(owner, ids))
    # The tenant's own accounts sign in and act: their sessions, logins and audit trail grow,
    # and reading attendance refreshes its cached report.
    trail = ("sessions/", "logins/", "audit/", f"tracking/{REPORT_SNAPSHOT_ID}@")
    kept = {k: v for k, v in after.items() if k in before and not k.startswith(trail)}
    assert kept == {k: v for k, v in before.items() if not k.startswith(trail)}, "nothing changed"
    added = {k for k in set(after) - set(before) if not k.startswith(trail)}
    assert len(added) == 2 + len(PERMISSION_CLASSES) and all(
        key.startswith("tenants/") for key in added
    ), "only the owner's own sub-accounts and grant were added"


# The ids of things inside a webcast: reached through the intruder's own webcast, they must
# still be the intruder's own.
CHILD_IDS = (
    "participant_id",
    "poll_id",
    "message_id",
    "asset_id",
    "handout_id",
    "image_id",
    "job_id",
    "session_id",
    "backup_id",
)
VIEWER_BODIES: dict[tuple[str, str], dict[str, object]] = {
    ("POST", "/api/w/{webcast_id}/messages"): {"text": "Planted"},
    ("POST", "/api/w/{webcast_id}/polls/{poll_id}/answer"): {"answers": {"q1": "yes"}},
    ("POST", "/api/w/{webcast_id}/heartbeat"): {"mode": "live"},
    ("POST", "/api/w/{webcast_id}/privacy/session"): {"token": "not-a-privacy-token"},
    ("POST", "/api/w/{webcast_id}/privacy/erasure"): {"token": "not-an-erasure-token"},
}


def _names_a_child(path: str) -> bool:
    return any(f"{{{name}}}" in path for name in CHILD_IDS)


def _text(response: httpx.Response) -> str:
    """The body as text; a spreadsheet (a zip of XML parts) with every part unpacked."""
    if not response.content.startswith(b"PK"):
        return response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return "".join(archive.read(name).decode(errors="replace") for name in archive.namelist())


def _leaked(response: httpx.Response, secrets: set[str]) -> set[str]:
    text = _text(response)
    return {value for value in secrets if value in text}


def _embed_token(secret: str, audience: str, **claims: str) -> str:
    issued = int(clock.now())
    payload = {"aud": audience, "iat": issued, "exp": issued + 60, "jti": uuid.uuid4().hex}
    return jwt.encode(payload | claims, secret, algorithm="HS256")


def _intruders_viewers(intruder: Intruder) -> list[tuple[TestClient, dict[str, str]]]:
    """Viewer sessions of the intruder's own webcast: an anonymous one and an embedded one
    with a participant behind it."""
    own = intruder.ids["webcast_id"]
    embedded = helpers.client()
    token = _embed_token(intruder.ids["embed_secret"], own, sub="intruder-user")
    entered = _created(embedded.post(f"/api/w/{own}/embed/session", json={"token": token}))
    assert entered["participant_id"] is not None
    return [_viewer(own), (embedded, {"X-CSRF-Token": entered["csrf_token"]})]


@pytest.mark.claim("P29")
@pytest.mark.claim("P30")
def test_a_viewer_of_another_webcast_reaches_nothing_of_the_victims(victim, intruder):
    owner, ids = victim
    secrets = _secrets(owner, ids)
    before = _snapshot(_marks(owner, ids))
    through_own = ids | {"webcast_id": intruder.ids["webcast_id"]}
    viewer_routes = sorted(
        route
        for route, access in ROUTES.items()
        if access in (VIEWER, SELF) and route[1].startswith("/api/w/")
    )
    for http, csrf in _intruders_viewers(intruder):
        for method, path in viewer_routes:
            body = VIEWER_BODIES.get((method, path))
            foreign = http.request(method, path.format(**ids), json=body, headers=csrf)
            assert foreign.status_code in (403, 404), (method, path, foreign.status_code)
            mixed = http.request(method, path.format(**through_own), json=body, headers=csrf)
            if _names_a_child(path):
                assert mixed.status_code == 404, (method, path, mixed.status_code, mixed.text)
            else:
                assert mixed.status_code < 400, (method, path, mixed.status_code, mixed.text)
                assert not _leaked(mixed, secrets), (method, path)
    assert _snapshot(_marks(owner, ids)) == before


@pytest.mark.claim("P29")
@pytest.mark.claim("P35")
def test_an_embed_secret_server_credential_or_stream_key_reaches_only_its_own_webcast(
    victim, intruder
):
    owner, ids = victim
    mine = intruder.ids
    before = _snapshot(_marks(owner, ids))
    http = helpers.client()
    for audience in (ids["webcast_id"], mine["webcast_id"]):
        token = _embed_token(mine["embed_secret"], audience, sub="intruder-user")
        exchanged = http.post(f"/api/w/{ids['webcast_id']}/embed/session", json={"token": token})
        assert exchanged.status_code in (401, 403), (audience, exchanged.text)
    bearer = {"Authorization": f"Bearer {mine['credential_token']}"}
    for webcast_id in (ids["webcast_id"], ids["second_webcast_id"]):
        planted = {"email": helpers.unique_email("planted")}
        registered = http.put(
            f"/api/server/webcasts/{webcast_id}/participants", json=planted, headers=bearer
        )
        assert registered.status_code in (401, 403), registered.text
    # The intruder's stream key is granted its own channel only; the session it was granted
    # cannot be reported under the victim's tenant or webcast, nor the victim's session
    # under the intruder's.
    done = {"reason": "stopped", "segments_uploaded": 0}
    own_ref = {k: mine[k] for k in ("webcast_id", "session_id")} | {
        "tenant_id": intruder.owner.tenant_id
    }
    _created(http.post("/api/live/ingest/publish-done", json=own_ref | done, headers=INGEST))
    grant = _go_live(mine["stream_key"])
    assert (grant["tenant_id"], grant["webcast_id"]) == (
        own_ref["tenant_id"],
        own_ref["webcast_id"],
    )
    victim_ref = {"tenant_id": owner.tenant_id, "webcast_id": ids["webcast_id"]}
    victim_ref["session_id"] = ids["session_id"]
    health = {"bitrate": 1, "last_segment_at": utc_iso(), "segments_uploaded": 1}
    hooks = {"health": health, "publish-done": done, "recording": {}}
    for name in ("tenant_id", "webcast_id", "session_id"):
        for ref in (
            {k: grant[k] for k in victim_ref} | {name: victim_ref[name]},
            victim_ref | {name: grant[name]},
        ):
            for hook, body in hooks.items():
                reported = http.post(f"/api/live/ingest/{hook}", json=ref | body, headers=INGEST)
                assert reported.status_code == 404, (hook, name, reported.text)
    assert _snapshot(_marks(owner, ids)) == before


@pytest.mark.claim("P29")
@pytest.mark.claim("P30")
def test_the_intruders_own_webcast_reaches_no_child_of_the_victims(victim, intruder):
    owner, ids = victim
    secrets = _secrets(owner, ids)
    before = _snapshot(_marks(owner, ids))
    through_own = ids | {"webcast_id": intruder.ids["webcast_id"]}
    shown: list[str] = []
    for method, path in _protected(ADMIN_CLASSES):
        if "{webcast_id}" not in path:
            continue  # tenant-wide: checked with the victim's ids by the first test
        if (method, path) == _BULK:
            # A bulk action answers per id: the victim's message is missing from this webcast.
            response = _call(intruder.owner, method, path, through_own)
            assert response.json() == {"done": [], "missing": [ids["message_id"]]}
        elif _names_a_child(path) or (method, path) in _BODIES_NAMING_CHILDREN:
            response = _call(intruder.owner, method, path, through_own)
            expected = _BODIES_NAMING_CHILDREN.get((method, path), 404)
            assert response.status_code == expected, (method, path, response.status_code)
        elif method == "GET":
            response = _call(intruder.owner, method, path, through_own)
            assert response.status_code == 200, (method, path, response.status_code)
            assert not _leaked(response, secrets), (method, path)
            shown.append(_text(response))
    assert _snapshot(_marks(owner, ids)) == before
    # The same reading finds the intruder's own e-mails and titles: the lists were not empty.
    own = {intruder.ids["participant_email"], "Mine question", "Mine poll", "Mine video"}
    assert {value for value in own | {"Mine slides"} if value not in "".join(shown)} == set()
    spreadsheets = [text for text in shown if "xl/worksheets" in text]
    assert spreadsheets and all(any(value in t for value in own) for t in spreadsheets)


def _query_parameters() -> dict[str, list[dict[str, Any]]]:
    """The admin GET routes that take query parameters, with those, from the OpenAPI document."""
    found: dict[str, list[dict[str, Any]]] = {}
    for path, operations in create_app().openapi()["paths"].items():
        operation = operations.get("get")
        if operation is None or ROUTES[("GET", path)] not in ADMIN_CLASSES:
            continue
        query = [p for p in operation.get("parameters", []) if p["in"] == "query"]
        if query:
            found[path] = query
    return found


def _values(parameter: dict[str, Any], probes: list[str]) -> list[str]:
    """Every value of an enumerated or boolean parameter, the largest of a number, and the
    victim's e-mails, names and ids for free text."""
    options = [parameter["schema"], *parameter["schema"].get("anyOf", [])]
    enumerated = [str(value) for option in options for value in option.get("enum", [])]
    if enumerated:
        return enumerated
    types = {option.get("type") for option in options}
    if "boolean" in types:
        return ["true", "false"]
    if "integer" in types:
        return [str(option["maximum"]) for option in options if "maximum" in option][:1] or ["1"]
    return probes


def _forged(token: str, partition: str) -> str:
    """The token with its sort position replaced by one naming the victim's partition key."""
    head, marker, tail = token.partition("#RTD:")
    assert marker, token
    encoded = base64.b64encode(json.dumps([partition]).encode()).decode()
    return head + marker + encoded + tail[tail.index('"') :]


@pytest.mark.claim("P29")
@pytest.mark.claim("P30")
def test_query_parameters_and_continuation_tokens_reach_nothing_of_the_victims(victim, intruder):
    victim_owner, ids = victim
    # A fresh sign-in: the earlier tests let the clock run past the first session's limits.
    owner = helpers.sign_in(victim_owner.email, victim_owner.password, victim_owner.secret)
    secrets = _secrets(owner, ids)
    probes = [ids["participant_email"], owner.account_id]
    parameters = _query_parameters()
    tokens: dict[str, list[str]] = {}
    for path, query in parameters.items():
        if any(p["name"] == "continuation" for p in query):
            page = _created(owner.get(path.format(**ids), params={"limit": 1}))
            assert page["continuation"], path
            tokens[path] = [page["continuation"], _forged(page["continuation"], ids["webcast_id"])]
    assert len(tokens) >= 5, "the lists with continuation tokens were found"
    # Filters the routes do not take must be ignored, not obeyed.
    unknown = {"tenant_id": owner.tenant_id, "webcast_id": ids["webcast_id"]}
    before = _snapshot(_marks(owner, ids))
    for path, query in parameters.items():
        url = path.format(**intruder.ids)
        for parameter in query:
            name = parameter["name"]
            values = tokens[path] if name == "continuation" else _values(parameter, probes)
            for value in values:
                response = intruder.owner.get(url, params=unknown | {name: value})
                assert response.status_code < 500, (path, name, value, response.text)
                leaked = _leaked(response, secrets)
                if response.status_code >= 400:
                    leaked -= {value}  # a refused value may be named back in the problem
                assert not leaked, (path, name, value, response.status_code)
    assert _snapshot(_marks(owner, ids)) == before
