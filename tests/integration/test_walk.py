"""One walk through the admin and viewer flows, recorded response by response.

Every client the walk uses (including the helpers' sign-in clients) carries httpx event
hooks that keep each Set-Cookie header and each write with its route and time; the audit
entries written meanwhile are given to the writes afterwards.
Two checks read the same recording: every write route leaves an audit entry (P31) and every
cookie is a session cookie (P25). The write routes come from the app itself, so a new one
fails the first check until the walk calls it and it is audited, or it is exempted below.
"""

import csv
import functools
import io
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from functions.api.deps import ADMIN_COOKIE
from functions.api.viewer_deps import EMBED_COOKIE, VIEWER_COOKIE
from shared import clock
from shared.accounts import service as accounts
from shared.accounts.signin import issue_reset_token
from shared.audit import service as audit
from shared.audit.models import PLATFORM_TENANT, AuditEntry, AuditFilter
from shared.clients import queue_client
from shared.config import get_settings
from shared.mail import participant_reset
from shared.media.models import TRANSCODE_QUEUE
from shared.participants import access
from shared.participants.repository import participants
from shared.participants.self_service import issue_erasure_token, issue_privacy_token
from shared.tracking.settings import QUEUE_SHARDS
from tests import helpers
from tests.integration.test_isolation import _POLL, _app_routes, _bodies, _in, _make_ready

SESSION_COOKIES = {ADMIN_COOKIE, VIEWER_COOKIE, EMBED_COOKIE}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Write routes that leave no audit entry by design; each one the walk calls is checked to
# leave none, so an entry here goes stale (and fails) once its route is audited or removed.
NOT_AUDITED = {
    # Viewer interactions are not audit events: their own records carry author and time.
    ("POST", "/api/w/{webcast_id}/messages"): "a viewer's message",
    ("POST", "/api/w/{webcast_id}/messages/{message_id}/votes"): "a viewer's vote",
    ("POST", "/api/w/{webcast_id}/polls/{poll_id}/answer"): "a viewer's answer",
    ("POST", "/api/w/{webcast_id}/heartbeat"): "a viewer's heartbeat",
    # An anonymous grant for a public webcast: no participant, nothing entered (P13).
    ("POST", "/api/w/{webcast_id}/enter"): "an anonymous viewer enters",
    # The ingest's telemetry every few seconds: the channel's technical state only.
    ("POST", "/api/live/ingest/health"): "ingest health",
    # A fresh upload URL for an asset whose creation is logged; nothing stored changes.
    ("POST", "/api/webcasts/{webcast_id}/media/{asset_id}/upload"): "upload URL renewal",
}
# Routes that set a new password: their entries name it (the body calls it new_password).
PASSWORD_ROUTES = {
    "/api/auth/password",
    "/api/auth/password-reset/confirm",
    "/api/w/{webcast_id}/password-reset/confirm",
}
TRIGGERS = helpers.Triggers(
    {"participant_import", "blob_created"}
    | {f"tracking_heartbeats_{n}" for n in range(QUEUE_SHARDS)},
    watch=("imports",),
)


@dataclass
class Write:
    method: str
    route: str
    status: int
    started: str
    ended: str
    entries: list[AuditEntry] = field(default_factory=list)


