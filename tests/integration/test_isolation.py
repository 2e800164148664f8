"""Tenant isolation and need-to-know over every route (P29, P30).

Every route of the app must be classified here; a new route without a class fails the test,
so isolation is checked for it before it ships.
"""

from datetime import UTC, datetime, timedelta

import pytest

from functions.api.app import create_app
from shared import clock
from shared.accounts.models import Permission
from shared.clients import blob_container_name, blob_service, cosmos_container
from shared.clock import utc_iso
from shared.media.models import AssetStatus, Caption, Rendition, media_prefix
from shared.media.repository import assets
from tests import helpers

OWNER = "owner"  # the tenant's owner (and support under a grant, reading or writing)
MANAGER_READ = "manager-read"  # owner or support (read-only grant suffices); no sub-accounts
MANAGER_WRITE = "manager-write"  # owner or support with a full grant; no sub-accounts
MEMBER_READ = "member-read"  # every account of the tenant
PARTICIPANTS = "participants"  # owner, support under a grant, sub-accounts with the permission
MODERATION = "moderation"  # the same with the moderation permission
POLLS = "polls"  # the same with the polls permission
VIEWER = "viewer"  # a viewer session's grant for the webcast; its own tests check grants
SELF = "self"  # acts on the caller's own session only
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
    ("POST", "/api/support/tenants/{tenant_id}/enter"): SELF,
    ("POST", "/api/support/leave"): SELF,
    ("GET", "/api/webcasts"): MEMBER_READ,
    ("POST", "/api/webcasts"): MANAGER_WRITE,
    ("GET", "/api/webcasts/{webcast_id}"): MEMBER_READ,
    ("PATCH", "/api/webcasts/{webcast_id}"): MANAGER_WRITE,
    ("DELETE", "/api/webcasts/{webcast_id}"): MANAGER_WRITE,
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
    ("GET", "/api/w/{webcast_id}/me"): SELF,
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
    ("GET", "/api/w/{webcast_id}/live/{session_id}/{rung}/index.m3u8"): VIEWER,
}
PERMISSION_CLASSES = {
    PARTICIPANTS: Permission.participants,
    MODERATION: Permission.moderation,
    POLLS: Permission.polls,
}
ADMIN_CLASSES = {OWNER, MANAGER_READ, MANAGER_WRITE, MEMBER_READ, *PERMISSION_CLASSES}


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
        ("POST", "/api/support-grants"): {"scope": "full", "expires_at": _in(1)},
        ("POST", "/api/webcasts"): {"title": "Hijack", "slug": "hijack"},
        ("PATCH", "/api/webcasts/{webcast_id}"): {"title": "Hijacked"},
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
        ("POST", "/api/webcasts/{webcast_id}/server-credentials/revoke"): {"id": "0123abcd"},
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


def _snapshot(tenant_id: str, webcast_id: str) -> dict[str, str]:
    """Every tenant, webcast, participant, message and poll document of the victim."""
    found: dict[str, str] = {}
    partitions = (
        ("tenants", "tenant_id", tenant_id),
        ("webcasts", "tenant_id", tenant_id),
        ("participants", "webcast_id", webcast_id),
        ("messages", "partition", webcast_id),
        ("polls", "partition", webcast_id),
    )
    for container, field, key in partitions:
        for item in cosmos_container(container).query_items(
            f"SELECT c.id, c._etag FROM c WHERE c.{field} = @k",  # noqa: S608 - fixed names
            parameters=[{"name": "@k", "value": key}],
            partition_key=key,
        ):
            found[f"{container}/{item['id']}"] = item["_etag"]
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


