"""Embedding by iframe with signed tokens, and customer servers with credentials (P35, P25)."""

import base64
import hashlib
import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from functions.api.viewer_deps import EMBED_COOKIE, VIEWER_COOKIE
from shared import clock
from shared.auth.models import Permission
from shared.clients import cosmos_container
from shared.config import get_settings
from shared.integrations.embed import ROTATION_GRACE_SECONDS
from tests import helpers

ORIGINS = ["https://www.customer.example", "https://intranet.customer.example:8443"]
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def owner(stack):
    return helpers.new_owner("embed")


def _embeddable(
    owner: helpers.Admin, origins: list[str] = ORIGINS, **extra: Any
) -> tuple[str, str]:
    """A webcast with embedding on for `origins` and its signing secret."""
    webcast_id = helpers.new_webcast(owner, title="Embedded", **extra)
    settings = owner.request(
        "PUT",
        f"/api/webcasts/{webcast_id}/embed",
        json={"enabled": True, "allowed_origins": origins},
    )
    assert settings.status_code == 200, settings.text
    rotated = owner.post(f"/api/webcasts/{webcast_id}/embed/secret")
    assert rotated.status_code == 201, rotated.text
    return webcast_id, rotated.json()["secret"]


def _token(secret: str, audience: str, *, lifetime: int = 120, **claims: Any) -> str:
    issued = int(clock.now())
    payload = {
        "aud": audience,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": uuid.uuid4().hex,
        **claims,
    }
    return jwt.encode(payload, secret, algorithm="HS256")


def _exchange(http, webcast_id: str, token: str):
    return http.post(f"/api/w/{webcast_id}/embed/session", json={"token": token})