@dataclass
class Recorder:
    """Event hooks for every client of the walk: Set-Cookie headers and write requests."""

    tenant_ids: set[str] = field(default_factory=lambda: {PLATFORM_TENANT})
    cookies: list[str] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    _templates: list[tuple[str, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        by_literalness = sorted(_write_routes(), key=lambda route: route[1].count("{"))
        self._templates = [
            (method, path, re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)))
            for method, path in by_literalness
        ]

    def client(self, address: str | None = None) -> TestClient:
        """helpers.client with the hooks: the helpers' sign-in flows are recorded too."""
        http = _plain_client(address)
        http.event_hooks = {"request": [self._before], "response": [self._after]}
        return http

    def attribute_entries(self) -> None:
        """Give each write the audit entries written while it ran (requests run one at a
        time, on the platform's clock); entries of trigger runs belong to no write."""
        query = AuditFilter(since=self.writes[0].started)
        for tenant_id in self.tenant_ids:
            for entry in audit.iterate_entries(tenant_id=tenant_id, query=query):
                write = next((w for w in self.writes if w.started <= entry.at <= w.ended), None)
                if write is not None:
                    write.entries.append(entry)

    def _route(self, method: str, path: str) -> str:
        """The route template the path matches; the most literal one where several do."""
        for template in self._templates:
            if template[0] == method and re.fullmatch(template[2], path):
                return template[1]
        raise AssertionError(f"no write route for {method} {path}")

    def _before(self, request: httpx.Request) -> None:
        request.extensions["walk_started"] = clock.utc_iso()

    def _after(self, response: httpx.Response) -> None:
        self.cookies += [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie"]
        request = response.request
        if request.method in WRITE_METHODS:
            route = self._route(request.method, request.url.path)
            started = request.extensions["walk_started"]
            self.writes.append(
                Write(request.method, route, response.status_code, started, clock.utc_iso())
            )


_plain_client = helpers.client


@functools.cache
def _write_routes() -> frozenset[tuple[str, str]]:
    """The app's write routes (made once: building the OpenAPI document takes a while)."""
    return frozenset(route for route in _app_routes() if route[0] in WRITE_METHODS)


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.url.path, response.text)
    return response.json() if response.content else None


def _admin_flows(owner: helpers.Admin, recorder: Recorder) -> None:
    """Accounts, MFA, passwords and vendor support."""
    sub = helpers.new_subaccount(owner, [])
    _ok(owner.patch(f"/api/accounts/{sub.account_id}", json={"display_name": "Sam S."}))
    new_password = "a different long passphrase"
    _ok(
        sub.post(
            "/api/auth/password",
            json={"current_password": sub.password, "new_password": new_password},
        )
    )
    public = recorder.client()
    _ok(public.post("/api/auth/password-reset", json={"email": sub.email}), 202)
    token = issue_reset_token(tenant_id=owner.tenant_id, account_id=sub.account_id)
    confirm = {"token": token, "new_password": "yet another long passphrase"}
    _ok(public.post("/api/auth/password-reset/confirm", json=confirm), 204)
    _ok(owner.post(f"/api/accounts/{sub.account_id}/mfa-reset"))
    _ok(owner.delete(f"/api/accounts/{sub.account_id}"), 204)
    grant = _ok(
        owner.post("/api/support-grants", json={"scope": "full", "expires_at": _in(1)}), 201
    )
    _, support = helpers.new_support()
    _ok(support.post(f"/api/support/tenants/{owner.tenant_id}/enter"))
    _ok(support.post("/api/support/leave"), 204)
    _ok(owner.post(f"/api/support-grants/{grant['id']}/revoke"))
    again = helpers.sign_in(owner.email, owner.password, owner.secret)
    _ok(again.post("/api/auth/logout"), 204)