@pytest.fixture(scope="module")
def victim(stack):
    owner = helpers.new_owner("victim")
    sub = owner.post(
        "/api/accounts",
        json={
            "email": helpers.unique_email("victim-sub"),
            "display_name": "Vic Sub",
            "password": helpers.PASSWORD,
        },
    ).json()
    grant = owner.post(
        "/api/support-grants", json={"scope": "read_only", "expires_at": _in(0.5)}
    ).json()
    webcast = owner.post(
        "/api/webcasts",
        json={
            "title": "Secret",
            "slug": "secret",
            "modules": {"message_box": True, "polls": True, "tracking": True},
        },
    ).json()
    viewer = helpers.client()
    entered = viewer.post(f"/api/w/{webcast['id']}/enter")
    message = viewer.post(
        f"/api/w/{webcast['id']}/messages",
        json={"text": "A secret question"},
        headers={"X-CSRF-Token": entered.json()["csrf_token"]},
    )
    assert message.status_code == 201, message.text
    participant = owner.post(
        f"/api/webcasts/{webcast['id']}/participants",
        json={"email": helpers.unique_email("victim-participant")},
    ).json()
    import_job = owner.post(
        f"/api/webcasts/{webcast['id']}/imports", json={"filename": "list.csv", "size": 10}
    ).json()["job"]
    poll = owner.post(f"/api/webcasts/{webcast['id']}/polls", json=_POLL)
    assert poll.status_code == 201, poll.text
    asset = owner.post(
        f"/api/webcasts/{webcast['id']}/media",
        json={"title": "Secret video", "filename": "secret.mp4", "size": 1000},
    )
    assert asset.status_code == 201, asset.text
    _make_ready(owner.tenant_id, webcast["id"], asset.json()["asset"]["id"])
    channel = owner.post(f"/api/webcasts/{webcast['id']}/live", json={"record": True})
    assert channel.status_code == 201, channel.text
    handout = owner.post(
        f"/api/webcasts/{webcast['id']}/handouts",
        json={
            "title": "Secret slides",
            "filename": "slides.pdf",
            "content_type": "application/pdf",
            "size": 1000,
        },
    )
    assert handout.status_code == 201, handout.text
    ids = {
        "handout_id": handout.json()["handout"]["id"],
        "asset_id": asset.json()["asset"]["id"],
        "language": "de",
        "rung": "720p",
        "session_id": "0" * 32,
        "poll_id": poll.json()["id"],
        "file_format": "csv",
        "message_id": message.json()["id"],
        "job_id": import_job["id"],
        "participant_id": participant["id"],
        "account_id": sub["id"],
        "grant_id": grant["id"],
        "webcast_id": webcast["id"],
        "tenant_id": owner.tenant_id,
    }
    return owner, ids


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
    before = _snapshot(owner.tenant_id, ids["webcast_id"])
    public = {owner.tenant_id, ids["file_format"], ids["language"], ids["rung"], ids["session_id"]}
    secret_values = set(ids.values()) - public | {"Secret", owner.email}
    for method, path in _protected(ADMIN_CLASSES):
        response = _call(intruder, method, path, ids)
        if "{" in path:
            assert response.status_code in (403, 404), (method, path, response.status_code)
        else:
            text = response.text
            assert not any(value in text for value in secret_values), (method, path)
    enter = intruder.post(f"/api/support/tenants/{owner.tenant_id}/enter")
    assert enter.status_code == 403
    assert _snapshot(owner.tenant_id, ids["webcast_id"]) == before


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
    before = _snapshot(owner.tenant_id, ids["webcast_id"])
    for support in (without_grant, expiring):
        for method, path in _protected(ADMIN_CLASSES):
            response = _call(support, method, path, ids)
            assert response.status_code == 403, (method, path, response.status_code)
        assert support.post(f"/api/support/tenants/{owner.tenant_id}/enter").status_code == 403
    assert _snapshot(owner.tenant_id, ids["webcast_id"]) == before


@pytest.mark.claim("P28")
@pytest.mark.claim("P29")
def test_subaccounts_and_read_only_support_cannot_use_what_their_role_lacks(victim):
    victim_owner, ids = victim
    owner = helpers.sign_in(victim_owner.email, victim_owner.password, victim_owner.secret)
    before = _snapshot(owner.tenant_id, ids["webcast_id"])
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
    after = _snapshot(owner.tenant_id, ids["webcast_id"])
    assert {k: v for k, v in after.items() if k in before} == before, "nothing changed"
    added = set(after) - set(before)
    assert len(added) == 2 + len(PERMISSION_CLASSES) and all(
        key.startswith("tenants/") for key in added
    ), "only the owner's own sub-accounts and grant were added"