def _set_cookies(response) -> list[str]:
    return [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie"]


def _cookie(header: str) -> tuple[str, str, dict[str, str | bool]]:
    """Name, value and attributes (lower-case names) of one Set-Cookie header."""
    first, *rest = [part.strip() for part in header.split(";")]
    name, _, value = first.partition("=")
    attributes: dict[str, str | bool] = {}
    for attribute in rest:
        key, has_value, attribute_value = attribute.partition("=")
        attributes[key.lower()] = attribute_value if has_value else True
    return name, value, attributes


def _refused_for(response, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    error = response.json()["errors"][0]
    assert error["field"] == "token"
    assert reason in error["reason"], error["reason"]
    assert _set_cookies(response) == []


def _assert_random_session_id(value: str, personal: list[str]) -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value), "256 random bits, URL-safe"
    for item in personal:
        assert item not in value
    stored = list(cosmos_container("sessions").read_all_items())
    assert any(item["id"] == hashlib.sha256(value.encode()).hexdigest() for item in stored)
    assert value not in json.dumps(stored), "only the hash of the id is stored"


@pytest.mark.claim("P35")
@pytest.mark.claim("P25")
def test_token_exchange_sets_a_partitioned_session_cookie_with_only_a_random_id(owner):
    webcast_id, secret = _embeddable(owner)
    http = helpers.client()
    sub = f"cust-{uuid.uuid4().hex[:8]}"
    email = helpers.unique_email("embedded")
    response = _exchange(http, webcast_id, _token(secret, webcast_id, sub=sub, email=email))
    assert response.status_code == 200, response.text
    [header] = _set_cookies(response)
    name, value, attributes = _cookie(header)
    assert name == EMBED_COOKIE and name.startswith("__Host-")
    assert attributes == {
        "httponly": True,
        "path": "/",
        "samesite": "None",
        "secure": True,
        "partitioned": True,
    }, header
    participant_id = response.json()["participant_id"]
    _assert_random_session_id(value, [sub, email, participant_id, webcast_id])
    # The viewer API accepts the embed cookie alone (an iframe sends no other).
    assert http.cookies.get(EMBED_COOKIE) == value and http.cookies.get(VIEWER_COOKIE) is None
    me = http.get(f"/api/w/{webcast_id}/me")
    assert me.status_code == 200, me.text
    assert me.json()["external_id"] == sub and me.json()["username"] is None
    assert me.json()["email"] == email and me.json()["source"] == "embed"
    # A second visit signs the same person in again: no second participant.
    again = _exchange(helpers.client(), webcast_id, _token(secret, webcast_id, sub=sub))
    assert again.status_code == 200 and again.json()["participant_id"] == participant_id
    listed = owner.get(f"/api/webcasts/{webcast_id}/participants").json()["items"]
    assert [p["id"] for p in listed] == [participant_id]
    [created] = helpers.audit_entries(
        owner.tenant_id, action="participant.create", entity_id=participant_id
    )
    assert created.actor_kind == "system"
    assert (created.actor_id or "").startswith("embed-key:")
    signed_in = helpers.audit_entries(
        owner.tenant_id, action="participant.sign_in_embed", entity_id=participant_id
    )
    assert len(signed_in) == 2
    for entry in (created, *signed_in):
        assert email not in entry.model_dump_json() and sub not in entry.model_dump_json()


@pytest.mark.claim("P35")
@pytest.mark.claim("P25")
def test_viewer_calls_inside_the_iframe_keep_the_embed_cookie(owner):
    webcast_id, secret = _embeddable(owner)
    http = helpers.client()
    anonymous = _exchange(http, webcast_id, _token(secret, webcast_id))
    assert anonymous.status_code == 200, anonymous.text
    assert anonymous.json()["participant_id"] is None, "no identity claims: anonymous"
    assert http.get(f"/api/w/{webcast_id}/me").json() == {
        "webcast_id": webcast_id,
        "participant_id": None,
    }
    entered = http.post(
        f"/api/w/{webcast_id}/enter", headers={"X-CSRF-Token": anonymous.json()["csrf_token"]}
    )
    assert entered.status_code == 200, entered.text
    [header] = _set_cookies(entered)
    name, value, attributes = _cookie(header)
    assert name == EMBED_COOKIE and attributes["partitioned"] is True
    assert "expires" not in attributes and "max-age" not in attributes
    assert value != http.cookies.get(VIEWER_COOKIE)


@pytest.mark.claim("P35")
def test_expired_foreign_replayed_unsigned_and_long_lived_tokens_are_refused(owner):
    webcast_id, secret = _embeddable(owner)
    other_id, other_secret = _embeddable(owner)
    http = helpers.client()
    now = int(clock.now())
    expired = jwt.encode(
        {"aud": webcast_id, "iat": now - 200, "exp": now - 31, "jti": uuid.uuid4().hex},
        secret,
        algorithm="HS256",
    )
    _refused_for(_exchange(http, webcast_id, expired), "expired")
    within_leeway = jwt.encode(
        {"aud": webcast_id, "iat": now - 200, "exp": now - 20, "jti": uuid.uuid4().hex},
        secret,
        algorithm="HS256",
    )
    assert _exchange(http, webcast_id, within_leeway).status_code == 200
    _refused_for(_exchange(http, webcast_id, _token(secret, other_id)), "audience")
    _refused_for(_exchange(http, webcast_id, _token(other_secret, webcast_id)), "secret")
    _refused_for(
        _exchange(http, other_id, _token(secret, webcast_id)), "not signed with a current secret"
    )
    once = _token(secret, webcast_id, sub="replayer")
    assert _exchange(http, webcast_id, once).status_code == 200
    _refused_for(_exchange(helpers.client(), webcast_id, once), "used already")

    def segment(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"aud": webcast_id, "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex}
    unsigned = f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims)}."
    _refused_for(_exchange(http, webcast_id, unsigned), "HS256")
    other_algorithm = jwt.encode(claims, secret + secret, algorithm="HS512")
    _refused_for(_exchange(http, webcast_id, other_algorithm), "HS256")
    _refused_for(_exchange(http, webcast_id, _token(secret, webcast_id, lifetime=301)), "expire")
    future = jwt.encode(
        {"aud": webcast_id, "iat": now + 120, "exp": now + 180, "jti": uuid.uuid4().hex},
        secret,
        algorithm="HS256",
    )
    _refused_for(_exchange(http, webcast_id, future), "future")
    no_jti = jwt.encode({"aud": webcast_id, "iat": now, "exp": now + 60}, secret, "HS256")
    _refused_for(_exchange(http, webcast_id, no_jti), "jti")
    listed = jwt.encode({**claims, "aud": [webcast_id, other_id]}, secret, algorithm="HS256")
    _refused_for(_exchange(http, webcast_id, listed), "audience")
    _refused_for(_exchange(http, webcast_id, "not-a-jwt"), "well-formed")
    anonymous_email = _token(secret, webcast_id, email=helpers.unique_email())
    _refused_for(_exchange(http, webcast_id, anonymous_email), "sub")