def _participant_flows(owner: helpers.Admin, recorder: Recorder, webcast_id: str) -> None:
    """Form, participants, mail, imports, the viewer's ways in, embedding, customer servers."""
    base = f"/api/webcasts/{webcast_id}"
    bodies = _bodies({"message_id": "", "handout_id": ""})
    _ok(
        owner.request(
            "PUT", f"{base}/form", json=bodies[("PUT", "/api/webcasts/{webcast_id}/form")]
        )
    )
    email = helpers.unique_email("walker")
    member = _ok(
        owner.post(f"{base}/participants", json={"username": "walker", "email": email}), 201
    )
    other = _ok(
        owner.post(f"{base}/participants", json={"email": helpers.unique_email("other")}), 201
    )
    _ok(owner.patch(f"{base}/participants/{other['id']}", json={"status": "disabled"}))
    _ok(owner.post(f"{base}/invitations", json={"all": True}), 202)
    _ok(owner.post(f"{base}/links/rotate"))
    templates = bodies[("PUT", "/api/webcasts/{webcast_id}/mail-templates")]
    _ok(owner.request("PUT", f"{base}/mail-templates", json=templates))
    # Imports: the file goes to its upload URL, the blob event and the job run here.
    rows = io.StringIO()
    csv.writer(rows).writerows([["E-Mail"], [helpers.unique_email("imported")]])
    content = rows.getvalue().encode()
    created = _ok(
        owner.post(f"{base}/imports", json={"filename": "list.csv", "size": len(content)}), 201
    )
    ticket = created["upload"]
    put = httpx.put(ticket["url"], content=content, headers=ticket["headers"])
    assert put.status_code == 201, put.text
    TRIGGERS.drain()
    job_id = created["job"]["id"]
    _ok(owner.post(f"{base}/imports/{job_id}/start", json={"mapping": {"E-Mail": "email"}}), 202)
    TRIGGERS.drain()
    # The participant's ways in: password, reset by mail, personal link, self-registration.
    http = recorder.client()
    signed_in = http.post(
        f"/api/w/{webcast_id}/login",
        json={"login": "walker", "password": member["generated_password"]},
    )
    _ok(signed_in)
    viewer = helpers.Viewer.from_answer(http, webcast_id, signed_in)
    stored = participants.get(
        tenant_id=owner.tenant_id, partition_key=webcast_id, item_id=member["id"]
    )
    assert stored is not None
    _ok(viewer.post(f"/api/w/{webcast_id}/password-reset", json={"login": "walker"}), 202)
    reset = {
        "token": participant_reset.issue_token(participant=stored),
        "new_password": "an entirely fresh passphrase",
    }
    _ok(viewer.post(f"/api/w/{webcast_id}/password-reset/confirm", json=reset), 204)
    link = access.issue_link(participant=stored, single_use=True)
    _ok(recorder.client().post(f"/api/w/{webcast_id}/link", json={"token": link}))
    registered = recorder.client().post(
        f"/api/w/{webcast_id}/registrations",
        json={"email": helpers.unique_email("self"), "answers": {}},
    )
    assert registered.status_code in (201, 202), registered.text
    # Embedding and the customer's server.
    embed = bodies[("PUT", "/api/webcasts/{webcast_id}/embed")]
    _ok(owner.request("PUT", f"{base}/embed", json=embed))
    secret = _ok(owner.post(f"{base}/embed/secret"), 201)["secret"]
    issued = int(clock.now())
    claims = {
        "aud": webcast_id,
        "iat": issued,
        "exp": issued + 60,
        "jti": uuid.uuid4().hex,
        "sub": "c-1",
    }
    token = jwt.encode(claims, secret, algorithm="HS256")
    _ok(recorder.client().post(f"/api/w/{webcast_id}/embed/session", json={"token": token}))
    credential = _ok(owner.post(f"{base}/server-credentials", json={"label": "crm"}), 201)
    server = recorder.client().request(
        "PUT",
        f"/api/server/webcasts/{webcast_id}/participants",
        headers={"Authorization": f"Bearer {credential['token']}"},
        json={"email": helpers.unique_email("crm")},
    )
    assert server.status_code == 201, server.text
    _ok(owner.post(f"{base}/server-credentials/revoke", json={"id": credential["id"]}))
    _ok(owner.delete(f"{base}/participants/{other['id']}"), 204)
    # A person's request across the tenant's webcasts (P23): found, given their data, erased.
    asking = {"email": helpers.unique_email("asking")}
    _ok(owner.post(f"{base}/participants", json=asking), 201)
    until = datetime.fromtimestamp(clock.now() + 30 * 86400, UTC).date().isoformat()
    hold = asking | {"reason": "Tax audit", "until": until}
    for route, body in (
        ("search", asking),
        ("export", asking),
        ("blocking", hold),
        ("unblocking", asking),
        ("erasure", asking),
    ):
        answer = owner.post(f"/api/people/{route}", json=body)
        assert answer.status_code == 200, answer.text


