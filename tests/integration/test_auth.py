"""Sign-in, MFA, sessions, cookies, throttles and client addresses (P25, P28, P31)."""

import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie

import pyotp
import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from functions.api.deps import ADMIN_COOKIE
from shared import clock
from shared.accounts.repository import accounts, find_by_email
from shared.audit import service as audit_service
from shared.audit.models import AuditFilter
from shared.auth import throttle
from shared.auth.models import Permission, Throttle
from shared.auth.repository import sessions, throttles
from shared.auth.totp import STEP_SECONDS
from shared.clients import cosmos_container, queue_client
from shared.composition.maintenance import purge_expired
from shared.config import get_settings
from shared.mail import service as mail_service
from shared.mail_queue import MailJob
from shared.participants.repository import participant_sessions as viewer_sessions
from tests import helpers


def _set_cookie_headers(response) -> list[str]:
    return [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie"]


@pytest.mark.claim("P25")
def test_session_cookie_is_a_host_session_cookie_with_only_a_random_id(stack):
    email = helpers.unique_email()
    helpers.accounts.create_tenant(
        name="C", owner_email=email, owner_name="Olivia Owner", owner_password=helpers.PASSWORD
    )
    http = helpers.client()
    response = http.post("/api/auth/login", json={"email": email, "password": helpers.PASSWORD})
    assert response.status_code == 200
    [header] = _set_cookie_headers(response)
    cookie = SimpleCookie()
    cookie.load(header)
    morsel = cookie[ADMIN_COOKIE]
    assert ADMIN_COOKIE.startswith("__Host-")
    attributes = header.lower()
    assert "secure" in attributes and "httponly" in attributes and "samesite=strict" in attributes
    assert morsel["path"] == "/"
    assert not morsel["domain"]
    assert "expires" not in attributes and "max-age" not in attributes
    value = morsel.value
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value), "256 random bits, URL-safe"
    account = find_by_email(email)
    assert account is not None
    for personal in (email, account.id, account.tenant_id, "Olivia"):
        assert personal not in value
    # Only the hash is stored: the raw value appears nowhere in the sessions container.
    stored = list(cosmos_container("sessions").read_all_items())
    assert any(item["id"] == hashlib.sha256(value.encode()).hexdigest() for item in stored)
    assert value not in json.dumps(stored)


@pytest.mark.claim("P25")
def test_every_sign_in_step_issues_a_new_session_id_and_logout_kills_it(stack):
    email = helpers.unique_email()
    helpers.accounts.create_tenant(
        name="C", owner_email=email, owner_name="O", owner_password=helpers.PASSWORD
    )
    http = helpers.client()
    first = http.post("/api/auth/login", json={"email": email, "password": helpers.PASSWORD})
    before_mfa = http.cookies.get(ADMIN_COOKIE)
    csrf = first.json()["csrf_token"]
    secret = http.post("/api/auth/mfa/enrolment", headers={"X-CSRF-Token": csrf}).json()["secret"]
    done = http.post(
        "/api/auth/mfa/enrolment/confirm",
        headers={"X-CSRF-Token": csrf},
        json={"code": helpers.next_code(secret)},
    )
    after_mfa = http.cookies.get(ADMIN_COOKIE)
    assert done.status_code == 200 and before_mfa and after_mfa and before_mfa != after_mfa
    assert sessions.get(hashlib.sha256(before_mfa.encode()).hexdigest()) is None
    csrf = done.json()["csrf_token"]
    assert http.get("/api/auth/session").status_code == 200
    assert http.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    http.cookies.set(ADMIN_COOKIE, after_mfa, domain="testserver")
    assert http.get("/api/auth/session").status_code == 401