@pytest.mark.claim("P35")
def test_a_rotated_secret_works_for_the_grace_period_only(owner):
    webcast_id, old_secret = _embeddable(owner)
    rotated = owner.post(f"/api/webcasts/{webcast_id}/embed/secret")
    assert rotated.status_code == 201
    new_secret = rotated.json()["secret"]
    assert new_secret != old_secret
    assert rotated.json()["previous_secret_valid_until"] == pytest.approx(
        clock.now() + ROTATION_GRACE_SECONDS, abs=5
    )
    view = owner.get(f"/api/webcasts/{webcast_id}/embed").json()
    assert view["has_secret"] and view["secret_kid"] == rotated.json()["kid"]
    assert old_secret not in json.dumps(view) and new_secret not in json.dumps(view)
    http = helpers.client()
    assert _exchange(http, webcast_id, _token(old_secret, webcast_id)).status_code == 200
    assert _exchange(http, webcast_id, _token(new_secret, webcast_id)).status_code == 200
    clock.advance(ROTATION_GRACE_SECONDS + 1)
    _refused_for(_exchange(http, webcast_id, _token(old_secret, webcast_id)), "current secret")
    assert _exchange(http, webcast_id, _token(new_secret, webcast_id)).status_code == 200
    [entry, *_] = helpers.audit_entries(
        owner.tenant_id, action="embed.secret_rotate", entity_id=webcast_id
    )
    assert entry.changed_fields == ["secret"] and entry.actor_id == owner.account_id


@pytest.mark.claim("P35")
def test_embed_page_names_exactly_the_allowed_sites_as_frame_ancestors(owner, built_web):
    webcast_id, secret = _embeddable(owner)
    http = helpers.client()
    page = http.get(f"/embed/{webcast_id}")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    policies = [v for k, v in page.headers.multi_items() if k == "content-security-policy"]
    assert len(policies) == 1
    directives = {
        d.split()[0]: d.split()[1:] for d in (p.strip() for p in policies[0].split(";")) if d
    }
    assert directives["frame-ancestors"] == ORIGINS
    assert "x-frame-options" not in page.headers
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["strict-transport-security"].startswith("max-age=")
    # The participant app's one static document: the page reads the webcast from its address.
    assert '<div id="root">' in page.text and "Embedded" not in page.text
    assert directives["script-src"] == ["'self'"]
    # Everything else still refuses to be framed.
    health = http.get("/api/health")
    assert health.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in health.headers["content-security-policy"]
    # Turned off: no page, and the answer may not be framed by anyone.
    off = owner.request(
        "PUT",
        f"/api/webcasts/{webcast_id}/embed",
        json={"enabled": False, "allowed_origins": ORIGINS},
    )
    assert off.status_code == 200 and off.json()["enabled"] is False
    gone = http.get(f"/embed/{webcast_id}")
    assert gone.status_code == 404 and gone.headers["x-frame-options"] == "DENY"
    refused = _exchange(http, webcast_id, _token(secret, webcast_id))
    assert refused.status_code == 403 and _set_cookies(refused) == []