def _privacy_flows(owner: helpers.Admin, recorder: Recorder) -> None:
    """A participant's privacy page: opened by the mailed token, a consent withdrawn, the
    erasure asked for and confirmed (the tokens minted as the mail worker mints them)."""
    webcast_id = helpers.new_webcast(owner, "privacy-walk", access_mode="login")
    form = {"fields": [{"id": "news", "type": "consent", "label": "Send me news"}]}
    _ok(owner.request("PUT", f"/api/webcasts/{webcast_id}/form", json=form))
    body = {"email": helpers.unique_email("private"), "answers": {"news": True}}
    created = _ok(owner.post(f"/api/webcasts/{webcast_id}/participants", json=body), 201)
    participant = participants.get(
        tenant_id=owner.tenant_id, partition_key=webcast_id, item_id=created["id"]
    )
    assert participant is not None
    http = recorder.client()
    base = f"/api/w/{webcast_id}/privacy"
    opened = http.post(
        f"{base}/session", json={"token": issue_privacy_token(participant=participant)}
    )
    assert opened.status_code == 200, opened.text
    csrf = {"X-CSRF-Token": opened.json()["csrf_token"]}
    withdrawn = http.post(f"{base}/consents/news/withdrawal", headers=csrf)
    assert withdrawn.status_code == 200, withdrawn.text
    assert http.post(f"{base}/erasure-request", headers=csrf).status_code == 202
    token = issue_erasure_token(participant=participant)
    erased = http.post(f"{base}/erasure", json={"token": token}, headers=csrf)
    assert erased.status_code == 200, erased.text


@pytest.fixture(scope="module")
def walk(stack) -> Iterator[Recorder]:
    recorder = Recorder()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(helpers, "client", recorder.client)
        email = helpers.unique_email("walk")
        tenant, _ = accounts.create_tenant(
            name="Walk",
            owner_email=email,
            owner_name="Wanda Walker",
            owner_password=helpers.PASSWORD,
        )
        recorder.tenant_ids.add(tenant.tenant_id)
        owner = helpers.enrol(email, helpers.PASSWORD)
        _webcast_flows(owner, recorder)
        _privacy_flows(owner, recorder)
        _admin_flows(owner, recorder)
        # Last: the owner deletes the whole customer account (its session ends with it).
        closing = {"confirm_name": "Walk", "password": helpers.PASSWORD}
        _ok(owner.post("/api/account/deletion", json=closing), 202)
    queue_client(TRANSCODE_QUEUE).clear_messages()  # the walk's edit job: no worker runs here
    recorder.attribute_entries()
    yield recorder


