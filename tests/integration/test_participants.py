"""Forms, participant management and the ways viewers get in (P03, P10-P14, P19, P33)."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from functions.api.viewer_deps import VIEWER_COOKIE
from shared import clock
from shared.audit.models import SYSTEM_ACTOR
from shared.auth.models import Permission
from shared.clients import cosmos_container
from shared.config import get_settings
from shared.participants import access, service
from shared.participants import sessions as viewer_sessions
from shared.participants.models import ParticipantInput, ParticipantLogin, ParticipantView
from shared.participants.repository import get_form, login_id, logins, participants
from shared.webcasts.repository import find_webcast
from tests import helpers
from tests.integration.test_mail import drain, links_in, text_of

FORM: dict[str, list[dict[str, Any]]] = {
    "fields": [
        {"id": "welcome", "type": "display_text", "label": "Welcome!"},
        {"id": "first_name", "type": "short_text", "label": "First name", "required": True},
        {"id": "last_name", "type": "short_text", "label": "Last name", "required": True},
        {"id": "company", "type": "short_text", "label": "Company"},
        {
            "id": "privacy",
            "type": "consent",
            "label": "I accept the privacy notice (v1)",
            "required": True,
        },
    ]
}


def _participant_count(webcast_id: str) -> int:
    return len(
        list(
            cosmos_container("participants").query_items(
                "SELECT c.id FROM c WHERE c.webcast_id = @w",
                parameters=[{"name": "@w", "value": webcast_id}],
                partition_key=webcast_id,
            )
        )
    )


@pytest.mark.claim("P19")
@pytest.mark.claim("P33")
def test_a_new_webcast_collects_and_ties_nothing_until_the_customer_says_so(stack):
    owner = helpers.new_owner("defaults")
    webcast_id = helpers.new_webcast(owner, "defaults")
    webcast = owner.get(f"/api/webcasts/{webcast_id}").json()
    assert webcast["access_mode"] == "public"
    assert webcast["admit_before_confirmation"] is False, "confirm the address first"
    assert not any(webcast["privacy"].values())
    assert owner.get(f"/api/webcasts/{webcast_id}/form").json()["fields"] == []
    viewer = helpers.client()
    assert viewer.post(f"/api/w/{webcast_id}/enter").status_code == 200
    assert _participant_count(webcast_id) == 0


@pytest.mark.claim("P13")
def test_a_public_webcast_runs_without_any_participant_record(stack):
    owner = helpers.new_owner("public")
    webcast_id = helpers.new_webcast(owner, "open-house")
    viewer = helpers.client()
    info = viewer.get(f"/api/w/{webcast_id}")
    assert info.status_code == 200 and info.json()["access_mode"] == "public"
    assert viewer.get(f"/api/w/{webcast_id}/me").status_code == 403
    entered = viewer.post(f"/api/w/{webcast_id}/enter")
    assert entered.status_code == 200 and entered.json()["participant_id"] is None
    assert viewer.get(f"/api/w/{webcast_id}/me").json() == {
        "webcast_id": webcast_id,
        "participant_id": None,
    }
    refused = viewer.post(
        f"/api/w/{webcast_id}/registrations",
        headers={"X-CSRF-Token": entered.json()["csrf_token"]},
        json={"email": helpers.unique_email(), "answers": {}},
    )
    assert refused.status_code == 403
    assert _participant_count(webcast_id) == 0


@pytest.mark.claim("P10")
def test_the_form_builder_keeps_answers_of_removed_fields_readable(stack):
    owner = helpers.new_owner("forms")
    webcast_id = helpers.new_webcast(
        owner, "forms", access_mode="registration", admit_before_confirmation=True
    )
    saved = owner.request("PUT", f"/api/webcasts/{webcast_id}/form", json=FORM)
    assert saved.status_code == 200, saved.text
    viewer = helpers.client()
    public = viewer.get(f"/api/w/{webcast_id}").json()
    assert [f["id"] for f in public["registration_fields"]] == [f["id"] for f in FORM["fields"]]
    registered = viewer.post(
        f"/api/w/{webcast_id}/registrations",
        json={
            "email": helpers.unique_email("reg"),
            "answers": {
                "first_name": "Anna",
                "last_name": "Müller",
                "company": "ACME",
                "privacy": True,
            },
        },
    )
    assert registered.status_code == 202, registered.text
    participant_id = registered.json()["participant_id"]
    fewer = {"fields": [f for f in FORM["fields"] if f["id"] != "company"]}
    assert owner.request("PUT", f"/api/webcasts/{webcast_id}/form", json=fewer).status_code == 200
    form = owner.get(f"/api/webcasts/{webcast_id}/form").json()["fields"]
    assert {f["id"]: f["removed"] for f in form}["company"] is True
    stored = owner.get(f"/api/webcasts/{webcast_id}/participants/{participant_id}").json()
    assert stored["answers"]["company"] == "ACME"
    assert "company" not in [
        f["id"] for f in viewer.get(f"/api/w/{webcast_id}").json()["registration_fields"]
    ]
    changed_type = {"fields": [{**FORM["fields"][1], "type": "email"}]}
    refused = owner.request("PUT", f"/api/webcasts/{webcast_id}/form", json=changed_type)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "fields.first_name.type"
    backreference = {"fields": [{**FORM["fields"][1], "pattern": r"(a)\1"}]}
    refused = owner.request("PUT", f"/api/webcasts/{webcast_id}/form", json=backreference)
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["field"] == "body.fields.0.pattern" and "RE2" in error["reason"]
    coded = {"fields": [{"id": "code", "type": "short_text", "label": "C", "pattern": "(a+)+b"}]}
    assert owner.request("PUT", f"/api/webcasts/{webcast_id}/form", json=coded).status_code == 200
    [public_field] = viewer.get(f"/api/w/{webcast_id}").json()["registration_fields"]
    assert public_field["id"] == "code" and public_field["pattern"] is None, "server side only"
    wrong = helpers.client().post(
        f"/api/w/{webcast_id}/registrations",
        json={"email": helpers.unique_email("re2"), "answers": {"code": "a" * 400}},
    )
    assert wrong.status_code == 422, wrong.text
    assert [e["field"] for e in wrong.json()["errors"]] == ["answers.code"]


def _register(http: TestClient, webcast_id: str, email: str, **body: Any) -> httpx.Response:
    return http.post(f"/api/w/{webcast_id}/registrations", json={"email": email, **body})


def _signed_in_by_mail(
    mail_sink: Any,
    webcast_id: str,
    email: str,
    session: tuple[TestClient, str] | None = None,
    **body: str,
) -> TestClient:
    """A client signed in with the personal link of the latest mail to `email`: a new one,
    or one that holds a session (with its CSRF token)."""
    drain()
    token = links_in(mail_sink.to(email)[-1])[""]
    http, csrf = session or (helpers.client(), "")
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    entered = http.post(f"/api/w/{webcast_id}/link", json={"token": token, **body}, headers=headers)
    assert entered.status_code == 200, entered.text
    return http


ANSWERS = {"first_name": "Anna", "last_name": "Müller", "privacy": True}


@pytest.fixture(scope="module")
def owner(stack: Any) -> helpers.Admin:
    """One customer for the registration tests (each makes webcasts of its own)."""
    return helpers.new_owner("registrations")


CHECK_YOUR_MAIL = {"status": "check-your-mail", "participant_id": None, "csrf_token": None}


@pytest.mark.claim("P10")
@pytest.mark.claim("P12")
@pytest.mark.claim("P14")
def test_self_registration_with_required_fields_and_consent_is_confirmed_by_mail(owner, mail_sink):
    webcast_id = helpers.new_webcast(owner, "launch", access_mode="registration")
    owner.request("PUT", f"/api/webcasts/{webcast_id}/form", json=FORM)
    viewer = helpers.client()
    email = helpers.unique_email("anna")
    incomplete = _register(viewer, webcast_id, email, answers={"first_name": "Anna"})
    assert incomplete.status_code == 422
    assert {e["field"] for e in incomplete.json()["errors"]} == {
        "answers.last_name",
        "answers.privacy",
    }
    password = "Anna-chose-this-1"
    done = _register(viewer, webcast_id, email, answers=ANSWERS, password=password)
    assert done.status_code == 202, done.text
    assert done.json() == {"webcast_id": webcast_id, **CHECK_YOUR_MAIL}
    assert "set-cookie" not in done.headers, "no way in before the address is confirmed"
    assert viewer.get(f"/api/w/{webcast_id}/me").status_code == 403
    early = helpers.client().post(
        f"/api/w/{webcast_id}/login", json={"login": email, "password": password}
    )
    assert early.status_code == 401, "an unconfirmed registration cannot sign in"

    # The registrant confirms with the password she chose, so it stays hers.
    confirmed = _signed_in_by_mail(mail_sink, webcast_id, email, password=password)
    me = confirmed.get(f"/api/w/{webcast_id}/me").json()
    assert me["name"] == "Anna Müller" and me["has_password"] is True and me["confirmed"]
    [consent] = me["consents"]
    assert consent["text"] == "I accept the privacy notice (v1)" and consent["given_at"]
    stored = participants.get(tenant_id=owner.tenant_id, partition_key=webcast_id, item_id=me["id"])
    assert stored is not None and stored.password_hash
    assert (
        stored.password_hash.startswith("$argon2id$") and password not in stored.model_dump_json()
    )

    returning = helpers.client()
    assert returning.get(f"/api/w/{webcast_id}/me").status_code == 403
    wrong = returning.post(
        f"/api/w/{webcast_id}/login", json={"login": email, "password": "not-the-password"}
    )
    assert wrong.status_code == 401
    signed_in = returning.post(
        f"/api/w/{webcast_id}/login", json={"login": email, "password": password}
    )
    assert signed_in.status_code == 200
    assert returning.get(f"/api/w/{webcast_id}/me").json()["id"] == me["id"]
    other_webcast = helpers.new_webcast(owner, "other", access_mode="registration")
    assert returning.get(f"/api/w/{other_webcast}/me").status_code == 403


@pytest.mark.claim("P10")
@pytest.mark.claim("P12")
@pytest.mark.claim("P14")
@pytest.mark.claim("P29")
def test_registering_an_address_that_exists_answers_like_a_new_one_and_takes_nothing(
    owner, mail_sink
):
    for admit in (False, True):
        webcast_id = helpers.new_webcast(
            owner,
            f"known-{admit}".lower(),
            access_mode="registration",
            admit_before_confirmation=admit,
        )
        owner.request("PUT", f"/api/webcasts/{webcast_id}/form", json=FORM)
        known = owner.post(
            f"/api/webcasts/{webcast_id}/participants",
            json={
                "email": helpers.unique_email("known"),
                "password": "Known-Password-42",
                "answers": {"first_name": "Kim", "last_name": "Known", "company": "Secret AG"},
            },
        ).json()
        fresh, again = helpers.client(), helpers.client()
        body = {"answers": ANSWERS, "password": "Attacker-Pass-99"}
        fresh_email = helpers.unique_email("fresh")
        names = [f"user-{admit}-{n}-{known['id'][:8]}" for n in ("new", "known")]
        new_one = _register(fresh, webcast_id, fresh_email, username=names[0], **body)
        existing = _register(again, webcast_id, known["email"].upper(), username=names[1], **body)
        assert new_one.status_code == existing.status_code == 202, existing.text
        shape = {k: type(v) for k, v in new_one.json().items()}
        assert {k: type(v) for k, v in existing.json().items()} == shape
        assert (
            bool(new_one.headers.get("set-cookie"))
            is bool(existing.headers.get("set-cookie"))
            is admit
        )
        if admit:
            me = again.get(f"/api/w/{webcast_id}/me").json()
            assert me["id"] != known["id"] and me["confirmed"] is False
            assert "Secret AG" not in str(me) and me["name"] == "Anna Müller"
        else:
            assert existing.json() == {"webcast_id": webcast_id, **CHECK_YOUR_MAIL}
        # The password chosen at registration works for neither until a confirmation, so
        # trying it does not tell either.
        for email in (known["email"], fresh_email):
            refused = helpers.client().post(
                f"/api/w/{webcast_id}/login",
                json={"login": email, "password": "Attacker-Pass-99"},
            )
            assert refused.status_code == 401, email
        for name in names:  # the user names asked for are taken alike
            taken = _register(
                helpers.client(), webcast_id, helpers.unique_email(), username=name, answers=ANSWERS
            )
            assert taken.status_code == 409, (name, taken.text)
        holder = _signed_in_by_mail(mail_sink, webcast_id, known["email"])
        mail = mail_sink.to(known["email"])[-1]
        assert "bereits angemeldet" in text_of(mail), "registered already"
        mine = holder.get(f"/api/w/{webcast_id}/me").json()
        assert mine["id"] == known["id"] and mine["answers"]["company"] == "Secret AG"
        assert mine["answers"]["first_name"] == "Kim", "nothing of the registration merged in"
        assert (
            helpers.client()
            .post(
                f"/api/w/{webcast_id}/login",
                json={"login": known["email"], "password": "Known-Password-42"},
            )
            .status_code
            == 200
        )


@pytest.mark.claim("P10")
@pytest.mark.claim("P29")
@pytest.mark.claim("P35")
def test_a_trusted_write_replaces_an_unconfirmed_self_registration_and_ends_its_sessions(
    owner, mail_sink
):
    webcast_id = helpers.new_webcast(
        owner, "replace", access_mode="registration", admit_before_confirmation=True
    )
    credential = owner.post(
        f"/api/webcasts/{webcast_id}/server-credentials", json={"label": "CRM"}
    ).json()
    victims = [helpers.unique_email(f"victim-{by}") for by in ("server", "admin", "import")]
    attackers = []
    for email in victims:
        attacker = helpers.client()
        squatted = _register(attacker, webcast_id, email, password="Attacker-Pass-99")
        assert squatted.status_code == 202, squatted.text
        assert attacker.get(f"/api/w/{webcast_id}/me").json()["confirmed"] is False
        attackers.append((attacker, squatted.json()["participant_id"]))
    by_server = helpers.client().put(
        f"/api/server/webcasts/{webcast_id}/participants",
        json={"email": victims[0]},
        headers={"Authorization": f"Bearer {credential['token']}"},
    )
    by_admin = owner.post(f"/api/webcasts/{webcast_id}/participants", json={"email": victims[1]})
    assert by_server.status_code == 201, by_server.text
    assert by_server.json()["created"] is True
    assert by_admin.status_code == 201, by_admin.text
    webcast = find_webcast(webcast_id)
    assert webcast is not None
    with ThreadPoolExecutor(2) as pool:
        [by_import] = service.import_participants(
            webcast=webcast,
            rows=[ParticipantInput(email=victims[2])],
            actor=SYSTEM_ACTOR,
            form=get_form(tenant_id=owner.tenant_id, webcast_id=webcast_id),
            pool=pool,
        )
    assert isinstance(by_import, service.Saved) and by_import.created
    for (attacker, squatter_id), written in zip(
        attackers,
        (
            by_server.json()["participant"],
            by_admin.json(),
            ParticipantView.of(by_import.participant).model_dump(),
        ),
        strict=True,
    ):
        assert written["id"] != squatter_id and written["confirmed"] is True
        assert attacker.get(f"/api/w/{webcast_id}/me").status_code == 403, "session ended"
        assert (
            owner.get(f"/api/webcasts/{webcast_id}/participants/{squatter_id}").status_code == 404
        )
    for email in victims:
        login = helpers.client().post(
            f"/api/w/{webcast_id}/login", json={"login": email, "password": "Attacker-Pass-99"}
        )
        assert login.status_code == 401, "the squatter's password died with its record"
    replaced = helpers.audit_entries(owner.tenant_id, action="participant.replace")
    assert {s for _, s in attackers} <= {i for e in replaced for i in e.entity_ids or []}


@pytest.mark.claim("P10")
@pytest.mark.claim("P29")
def test_confirming_ones_own_registration_pushes_out_an_earlier_unconfirmed_one(owner, mail_sink):
    webcast_id = helpers.new_webcast(
        owner, "first", access_mode="registration", admit_before_confirmation=True
    )
    email = helpers.unique_email("late")
    attacker = helpers.client()
    squatted = _register(attacker, webcast_id, email, password="Attacker-Pass-99")
    assert squatted.status_code == 202
    drain()
    owners_mail = len(mail_sink.to(email))
    # The squatter's mail took the address's slot (ADR 0024): the owner registers after it.
    clock.advance(get_settings().mail_slot_seconds + 1)
    victim = helpers.client()
    registered = _register(victim, webcast_id, email, password="Victim-Pass-77")
    assert registered.status_code == 202
    assert registered.json()["participant_id"] != squatted.json()["participant_id"]
    # Confirmed in the session that registered, so the password chosen there stays.
    confirmed = _signed_in_by_mail(
        mail_sink, webcast_id, email, (victim, registered.json()["csrf_token"])
    )
    assert len(mail_sink.to(email)) == owners_mail + 1
    me = confirmed.get(f"/api/w/{webcast_id}/me").json()
    assert me["id"] == registered.json()["participant_id"] and me["confirmed"] is True
    assert attacker.get(f"/api/w/{webcast_id}/me").status_code == 403
    assert victim.get(f"/api/w/{webcast_id}/me").json()["id"] == me["id"]
    for password, status in (("Attacker-Pass-99", 401), ("Victim-Pass-77", 200)):
        login = helpers.client().post(
            f"/api/w/{webcast_id}/login", json={"login": email, "password": password}
        )
        assert login.status_code == status, password


@pytest.mark.claim("P11")
@pytest.mark.claim("P12")
@pytest.mark.claim("P14")
def test_login_mode_admits_only_pre_registered_people_with_predefined_passwords(stack):
    owner = helpers.new_owner("login")
    webcast_id = helpers.new_webcast(
        owner, "board", access_mode="login", participant_passwords="predefined"
    )
    short = owner.post(
        f"/api/webcasts/{webcast_id}/participants",
        json={"username": "b.meier", "password": "short"},
    )
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "password"
    created = owner.post(
        f"/api/webcasts/{webcast_id}/participants",
        json={
            "username": "b.meier",
            "email": helpers.unique_email("meier"),
            "password": "Vorstand-2026-Q4",
        },
    )
    assert created.status_code == 201 and created.json()["generated_password"] is None
    viewer = helpers.client()
    assert (
        viewer.post(
            f"/api/w/{webcast_id}/registrations",
            json={"email": helpers.unique_email(), "answers": {}},
        ).status_code
        == 403
    )
    assert (
        viewer.post(
            f"/api/w/{webcast_id}/login", json={"login": "nobody", "password": "Vorstand-2026-Q4"}
        ).status_code
        == 401
    )
    response = viewer.post(
        f"/api/w/{webcast_id}/login", json={"login": "B.Meier", "password": "Vorstand-2026-Q4"}
    )
    assert response.status_code == 200
    [cookie_header] = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    assert cookie_header.startswith(f"{VIEWER_COOKIE}=")
    assert viewer.get(f"/api/w/{webcast_id}/me").json()["username"] == "b.meier"
    owner.patch(
        f"/api/webcasts/{webcast_id}/participants/{created.json()['id']}",
        json={"status": "disabled"},
    )
    assert (
        helpers.client()
        .post(
            f"/api/w/{webcast_id}/login", json={"login": "b.meier", "password": "Vorstand-2026-Q4"}
        )
        .status_code
        == 401
    )


@pytest.mark.claim("P11")
def test_generated_passwords_are_shown_once_and_stored_as_argon2id(stack):
    owner = helpers.new_owner("generated")
    webcast_id = helpers.new_webcast(owner, "generated", access_mode="login")
    created = owner.post(
        f"/api/webcasts/{webcast_id}/participants", json={"email": helpers.unique_email("gen")}
    ).json()
    password = created["generated_password"]
    assert password and len(password) == 19
    fetched = owner.get(f"/api/webcasts/{webcast_id}/participants/{created['id']}").json()
    assert "generated_password" not in fetched and password not in str(fetched)
    listed = owner.get(f"/api/webcasts/{webcast_id}/participants").text
    assert password not in listed
    assert (
        helpers.client()
        .post(f"/api/w/{webcast_id}/login", json={"login": created["email"], "password": password})
        .status_code
        == 200
    )


@pytest.mark.claim("P03")
def test_participant_managers_create_edit_search_page_and_delete(stack):
    owner = helpers.new_owner("manage")
    webcast_id = helpers.new_webcast(owner, "manage", access_mode="registration")
    owner.request("PUT", f"/api/webcasts/{webcast_id}/form", json=FORM)
    manager = helpers.new_subaccount(owner, [Permission.participants])
    base = f"/api/webcasts/{webcast_id}/participants"
    names = ["Zoë Adler", "Jörg Becker", "Ana Costa", "Ben Dietrich", "Eva Engel"]
    ids = []
    for name in names:
        first, last = name.split()
        created = manager.post(
            base,
            json={
                "email": helpers.unique_email(last.lower()),
                "answers": {"first_name": first, "last_name": last},
            },
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    found = manager.get(base, params={"search": "jörg"}).json()["items"]
    assert [p["name"] for p in found] == ["Jörg Becker"]
    by_mail = manager.get(base, params={"search": "costa-"}).json()["items"]
    assert [p["name"] for p in by_mail] == ["Ana Costa"]
    seen, params = [], {"limit": 2}
    while True:
        page = manager.get(base, params=params).json()
        seen += [p["id"] for p in page["items"]]
        if not page["continuation"]:
            break
        params["continuation"] = page["continuation"]
    assert sorted(seen) == sorted(ids)
    edited = manager.patch(
        f"{base}/{ids[0]}", json={"answers": {"first_name": "Zoe", "last_name": "Adler"}}
    )
    assert edited.status_code == 200 and edited.json()["name"] == "Zoe Adler"
    bad = manager.patch(f"{base}/{ids[0]}", json={"answers": {"shoe_size": 44}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "answers.shoe_size"
    email = edited.json()["email"]
    assert manager.delete(f"{base}/{ids[0]}").status_code == 204
    assert manager.get(f"{base}/{ids[0]}").status_code == 404
    recreated = manager.post(base, json={"email": email})
    assert recreated.status_code == 201, "the deleted participant's e-mail is free again"
    logged = helpers.audit_entries(owner.tenant_id, entity_type="participant")
    assert {"participant.create", "participant.update", "participant.delete"} <= {
        e.action for e in logged
    }
    assert all(e.actor_id == manager.account_id for e in logged)


@pytest.mark.claim("P08")
@pytest.mark.claim("P14")
def test_personal_links_sign_in_once_and_deleting_a_participant_ends_its_access(stack):
    owner = helpers.new_owner("links")
    webcast_id = helpers.new_webcast(owner, "invite-only", access_mode="invitation")
    created = owner.post(
        f"/api/webcasts/{webcast_id}/participants", json={"email": helpers.unique_email("invitee")}
    ).json()
    participant = participants.get(
        tenant_id=owner.tenant_id, partition_key=webcast_id, item_id=created["id"]
    )
    assert participant is not None
    token = access.issue_link(participant=participant, single_use=True)
    viewer = helpers.client()
    entered = viewer.post(f"/api/w/{webcast_id}/link", json={"token": token})
    assert entered.status_code == 200 and entered.json()["participant_id"] == created["id"]
    assert viewer.get(f"/api/w/{webcast_id}/me").status_code == 200
    reused = helpers.client().post(f"/api/w/{webcast_id}/link", json={"token": token})
    assert reused.status_code == 422 and reused.json()["errors"][0]["field"] == "token"
    elsewhere = helpers.new_webcast(owner, "elsewhere", access_mode="invitation")
    other_token = access.issue_link(participant=participant, single_use=True)
    assert (
        helpers.client().post(f"/api/w/{elsewhere}/link", json={"token": other_token}).status_code
        == 422
    )
    assert (
        owner.delete(f"/api/webcasts/{webcast_id}/participants/{created['id']}").status_code == 204
    )
    assert viewer.get(f"/api/w/{webcast_id}/me").status_code == 403


@pytest.mark.claim("P25")
def test_one_viewer_session_holds_grants_for_several_webcasts_with_a_new_id_each_time(stack):
    owner = helpers.new_owner("multi")
    first = helpers.new_webcast(owner, "first")
    second = helpers.new_webcast(owner, "second")
    viewer = helpers.client()
    viewer.post(f"/api/w/{first}/enter")
    first_cookie = viewer.cookies.get(VIEWER_COOKIE)
    entered = viewer.post(f"/api/w/{second}/enter", headers={"X-CSRF-Token": "wrong"})
    assert entered.status_code == 403, "a session's state changes need its CSRF token"
    csrf = viewer.post(f"/api/w/{first}/enter", headers={"X-CSRF-Token": "x"}).status_code
    assert csrf == 403
    session = viewer_sessions.resolve(first_cookie)
    assert session is not None
    entered = viewer.post(f"/api/w/{second}/enter", headers={"X-CSRF-Token": session.csrf_token})
    assert entered.status_code == 200
    second_cookie = viewer.cookies.get(VIEWER_COOKIE)
    assert second_cookie and second_cookie != first_cookie
    assert viewer_sessions.resolve(first_cookie) is None, "the old id is gone"
    assert viewer.get(f"/api/w/{first}/me").status_code == 200
    assert viewer.get(f"/api/w/{second}/me").status_code == 200


def test_a_login_key_left_by_an_interrupted_write_is_taken_over(stack):
    owner = helpers.new_owner("orphan")
    webcast_id = helpers.new_webcast(owner, "orphan", access_mode="login")
    email = helpers.unique_email("orphan")
    orphan = ParticipantLogin(
        id=login_id(webcast_id=webcast_id, kind="email", value=email),
        tenant_id=owner.tenant_id,
        webcast_id=webcast_id,
        participant_id="never-stored",
    )
    logins.create(tenant_id=owner.tenant_id, item=orphan)
    created = owner.post(f"/api/webcasts/{webcast_id}/participants", json={"email": email})
    assert created.status_code == 201, created.text
    duplicate = owner.post(f"/api/webcasts/{webcast_id}/participants", json={"email": email})
    assert duplicate.status_code == 409


@pytest.mark.claim("P10")
@pytest.mark.claim("P29")
def test_a_password_chosen_by_a_stranger_dies_when_the_address_owner_confirms(owner, mail_sink):
    webcast_id = helpers.new_webcast(owner, "stranger", access_mode="registration")
    email = helpers.unique_email("owner-of-address")
    assert (
        _register(helpers.client(), webcast_id, email, password="Stranger-Pass-41").status_code
        == 202
    )
    # The address's owner uses the link, with a password that is not the stranger's.
    confirmed = _signed_in_by_mail(mail_sink, webcast_id, email, password="A-Guess-Of-Mine-7")
    assert confirmed.get(f"/api/w/{webcast_id}/me").json()["confirmed"] is True
    login = helpers.client().post(
        f"/api/w/{webcast_id}/login", json={"login": email, "password": "Stranger-Pass-41"}
    )
    assert login.status_code == 401, "the link proves the address, not who chose the password"