@pytest.mark.claim("P28")
def test_passwords_are_stored_as_argon2id_with_asvs_minimums(stack):
    owner = helpers.new_owner()
    account = accounts.get(tenant_id=owner.tenant_id, item_id=owner.account_id)
    assert account is not None
    match = re.match(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$", account.password_hash)
    assert match, account.password_hash[:20]
    memory, time_cost, _ = (int(group) for group in match.groups())
    assert memory >= 19_456 and time_cost >= 2
    assert helpers.PASSWORD not in account.model_dump_json()


@pytest.mark.claim("P28")
def test_admin_routes_need_the_second_factor(stack):
    email = helpers.unique_email()
    helpers.accounts.create_tenant(
        name="C", owner_email=email, owner_name="O", owner_password=helpers.PASSWORD
    )
    http = helpers.client()
    login = http.post("/api/auth/login", json={"email": email, "password": helpers.PASSWORD})
    csrf = login.json()["csrf_token"]
    assert login.json()["stage"] == "enroll"
    assert http.get("/api/webcasts").status_code == 401
    refused = http.post(
        "/api/webcasts", headers={"X-CSRF-Token": csrf}, json={"title": "x", "slug": "x"}
    )
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"


@pytest.mark.claim("P28")
def test_totp_codes_are_single_use_and_wrong_codes_fail(stack):
    owner = helpers.new_owner()
    http = helpers.client()
    login = http.post("/api/auth/login", json={"email": owner.email, "password": owner.password})
    csrf = login.json()["csrf_token"]
    assert login.json()["stage"] == "mfa"
    wrong = http.post(
        "/api/auth/mfa/verify", headers={"X-CSRF-Token": csrf}, json={"code": "000000"}
    )
    assert wrong.status_code == 401
    assert wrong.json()["errors"][0]["field"] == "code"
    # The code used at enrolment is refused: it was used once already. Its step is read from
    # the account, since the clock may have crossed a step boundary since enrolment.
    account = find_by_email(owner.email)
    assert account is not None
    enrolment_code = pyotp.TOTP(owner.secret).at(account.mfa_last_step * STEP_SECONDS)
    replayed = http.post(
        "/api/auth/mfa/verify", headers={"X-CSRF-Token": csrf}, json={"code": enrolment_code}
    )
    assert replayed.status_code == 401
    code = helpers.next_code(owner.secret)
    assert (
        http.post(
            "/api/auth/mfa/verify", headers={"X-CSRF-Token": csrf}, json={"code": code}
        ).status_code
        == 200
    )
    other = helpers.client()
    csrf2 = other.post(
        "/api/auth/login", json={"email": owner.email, "password": owner.password}
    ).json()["csrf_token"]
    again = other.post("/api/auth/mfa/verify", headers={"X-CSRF-Token": csrf2}, json={"code": code})
    assert again.status_code == 401


@pytest.mark.claim("P28")
def test_recovery_codes_work_once_each(stack):
    owner = helpers.new_owner()
    code = owner.recovery_codes[0]
    assert len(owner.recovery_codes) == 10 and len(set(owner.recovery_codes)) == 10
    for attempt, expected in ((1, 200), (2, 401)):
        http = helpers.client()
        csrf = http.post(
            "/api/auth/login", json={"email": owner.email, "password": owner.password}
        ).json()["csrf_token"]
        response = http.post(
            "/api/auth/mfa/verify", headers={"X-CSRF-Token": csrf}, json={"recovery_code": code}
        )
        assert response.status_code == expected, (attempt, response.text)


@pytest.mark.claim("P28")
def test_owner_resets_a_subaccounts_mfa_and_it_must_enrol_again(stack):
    owner = helpers.new_owner()
    sub = helpers.new_subaccount(owner, [Permission.polls])
    assert sub.get("/api/auth/session").status_code == 200
    assert owner.post(f"/api/accounts/{sub.account_id}/mfa-reset").status_code == 200
    assert sub.get("/api/auth/session").status_code == 401, "reset ends its sessions"
    again = helpers.enrol(sub.email, sub.password)
    assert again.secret != sub.secret


def test_sessions_end_after_idle_and_absolute_timeouts(stack):
    owner = helpers.new_owner()
    settings = get_settings()
    assert owner.get("/api/auth/session").status_code == 200
    clock.advance(settings.session_idle_seconds + 1)
    assert owner.get("/api/auth/session").status_code == 401
    active = helpers.sign_in(owner.email, owner.password, owner.secret)
    step = settings.session_idle_seconds // 2
    for _ in range(settings.session_absolute_seconds // step - 1):
        clock.advance(step)
        assert active.get("/api/auth/session").status_code == 200
    clock.advance(2 * step)
    assert active.get("/api/auth/session").status_code == 401


@pytest.mark.claim("P28")
def test_disabling_an_account_ends_its_sessions(stack):
    owner = helpers.new_owner()
    sub = helpers.new_subaccount(owner, [Permission.moderation])
    assert sub.get("/api/webcasts").status_code == 200
    assert (
        owner.patch(f"/api/accounts/{sub.account_id}", json={"disabled": True}).status_code == 200
    )
    assert sub.get("/api/webcasts").status_code == 401
    login = helpers.client().post(
        "/api/auth/login", json={"email": sub.email, "password": sub.password}
    )
    assert login.status_code == 401


@pytest.mark.claim("P28")
def test_password_change_signs_out_other_sessions(stack):
    owner = helpers.new_owner()
    second = helpers.sign_in(owner.email, owner.password, owner.secret)
    new_password = "another long passphrase 2026"
    changed = owner.post(
        "/api/auth/password",
        json={"current_password": owner.password, "new_password": new_password},
    )
    assert changed.status_code == 200, changed.text
    owner.csrf = changed.json()["csrf_token"]
    assert owner.get("/api/auth/session").status_code == 200
    assert second.get("/api/auth/session").status_code == 401
    old = helpers.client().post(
        "/api/auth/login", json={"email": owner.email, "password": owner.password}
    )
    assert old.status_code == 401
    weak = owner.post(
        "/api/auth/password", json={"current_password": new_password, "new_password": "short"}
    )
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "new_password"


@pytest.mark.claim("P28")
def test_password_reset_by_mail_does_not_bypass_mfa(stack, mail_sink):
    owner = helpers.new_owner()
    http = helpers.client()
    asked = http.post("/api/auth/password-reset", json={"email": owner.email})
    unknown = http.post("/api/auth/password-reset", json={"email": helpers.unique_email()})
    assert asked.status_code == unknown.status_code == 202
    assert asked.json() == unknown.json()
    queue = queue_client("mail")
    messages = list(queue.receive_messages(max_messages=32, visibility_timeout=5))
    for message in messages:
        mail_service.handle(MailJob.model_validate_json(message.content))
        queue.delete_message(message)
    [mail] = mail_sink.to(owner.email)
    found = re.search(r"token=([A-Za-z0-9_%-]+)", mail.get_content())
    assert found, mail.get_content()
    token = found.group(1)
    new_password = "a fresh and long passphrase"
    done = http.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": new_password}
    )
    assert done.status_code == 204, done.text
    reused = http.post(
        "/api/auth/password-reset/confirm",
        json={"token": token, "new_password": "yet another passphrase!"},
    )
    assert reused.status_code == 422 and reused.json()["errors"][0]["field"] == "token"
    assert owner.get("/api/auth/session").status_code == 401, "reset ends existing sessions"
    login = http.post("/api/auth/login", json={"email": owner.email, "password": new_password})
    assert login.status_code == 200 and login.json()["stage"] == "mfa"
    assert http.get("/api/webcasts").status_code == 401


@pytest.mark.claim("P28")
def test_repeated_wrong_passwords_lock_the_account_with_back_off(stack):
    owner = helpers.new_owner()
    http = helpers.client()
    limit = get_settings().login_max_failures
    for _ in range(limit):
        response = http.post(
            "/api/auth/login", json={"email": owner.email, "password": "wrong password!!"}
        )
        assert response.status_code == 401
    locked = http.post("/api/auth/login", json={"email": owner.email, "password": owner.password})
    assert locked.status_code == 429
    retry_after = int(locked.headers["Retry-After"])
    assert retry_after > 0
    clock.advance(retry_after + 1)
    assert (
        http.post(
            "/api/auth/login", json={"email": owner.email, "password": owner.password}
        ).status_code
        == 200
    )


@pytest.mark.claim("P28")
def test_concurrent_wrong_passwords_are_each_counted_and_locked_out(stack):
    email = helpers.unique_email()
    helpers.accounts.create_tenant(
        name="C", owner_email=email, owner_name="O", owner_password=helpers.PASSWORD
    )
    http = helpers.client()
    attempts, limit = 25, get_settings().login_max_failures

    def guess(_: int) -> int:
        body = {"email": email, "password": "wrong password!!"}
        return int(http.post("/api/auth/login", json=body).status_code)

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        statuses = list(pool.map(guess, range(attempts)))
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(429) >= attempts - limit, statuses
    [(account_key, _), *_] = throttle.keys(email=email, client_ip=None).limits
    counted = throttles.get(account_key)
    assert counted is not None and counted.failures == attempts
    clock.advance(get_settings().login_lock_max_seconds + 1)


def test_a_counter_deleted_between_read_and_write_is_counted_anew(stack, monkeypatch):
    key = f"account:{helpers.unique_email()}"
    throttles.upsert(Throttle(id=key, failures=3, first_failure_at=clock.now()))
    read = throttles.get
    reads: list[Throttle | None] = []

    def read_then_lose_to_a_success(item_id: str) -> Throttle | None:
        found = read(item_id)
        if not reads:
            throttles.delete(item_id)  # a sign-in succeeded meanwhile
        reads.append(found)
        return found

    monkeypatch.setattr(throttles, "get", read_then_lose_to_a_success)
    throttle.attempt(throttle.Counters(limits=[(key, 5)]))
    counted = read(key)
    assert len(reads) == 2 and counted is not None and counted.failures == 1


@pytest.mark.claim("P28")
def test_one_client_address_guessing_many_accounts_is_locked(stack, monkeypatch):
    monkeypatch.setattr(get_settings(), "login_ip_max_failures", 4)
    http = helpers.client()
    statuses = [
        http.post(
            "/api/auth/login",
            json={"email": helpers.unique_email(), "password": "guess guess guess"},
        ).status_code
        for _ in range(6)
    ]
    assert statuses[:4] == [401] * 4
    assert statuses[4:] == [429, 429]
    clock.advance(get_settings().login_lock_max_seconds + 1)


@pytest.mark.claim("P28")
@pytest.mark.claim("P31")
def test_the_client_address_comes_from_front_door_only_with_its_id(stack):
    email = helpers.unique_email()
    helpers.accounts.create_tenant(
        name="C", owner_email=email, owner_name="O", owner_password=helpers.PASSWORD
    )
    owner = find_by_email(email)
    assert owner is not None
    started = clock.now()
    socket = "198.51.100.77"
    behind_socket = helpers.client(socket)
    # Azure Functions hands the app no socket address at all.
    behind_functions = TestClient(
        create_app(),
        base_url="https://testserver",
        raise_server_exceptions=False,
        client=None,  # type: ignore[arg-type]
    )
    front_door = {"X-Azure-FDID": "7d5d3c1e-front-door", "X-Azure-ClientIP": "203.0.113.10"}
    cases = {
        "front-door-1": (behind_socket, front_door, "203.0.113.10"),
        "front-door-2": (behind_functions, front_door, "203.0.113.10"),
        "wrong-fdid-3": (behind_socket, front_door | {"X-Azure-FDID": "other"}, socket),
        "no-fdid-0004": (behind_socket, {"X-Azure-ClientIP": "203.0.113.11"}, socket),
        "no-socket-05": (behind_functions, {"X-Azure-ClientIP": "203.0.113.12"}, None),
        "bad-client-6": (behind_functions, front_door | {"X-Azure-ClientIP": "x"}, None),
    }
    with helpers.changed_settings(
        front_door_id="7d5d3c1e-front-door", login_max_failures=len(cases) + 1
    ):
        for request_id, (http, headers, _) in cases.items():
            refused = http.post(
                "/api/auth/login",
                json={"email": email, "password": "wrong password!!"},
                headers=headers | {"X-Request-Id": request_id},
            )
            assert refused.status_code == 401, refused.text
    # Only this test's month: reading every month since January costs seconds.
    recent = AuditFilter(
        since=clock.utc_iso(started), entity_id=owner.id, action="sign_in.password"
    )
    logged = {
        e.request_id: e.client_ip
        for e in audit_service.iterate_entries(tenant_id=owner.tenant_id, query=recent)
    }
    assert {key: logged.get(key) for key in cases} == {
        key: address for key, (_, _, address) in cases.items()
    }
    counted = {
        address: throttles.get(throttle.keys(email="", client_ip=address).limits[1][0])
        for address in ("203.0.113.10", "203.0.113.11", "203.0.113.12", socket)
    }
    assert {address: c.failures if c else 0 for address, c in counted.items()} == {
        "203.0.113.10": 2,
        "203.0.113.11": 0,
        "203.0.113.12": 0,
        socket: 2,
    }


@pytest.mark.claim("P28")
def test_state_changing_requests_need_the_csrf_token(stack):
    owner = helpers.new_owner()
    body = {"title": "CSRF", "slug": "csrf"}
    missing = owner.client.post("/api/webcasts", json=body)
    wrong = owner.client.post("/api/webcasts", json=body, headers={"X-CSRF-Token": "nope"})
    foreign = owner.client.post(
        "/api/webcasts", json=body, headers=owner.headers() | {"Origin": "https://evil.example"}
    )
    assert (missing.status_code, wrong.status_code, foreign.status_code) == (403, 403, 403)
    assert owner.post("/api/webcasts", json=body).status_code == 201


@pytest.mark.claim("P28")
def test_sign_in_attempts_are_logged_without_personal_values(stack):
    owner = helpers.new_owner()
    http = helpers.client()
    http.post("/api/auth/login", json={"email": owner.email, "password": "wrong password!!"})
    logged = helpers.audit_entries(owner.tenant_id, entity_id=owner.account_id)
    outcomes = {(e.action, e.outcome) for e in logged}
    assert ("sign_in.password", "failure") in outcomes
    assert ("sign_in.password", "success") in outcomes
    assert ("sign_in.mfa", "success") in outcomes or (
        "mfa.enrolment_confirm",
        "success",
    ) in outcomes
    dumped = json.dumps([e.model_dump(mode="json") for e in logged])
    assert owner.email not in dumped and "Olivia" not in dumped


def test_the_purge_timer_removes_expired_admin_and_viewer_sessions(stack):
    owner = helpers.new_owner("purge")
    webcast = owner.post("/api/webcasts", json={"title": "P", "slug": "purge"}).json()
    viewer = helpers.client()
    assert viewer.post(f"/api/w/{webcast['id']}/enter").status_code == 200
    admin_id = hashlib.sha256(owner.client.cookies["__Host-wcadmin"].encode()).hexdigest()
    viewer_id = hashlib.sha256(viewer.cookies["__Host-wcviewer"].encode()).hexdigest()
    assert sessions.get(admin_id) is not None and viewer_sessions.get(viewer_id) is not None
    clock.advance(get_settings().participant_session_idle_seconds + 1)
    assert purge_expired() >= 2
    assert sessions.get(admin_id) is None and viewer_sessions.get(viewer_id) is None