def _webcast_flows(owner: helpers.Admin, recorder: Recorder) -> None:
    modules = {"message_box": True, "polls": True, "tracking": True}
    webcast_id = _ok(
        owner.post(
            "/api/webcasts",
            json={
                "title": "Walk",
                "slug": "walk",
                "access_mode": "registration",
                "modules": modules,
            },
        ),
        201,
    )["id"]
    base = f"/api/webcasts/{webcast_id}"
    _ok(owner.patch(base, json={"title": "Walk on"}))
    _ok(owner.post(f"{base}/retention/extension", json={"days": 30}))
    _ok(owner.post(f"{base}/backups"), 202)
    _ok(owner.post("/api/restores", json={"size": 1000, "slug": "walk-restored"}), 201)
    controller = {
        "legal_name": "Walk GmbH",
        "postal_address": "Way 1",
        "contact_email": owner.email,
    }
    _ok(owner.request("PUT", "/api/account/controller", json=controller))
    _participant_flows(owner, recorder, webcast_id)
    # A public webcast: anonymous viewers chat, vote, answer, beat, watch and download.
    public_id = _ok(
        owner.post("/api/webcasts", json={"title": "Open", "slug": "open", "modules": modules}), 201
    )["id"]
    pbase = f"/api/webcasts/{public_id}"
    http = recorder.client()
    entered = http.post(f"/api/w/{public_id}/enter")
    _ok(entered)
    viewer = helpers.Viewer.from_answer(http, public_id, entered)
    first = _ok(viewer.post(f"/api/w/{public_id}/messages", json={"text": "First"}), 201)["id"]
    second = _ok(viewer.post(f"/api/w/{public_id}/messages", json={"text": "Second"}), 201)["id"]
    _ok(owner.patch(f"{pbase}/messages/{first}", json={"published": True}))
    _ok(owner.post(f"{pbase}/messages/{first}/replies", json={"text": "Soon", "public": True}), 201)
    _ok(viewer.post(f"/api/w/{public_id}/messages/{first}/votes"))
    _ok(owner.post(f"{pbase}/messages/bulk", json={"ids": [second], "action": "archive"}))
    _ok(owner.delete(f"{pbase}/messages/{second}"), 204)
    poll_id = _ok(owner.post(f"{pbase}/polls", json=_POLL), 201)["id"]
    _ok(owner.patch(f"{pbase}/polls/{poll_id}", json={"title": "Walk poll"}))
    copy_id = _ok(owner.post(f"{pbase}/polls/{poll_id}/duplicate"), 201)["id"]
    _ok(owner.delete(f"{pbase}/polls/{copy_id}"), 204)
    _ok(owner.post(f"{pbase}/polls/{poll_id}/open", json={}))
    _ok(
        viewer.post(f"/api/w/{public_id}/polls/{poll_id}/answer", json={"answers": {"q1": "yes"}}),
        201,
    )
    _ok(owner.request("PUT", f"{pbase}/polls/{poll_id}/results-visibility", json={"shown": True}))
    _ok(owner.post(f"{pbase}/polls/{poll_id}/close", json={}))
    _ok(viewer.post(f"/api/w/{public_id}/heartbeat", json={"mode": "live"}), 202)
    TRIGGERS.drain()
    # Media, handouts and live, with the viewer watching.
    asset = _ok(
        owner.post(f"{pbase}/media", json={"title": "Talk", "filename": "t.mp4", "size": 1000}), 201
    )
    asset_id = asset["asset"]["id"]
    _ok(owner.post(f"{pbase}/media/{asset_id}/upload"))
    _ok(owner.patch(f"{pbase}/media/{asset_id}", json={"title": "The talk"}))
    _make_ready(owner.tenant_id, public_id, asset_id)
    vtt = b"WEBVTT\n\n00:00.000 --> 00:01.000\nHallo\n"
    caption = owner.request(
        "PUT",
        f"{pbase}/media/{asset_id}/captions/en",
        content=vtt,
        headers={"Content-Type": "text/vtt"},
    )
    _ok(caption)
    _ok(owner.delete(f"{pbase}/media/{asset_id}/captions/en"))
    edit = _ok(owner.post(f"{pbase}/media/{asset_id}/edits", json={"edit": {"trim_start": 1}}), 201)
    _ok(owner.post(f"{pbase}/media/{asset_id}/publish"))
    _ok(http.get(f"/api/w/{public_id}/vod"))
    _ok(owner.delete(f"{pbase}/media/publication/vod"), 204)
    _ok(owner.delete(f"{pbase}/media/{edit['id']}"), 204)
    handout = {
        "title": "Slides",
        "filename": "s.pdf",
        "content_type": "application/pdf",
        "size": 1000,
    }
    handout_id, second_id = (
        _ok(owner.post(f"{pbase}/handouts", json=handout), 201)["handout"]["id"] for _ in range(2)
    )
    _ok(owner.request("PUT", f"{pbase}/handouts/order", json={"ids": [second_id, handout_id]}))
    _ok(owner.patch(f"{pbase}/handouts/{handout_id}", json={"title": "The slides"}))
    _ok(http.get(f"/api/w/{public_id}/handouts"))
    _ok(owner.delete(f"{pbase}/handouts/{handout_id}"), 204)
    # The page's design: a draft, its preview, its publication, the viewer's read.
    design = {"blocks": [{"id": "about", "kind": "rich_text", "texts": {"de": {"body": "*Hi*"}}}]}
    _ok(owner.request("PUT", f"{pbase}/design", json=design))
    _ok(owner.get(f"{pbase}/design/preview"))
    _ok(owner.post(f"{pbase}/design/publish"))
    _ok(http.get(f"/api/w/{public_id}/design"))
    image = {"purpose": "logo", "content_type": "image/png", "size": 1000}
    image_id = _ok(owner.post(f"{pbase}/design/images", json=image), 201)["image"]["id"]
    _ok(owner.get(f"{pbase}/design/images"))
    _ok(owner.get(f"{pbase}/design/images/{image_id}"))
    _ok(owner.delete(f"{pbase}/design/images/{image_id}"), 204)
    # A readable address: the customer account's slug and the webcast's.
    tenant_slug = f"walk-{uuid.uuid4().hex[:8]}"
    _ok(owner.request("PUT", "/api/account/slug", json={"slug": tenant_slug}))
    _ok(owner.get("/api/account/slug"))
    _ok(http.get(f"/api/p/{tenant_slug}/open"))
    key = _ok(owner.post(f"{pbase}/live", json={"record": True}), 201)["stream_key"]
    _ok(owner.patch(f"{pbase}/live", json={"record": True}))
    ingest = recorder.client()
    secret = {"X-Ingest-Secret": get_settings().live_ingest_secret.get_secret_value()}
    publish = {"name": key, "app": "live"}
    granted = _ok(ingest.post("/api/live/ingest/publish", data=publish, headers=secret))
    session_id = granted["session_id"]
    ref = {"tenant_id": owner.tenant_id, "webcast_id": public_id, "session_id": session_id}
    health = {**ref, "last_segment_at": clock.utc_iso(), "segments_uploaded": 1}
    _ok(ingest.post("/api/live/ingest/health", json=health, headers=secret), 204)
    _ok(ingest.post("/api/live/ingest/recording", json=ref, headers=secret))
    _ok(http.get(f"/api/w/{public_id}/live"))
    done = {**ref, "reason": "stopped", "segments_uploaded": 1}
    _ok(ingest.post("/api/live/ingest/publish-done", json=done, headers=secret))
    _ok(owner.post(f"{pbase}/live/key"))
    _ok(owner.delete(f"{pbase}/live"), 204)
    _ok(owner.post(f"{pbase}/deletion", json={"confirm_slug": "open"}), 202)