@pytest.mark.claim("P35")
def test_allowed_origins_must_be_https_origins(owner):
    webcast_id = helpers.new_webcast(owner)
    url = f"/api/webcasts/{webcast_id}/embed"
    assert owner.get(url).json() == {
        "webcast_id": webcast_id,
        "enabled": False,
        "allowed_origins": [],
        "updated_at": "",
        "has_secret": False,
        "secret_kid": None,
        "previous_secret_valid_until": None,
        "snippet": (
            f'<iframe src="{get_settings().public_base_url}/embed/{webcast_id}'
            '#token={EMBED_TOKEN}" '
            'title="Webcast" width="960" height="720" style="max-width: 100%; border: 0" '
            'allow="autoplay; fullscreen" referrerpolicy="no-referrer"></iframe>'
        ),
    }, "off until the customer turns it on"
    for bad in (
        "http://www.customer.example",
        "https://www.customer.example/path",
        "https://user@customer.example",
        "https://*.customer.example",
        "https://customer.example; script-src *",
        "javascript:alert(1)",
        "customer.example",
    ):
        response = owner.request("PUT", url, json={"enabled": True, "allowed_origins": [bad]})
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["field"] == "body.allowed_origins.0", bad
    empty = owner.request("PUT", url, json={"enabled": True, "allowed_origins": []})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "allowed_origins"
    good = owner.request(
        "PUT",
        url,
        json={
            "enabled": True,
            "allowed_origins": ["HTTPS://WWW.Customer.Example/", "http://localhost:3000"],
        },
    )
    assert good.status_code == 200, good.text
    assert good.json()["allowed_origins"] == [
        "https://www.customer.example",
        "http://localhost:3000",
    ]
    [entry] = helpers.audit_entries(owner.tenant_id, action="embed.update", entity_id=webcast_id)
    assert entry.changed_fields == ["allowed_origins", "enabled"]


@pytest.mark.claim("P25")
def test_viewer_cookie_from_registration_and_login_is_a_lax_host_session_cookie(owner):
    webcast_id = helpers.new_webcast(
        owner, access_mode="registration", admit_before_confirmation=True
    )
    http = helpers.client()
    email = helpers.unique_email("viewer")
    password = "Viewer-Pass-2026"
    registered = http.post(
        f"/api/w/{webcast_id}/registrations", json={"email": email, "password": password}
    )
    assert registered.status_code == 202, registered.text
    known = helpers.unique_email("known")
    created = owner.post(
        f"/api/webcasts/{webcast_id}/participants", json={"email": known, "password": password}
    )
    assert created.status_code == 201, created.text
    login = helpers.client().post(
        f"/api/w/{webcast_id}/login", json={"login": known, "password": password}
    )
    assert login.status_code == 200, login.text
    for response in (registered, login):
        [header] = _set_cookies(response)
        name, value, attributes = _cookie(header)
        assert name == VIEWER_COOKIE and name.startswith("__Host-")
        assert {k: str(v).lower() for k, v in attributes.items()} == {
            "httponly": "true",
            "path": "/",
            "samesite": "lax",
            "secure": "true",
        }, header
        _assert_random_session_id(value, [email, response.json()["participant_id"], webcast_id])