def _audited(write: Write) -> bool:
    return any(
        e.actor_kind and e.actor_id and e.action and e.entity_type and (e.entity_id or e.entity_ids)
        for e in write.entries
    )


@pytest.mark.claim("P31")
def test_every_write_route_leaves_an_entry_with_actor_action_entity_and_changed_fields(walk):
    routes = _write_routes()
    assert set(NOT_AUDITED) <= routes, "NOT_AUDITED names routes that no longer exist"
    succeeded = [w for w in walk.writes if w.status < 400]
    walked = {(w.method, w.route) for w in succeeded}
    assert routes - walked == set(), "call these write routes in the walk"
    for write in succeeded:
        if (write.method, write.route) in NOT_AUDITED:
            assert write.entries == [], ("audited now: drop it from NOT_AUDITED", write)
            continue
        assert _audited(write), write
        # What a change or a creation entered is named by its fields (never their values).
        if write.method in ("PUT", "PATCH") or write.status == 201:
            assert any(e.changed_fields for e in write.entries), ("no changed fields", write)
        if write.route in PASSWORD_ROUTES:
            assert any("password" in e.changed_fields for e in write.entries), write


def _cookie(header: str) -> tuple[str, str, dict[str, str]]:
    first, *rest = [part.strip() for part in header.split(";")]
    name, _, value = first.partition("=")
    attributes = {}
    for attribute in rest:
        key, _, attribute_value = attribute.partition("=")
        attributes[key.lower()] = attribute_value
    return name, value, attributes


@pytest.mark.claim("P25")
def test_every_cookie_of_the_walk_is_a_host_session_cookie_without_expiry(walk):
    """Every Set-Cookie names a known session cookie with the `__Host-` rules (Secure,
    Path=/, no Domain), HttpOnly, and neither Expires nor Max-Age; its value is a random
    session id (256 bits, URL-safe) and nothing else.

    Decision: the one exception is a deletion (sign-out): an empty value with Max-Age=0
    and an Expires that is not in the future. It ends a cookie instead of keeping one, so it
    is no persistent cookie; any other value with an expiry fails."""
    assert walk.cookies, "the walk sets cookies"
    names = set()
    deletions = 0
    for header in walk.cookies:
        name, value, attributes = _cookie(header)
        names.add(name)
        assert name in SESSION_COOKIES and name.startswith("__Host-"), header
        assert "secure" in attributes and attributes.get("path") == "/", header
        assert "domain" not in attributes and "httponly" in attributes, header
        if "max-age" in attributes or "expires" in attributes:
            assert value in ("", '""') and attributes.get("max-age") == "0", header
            expires = attributes.get("expires")
            if expires is not None:
                assert parsedate_to_datetime(expires).timestamp() <= time.time() + 1, header
            deletions += 1
        else:
            assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value), ("only a random id", header)
    assert names == SESSION_COOKIES, "admin, viewer and embedded sessions were all walked"
    assert deletions, "the walk signs out"