def _credential(owner: helpers.Admin, webcast_id: str) -> dict[str, Any]:
    response = owner.post(
        f"/api/webcasts/{webcast_id}/server-credentials", json={"label": "CRM sync"}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _register(http, webcast_id: str, bearer: str | None, **body: Any):
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    return http.put(f"/api/server/webcasts/{webcast_id}/participants", json=body, headers=headers)


@pytest.mark.claim("P35")
def test_server_credential_registers_once_and_its_link_signs_in_once(owner):
    webcast_id = helpers.new_webcast(owner)
    credential = _credential(owner, webcast_id)
    assert credential["token"] == f"{credential['id']}.{credential['secret']}"
    stored = json.dumps(list(cosmos_container("webcasts").read_all_items()))
    assert credential["secret"] not in stored, "only a keyed hash of the secret is stored"
    server = helpers.client()
    email = helpers.unique_email("crm")
    first = _register(server, webcast_id, credential["token"], email=email)
    assert first.status_code == 201, first.text
    second = _register(server, webcast_id, credential["token"], email=email, username="crm-42")
    assert second.status_code == 200, second.text
    participant_id = first.json()["participant"]["id"]
    assert second.json()["participant"]["id"] == participant_id
    assert second.json()["participant"]["username"] == "crm-42"
    listed = owner.get(f"/api/webcasts/{webcast_id}/participants").json()["items"]
    assert [p["id"] for p in listed] == [participant_id]
    assert listed[0]["source"] == "server"
    link = urlsplit(second.json()["link"])
    base = urlsplit(get_settings().public_base_url)
    assert (link.scheme, link.netloc, link.path) == (base.scheme, base.netloc, f"/w/{webcast_id}")
    # After `#`, out of every server log; nothing in the query.
    assert link.query == ""
    [token] = parse_qs(link.fragment)["token"]
    viewer = helpers.client()
    signed_in = viewer.post(f"/api/w/{webcast_id}/link", json={"token": token})
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["participant_id"] == participant_id
    again = helpers.client().post(f"/api/w/{webcast_id}/link", json={"token": token})
    assert again.status_code == 422, "single use"
    created = helpers.audit_entries(
        owner.tenant_id, action="participant.create", entity_id=participant_id
    )
    assert [(e.actor_kind, e.actor_id) for e in created] == [
        ("system", f"server-credential:{credential['id']}")
    ]
    issued = helpers.audit_entries(
        owner.tenant_id, action="participant.link_issue", entity_id=participant_id
    )
    assert len(issued) == 2
    for entry in (*created, *issued):
        assert email not in entry.model_dump_json() and credential["secret"] not in (
            entry.model_dump_json()
        )


@pytest.mark.claim("P35")
def test_wrong_missing_and_revoked_credentials_get_401_and_guessing_is_throttled(owner):
    webcast_id = helpers.new_webcast(owner)
    credential = _credential(owner, webcast_id)
    server = helpers.client()
    body = {"email": helpers.unique_email("crm")}
    for bearer in (None, "garbage", f"{credential['id']}.wrong-secret", credential["secret"]):
        response = _register(server, webcast_id, bearer, **body)
        assert response.status_code == 401, (bearer, response.text)
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert _register(server, webcast_id, credential["token"], **body).status_code == 201
    revoked = owner.post(
        f"/api/webcasts/{webcast_id}/server-credentials/revoke", json={"id": credential["id"]}
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert _register(server, webcast_id, credential["token"], **body).status_code == 401
    listed = owner.get(f"/api/webcasts/{webcast_id}/server-credentials").json()
    assert [(c["id"], bool(c["revoked_at"])) for c in listed] == [(credential["id"], True)]
    assert all("secret" not in c for c in listed)
    # Guessing the secret of a credential locks it (and the address) with back-off.
    guessed = _credential(owner, webcast_id)
    limit = get_settings().login_max_failures
    attacker = helpers.client()
    for _ in range(limit):
        assert _register(attacker, webcast_id, f"{guessed['id']}.guess", **body).status_code == 401
    locked = _register(attacker, webcast_id, guessed["token"], **body)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    clock.advance(get_settings().login_lock_max_seconds + 1)
    assert _register(helpers.client(), webcast_id, guessed["token"], **body).status_code == 200


@pytest.mark.claim("P35")
@pytest.mark.claim("P29")
@pytest.mark.claim("P30")
def test_a_credential_or_token_of_one_webcast_cannot_register_into_another(owner):
    webcast_a = helpers.new_webcast(owner)
    webcast_b, secret_b = _embeddable(owner)
    credential_a = _credential(owner, webcast_a)
    other_owner = helpers.new_owner("embed-other")
    webcast_c = helpers.new_webcast(other_owner)
    server = helpers.client()
    email = helpers.unique_email("cross")
    same_tenant = _register(server, webcast_b, credential_a["token"], email=email)
    assert same_tenant.status_code == 403, same_tenant.text
    other_tenant = _register(server, webcast_c, credential_a["token"], email=email)
    assert other_tenant.status_code == 401, other_tenant.text
    for admin, webcast_id in ((owner, webcast_b), (other_owner, webcast_c)):
        items = admin.get(f"/api/webcasts/{webcast_id}/participants").json()["items"]
        assert items == []
    intruder_view = other_owner.get(f"/api/webcasts/{webcast_b}/embed")
    assert intruder_view.status_code == 404
    _refused_for(_exchange(server, webcast_b, _token(secret_b, webcast_c, sub="x")), "audience")


@pytest.mark.claim("P35")
@pytest.mark.claim("P29")
def test_admin_routes_need_the_participants_permission(owner):
    webcast_id = helpers.new_webcast(owner)
    credential = _credential(owner, webcast_id)
    without = helpers.new_subaccount(owner, [p for p in Permission if p != Permission.participants])
    with_permission = helpers.new_subaccount(owner, [Permission.participants])
    calls = [
        ("GET", f"/api/webcasts/{webcast_id}/embed", None),
        ("PUT", f"/api/webcasts/{webcast_id}/embed", {"enabled": False, "allowed_origins": []}),
        ("POST", f"/api/webcasts/{webcast_id}/embed/secret", None),
        ("GET", f"/api/webcasts/{webcast_id}/server-credentials", None),
        ("POST", f"/api/webcasts/{webcast_id}/server-credentials", {"label": "x"}),
        (
            "POST",
            f"/api/webcasts/{webcast_id}/server-credentials/revoke",
            {"id": credential["id"]},
        ),
    ]
    for method, url, body in calls:
        response = without.request(method, url, json=body)
        assert response.status_code == 403, (method, url, response.text)
        assert response.headers["content-type"] == PROBLEM
    for method, url, body in calls:
        response = with_permission.request(method, url, json=body)
        assert response.status_code in (200, 201), (method, url, response.text)


@pytest.mark.claim("P35")
@pytest.mark.claim("P29")
def test_a_self_registered_user_name_never_captures_an_embed_identity(owner):
    webcast_id, secret = _embeddable(
        owner, access_mode="registration", admit_before_confirmation=True
    )
    sub = f"cust-{uuid.uuid4().hex[:8]}"
    victim_email = helpers.unique_email("victim")
    attacker = helpers.client()
    password = "Squatter-Pass-42"
    squatted = attacker.post(
        f"/api/w/{webcast_id}/registrations",
        json={
            "email": helpers.unique_email("attacker"),
            "username": f"ext:{sub}",
            "password": password,
        },
    )
    assert squatted.status_code < 300, squatted.text
    victim = helpers.client()
    exchanged = _exchange(
        victim, webcast_id, _token(secret, webcast_id, sub=sub, email=victim_email)
    )
    assert exchanged.status_code == 200, exchanged.text
    victim_id = exchanged.json()["participant_id"]
    listed = owner.get(f"/api/webcasts/{webcast_id}/participants").json()["items"]
    squatter = next(p for p in listed if p["username"] == f"ext:{sub}")
    assert victim_id != squatter["id"], "the embed identity landed in a self-registration"
    assert squatter["email"] != victim_email
    assert victim.get(f"/api/w/{webcast_id}/me").json()["email"] == victim_email
    seen_by_attacker = attacker.get(f"/api/w/{webcast_id}/me")
    assert seen_by_attacker.status_code == 200 and victim_email not in seen_by_attacker.text
