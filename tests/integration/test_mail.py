"""Mail (P08): invitations with personal links, confirmations, reminders, password reset,
templates in German and English and the calendar file, through the real queue and SMTP sink."""

import json
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import azure.functions as func
import pytest
from icalendar import Calendar

from devtools import runner as runner_module
from devtools.runner import TriggerRunner
from shared import clock, jobs
from shared.accounts.signin import PASSWORD_RESET
from shared.auth.models import Permission
from shared.auth.repository import tokens
from shared.clients import queue_client
from shared.config import get_settings
from shared.ids import token_hash
from shared.mail import reminders
from shared.mail_queue import MailJob
from shared.participants import links
from shared.participants.self_service import PRIVACY
from tests import helpers

TOKEN = re.compile(r"/w/(?P<webcast>[0-9a-f]+)(?P<path>[a-z/-]*)#token=(?P<token>[A-Za-z0-9_%-]+)")


# -- helpers ----------------------------------------------------------------------------------


def _functions(name: str) -> list[func.Function]:
    return [f for f in runner_module.app_functions() if f.get_function_name() == name]


def drain() -> int:
    """Run the real send_mail function over the mail queue until it is empty (batch jobs
    queue more jobs, so one pass is not always enough); returns the messages handled."""
    runner = TriggerRunner(
        functions=_functions("send_mail"),
        visibility_timeout=5,
        retry_delay=0,
        watch_containers=(),
    )
    handled = 0
    for _ in range(200):
        counts = runner.run_once()
        handled += counts.received
        if counts.received == 0:
            return handled
    raise AssertionError("the mail queue did not run empty")


def queued_bodies() -> list[str]:
    return [
        m.content.decode() for m in queue_client("mail").peek_messages(max_messages=32) if m.content
    ]


def later(days: float = 30, hours: float = 0) -> datetime:
    moment = datetime.fromtimestamp(clock.now(), UTC) + timedelta(days=days, hours=hours)
    return moment.replace(second=0, microsecond=0)


def new_webcast(
    owner: helpers.Admin,
    *,
    language: str = "de",
    access_mode: str = "invitation",
    starts_at: datetime | None = None,
    title: str = "Hauptversammlung",
    schedule: bool = True,
) -> dict[str, Any]:
    start = starts_at or later().replace(hour=9, minute=0)
    body: dict[str, Any] = {
        "title": title,
        "slug": f"mail-{helpers.unique_email('s').split('@')[0]}",
        "language": language,
        "access_mode": access_mode,
    }
    if schedule:
        body["schedule"] = {
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "time_zone": "Europe/Berlin",
        }
    created = owner.post("/api/webcasts", json=body)
    assert created.status_code == 201, created.text
    webcast: dict[str, Any] = created.json()
    return webcast


def new_participant(owner: helpers.Admin, webcast_id: str, **extra: Any) -> dict[str, Any]:
    body = {"email": helpers.unique_email("viewer"), **extra}
    created = owner.post(f"/api/webcasts/{webcast_id}/participants", json=body)
    assert created.status_code == 201, created.text
    participant: dict[str, Any] = created.json()
    return participant


def text_of(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    content: str = body.get_content()
    return content


def html_of(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("html",))
    assert body is not None
    content: str = body.get_content()
    return content


def calendar_of(mail: EmailMessage) -> bytes | None:
    for part in mail.iter_attachments():
        if part.get_content_type() == "text/calendar":
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            return data
    return None


def links_in(mail: EmailMessage) -> dict[str, str]:
    """Tokens by page path ('' = sign-in link, '/privacy', '/password-reset')."""
    return {m.group("path"): m.group("token") for m in TOKEN.finditer(text_of(mail))}


def only_mail(sink: Any, address: str) -> EmailMessage:
    mails = sink.to(address)
    assert len(mails) == 1, [m["Subject"] for m in mails]
    mail: EmailMessage = mails[0]
    return mail


@pytest.fixture(scope="module")
def owner(stack: Any) -> helpers.Admin:
    return helpers.new_owner("mail")


# -- invitations ------------------------------------------------------------------------------


@pytest.mark.claim("P08")
def test_invitation_mail_brings_a_single_use_personal_link(owner, mail_sink):
    webcast = new_webcast(owner)
    invited = new_participant(owner, webcast["id"])
    other = new_participant(owner, webcast["id"])
    drain()

    queued = owner.post(
        f"/api/webcasts/{webcast['id']}/invitations", json={"participant_ids": [invited["id"]]}
    )
    assert queued.status_code == 202, queued.text
    assert queued.json()["queued"] == 1 and queued.json()["scope"] == "selected"
    [body] = [b for b in queued_bodies() if invited["id"] in b]
    assert "@" not in body and "token" not in body, "the queue holds ids only"
    assert json.loads(body)["kind"] == "participant_invitation"
    drain()

    mail = only_mail(mail_sink, invited["email"])
    assert mail_sink.to(other["email"]) == []
    assert mail["Subject"] == "Einladung: Hauptversammlung"
    found = links_in(mail)
    assert set(found) == {"", "/privacy"}, text_of(mail)
    assert f"/w/{webcast['id']}#token=" in html_of(mail)
    privacy = tokens.get(token_hash(found["/privacy"]))
    assert privacy is not None and privacy.purpose == PRIVACY
    assert privacy.account_id == f"{webcast['id']}/{invited['id']}"

    viewer = helpers.client()
    entered = viewer.post(f"/api/w/{webcast['id']}/link", json={"token": found[""]})
    assert entered.status_code == 200, entered.text
    assert entered.json()["participant_id"] == invited["id"]
    again = helpers.client().post(f"/api/w/{webcast['id']}/link", json={"token": found[""]})
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "token"
    entries = helpers.audit_entries(owner.tenant_id, action="mail.participant_invitation")
    assert [e.entity_id for e in entries if e.entity_id == invited["id"]] == [invited["id"]]


@pytest.mark.claim("P08")
def test_inviting_all_reaches_every_active_participant_once_with_the_chosen_link(owner, mail_sink):
    webcast = new_webcast(owner, language="en")
    active = [new_participant(owner, webcast["id"]) for _ in range(3)]
    disabled = new_participant(owner, webcast["id"])
    owner.patch(
        f"/api/webcasts/{webcast['id']}/participants/{disabled['id']}", json={"status": "disabled"}
    )
    drain()

    queued = owner.post(
        f"/api/webcasts/{webcast['id']}/invitations",
        json={"all": True, "single_use": False, "link_lifetime_seconds": 3600},
    )
    assert queued.status_code == 202, queued.text
    assert queued.json()["scope"] == "all" and queued.json()["queued"] is None
    drain()

    assert mail_sink.to(disabled["email"]) == []
    for participant in active:
        mail = only_mail(mail_sink, participant["email"])
        assert mail["Subject"] == "Invitation: Hauptversammlung"
        token = links_in(mail)[""]
        for _ in range(2):  # reusable
            entered = helpers.client().post(f"/api/w/{webcast['id']}/link", json={"token": token})
            assert entered.status_code == 200, entered.text
        stored = tokens.get(token_hash(token))
        assert stored is not None
        assert 3500 < stored.expires_at - clock.now() <= 3600


@pytest.mark.claim("P08")
def test_invitation_requests_are_checked_field_by_field(owner):
    webcast = new_webcast(owner)
    nobody = owner.post(f"/api/webcasts/{webcast['id']}/invitations", json={})
    assert nobody.status_code == 422 and nobody.json()["errors"][0]["field"] == "participant_ids"
    unknown = owner.post(
        f"/api/webcasts/{webcast['id']}/invitations", json={"participant_ids": ["nope"]}
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "participant_ids.0"
    short = owner.post(
        f"/api/webcasts/{webcast['id']}/invitations",
        json={"all": True, "link_lifetime_seconds": 10},
    )
    assert short.status_code == 422
    assert short.json()["errors"][0]["field"] == "body.link_lifetime_seconds"


@pytest.mark.claim("P08")
def test_the_same_mail_job_delivered_twice_sends_one_mail(owner, mail_sink):
    webcast = new_webcast(owner)
    participant = new_participant(owner, webcast["id"])
    drain()
    owner.post(
        f"/api/webcasts/{webcast['id']}/invitations", json={"participant_ids": [participant["id"]]}
    )
    [body] = [b for b in queued_bodies() if participant["id"] in b]
    queue_client("mail").send_message(body.encode())  # the queue delivers it a second time

    drain()
    # and once more straight into the trigger function, as a late redelivery
    [send_mail] = _functions("send_mail")
    send_mail.get_user_function()(
        message=func.QueueMessage(id="again", body=body.encode())  # type: ignore[no-untyped-call]
    )

    only_mail(mail_sink, participant["email"])
    job = MailJob.model_validate_json(body)
    marker = jobs.markers.get(f"mail:{job.idempotency_key}")
    assert marker is not None
    assert marker.webcast_id == webcast["id"], "the webcast's deletion removes its markers"


# -- calendar file and templates ----------------------------------------------------------------


@pytest.mark.claim("P08")
def test_the_calendar_attachment_is_a_valid_event_in_the_webcasts_time_zone(owner, mail_sink):
    start = later(days=40).replace(hour=9, minute=30)  # 10:30 in Berlin in winter
    webcast = new_webcast(owner, starts_at=start, title="Bilanz, Ausblick; Fragen")
    participant = new_participant(owner, webcast["id"])
    owner.post(
        f"/api/webcasts/{webcast['id']}/invitations", json={"participant_ids": [participant["id"]]}
    )
    drain()

    data = calendar_of(only_mail(mail_sink, participant["email"]))
    assert data is not None
    text = data.decode()
    local = start.astimezone(ZoneInfo("Europe/Berlin"))
    assert f"DTSTART;TZID=Europe/Berlin:{local:%Y%m%dT%H%M%S}" in text
    assert f"DTEND;TZID=Europe/Berlin:{local + timedelta(hours=1):%Y%m%dT%H%M%S}" in text
    assert "SUMMARY:Bilanz\\, Ausblick\\; Fragen" in text
    calendar = Calendar.from_ical(data)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    [event] = calendar.walk("VEVENT")
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Europe/Berlin"
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + timedelta(hours=1)
    assert str(event["UID"]).startswith(f"webcast-{webcast['id']}@")
    assert event.decoded("DTSTAMP").tzinfo is not None
    assert str(event["URL"]).endswith(f"/w/{webcast['id']}"), "the public page, no token"
    assert "token" not in text

    unscheduled = new_webcast(owner, schedule=False)
    other = new_participant(owner, unscheduled["id"])
    owner.post(
        f"/api/webcasts/{unscheduled['id']}/invitations", json={"participant_ids": [other["id"]]}
    )
    drain()
    assert calendar_of(only_mail(mail_sink, other["email"])) is None


@pytest.mark.claim("P08")
def test_texts_follow_the_webcast_language_and_can_be_changed(owner, mail_sink):
    german = new_webcast(owner, language="de", title="Quartalszahlen")
    english = new_webcast(owner, language="en", title="Quarterly figures")
    read = owner.get(f"/api/webcasts/{german['id']}/mail-templates")
    assert read.status_code == 200
    view = read.json()
    assert view["language"] == "de"
    kinds = {"invitation", "confirmation", "reminder", "password_reset", "erasure"}
    assert set(view["templates"]) == kinds
    assert view["templates"]["invitation"]["de"]["subject"].startswith("Einladung")
    assert view["templates"]["invitation"]["en"]["subject"].startswith("Invitation")
    assert "link" in view["variables"]["invitation"]

    saved = owner.request(
        "PUT",
        f"/api/webcasts/{english['id']}/mail-templates",
        json={
            "templates": {
                "invitation": {
                    "en": {
                        "subject": "Join us: {{ webcast_title }}",
                        "text": "Dear {{ name or 'guest' }},\n\n<b>join</b> here: {{ link }}\n",
                    }
                }
            }
        },
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["customized"]["invitation"] == ["en"]

    de_guest = new_participant(owner, german["id"])
    en_guest = new_participant(owner, english["id"])
    for webcast, guest in ((german, de_guest), (english, en_guest)):
        owner.post(
            f"/api/webcasts/{webcast['id']}/invitations", json={"participant_ids": [guest["id"]]}
        )
    drain()

    de_mail = only_mail(mail_sink, de_guest["email"])
    assert de_mail["Subject"] == "Einladung: Quartalszahlen"
    assert "Sie sind zum Webcast „Quartalszahlen“ eingeladen" in text_of(de_mail)
    assert "Ihre Daten einsehen, ändern oder Ihre Einwilligung widerrufen" in text_of(de_mail)
    en_mail = only_mail(mail_sink, en_guest["email"])
    assert en_mail["Subject"] == "Join us: Quarterly figures"
    assert text_of(en_mail).startswith("Dear guest,")
    assert "<b>join</b>" in text_of(en_mail), "the text part is plain text"
    assert "&lt;b&gt;join&lt;/b&gt;" in html_of(en_mail), "the HTML part is escaped"
    assert "withdraw your consent" in text_of(en_mail), "the data link stays in custom texts"
    assert set(links_in(en_mail)) == {"", "/privacy"}
    assert helpers.audit_entries(owner.tenant_id, action="mail.templates.update")


@pytest.mark.claim("P08")
def test_a_template_that_does_not_render_is_refused_naming_the_field(owner):
    webcast = new_webcast(owner)
    url = f"/api/webcasts/{webcast['id']}/mail-templates"
    unknown = owner.request(
        "PUT",
        url,
        json={"templates": {"reminder": {"de": {"subject": "Bald", "text": "{{ secret }}"}}}},
    )
    assert unknown.status_code == 422
    [error] = unknown.json()["errors"]
    assert error["field"] == "templates.reminder.de.text"
    assert "secret" in error["reason"]
    loops = "{% for a in name %}{% for b in name %}{% for c in name %}x{% endfor %}"
    looping = owner.request(
        "PUT",
        url,
        json={
            "templates": {
                "reminder": {"de": {"subject": "Bald", "text": loops + "{% endfor %}{% endfor %}"}}
            }
        },
    )
    assert looping.status_code == 422
    [error] = looping.json()["errors"]
    assert error["field"] == "templates.reminder.de.text" and "loops" in error["reason"]
    broken = owner.request(
        "PUT",
        url,
        json={
            "templates": {
                "invitation": {"en": {"subject": "{{ webcast_title", "text": "fine"}},
                "confirmation": {"de": {"subject": "ok", "text": "{{ name.__class__ }}"}},
            }
        },
    )
    assert broken.status_code == 422
    fields = [e["field"] for e in broken.json()["errors"]]
    assert fields == ["templates.invitation.en.subject", "templates.confirmation.de.text"]
    hidden = owner.request(
        "PUT",
        url,
        json={
            "templates": {
                "invitation": {
                    "de": {
                        "subject": "x",
                        "text": "{% if single_use %}a{% else %}{{ b }}{% endif %}",
                    }
                }
            }
        },
    )
    assert hidden.status_code == 422, "an unknown variable in a branch not taken counts too"
    assert owner.get(url).json()["customized"]["invitation"] == []


# -- confirmation, reminders, password reset ---------------------------------------------------


@pytest.mark.claim("P08")
def test_registration_is_confirmed_by_mail_with_a_sign_in_link_but_no_password(owner, mail_sink):
    webcast = new_webcast(owner, access_mode="registration", language="en")
    email = helpers.unique_email("registrant")
    registered = helpers.client().post(
        f"/api/w/{webcast['id']}/registrations", json={"email": email}
    )
    assert registered.status_code == 202, registered.text
    assert registered.json()["participant_id"] is None, "nobody is in before confirming"
    assert not any(email in b for b in queued_bodies())
    drain()

    mail = only_mail(mail_sink, email)
    assert mail["Subject"] == "Your registration: Hauptversammlung"
    assert "confirm your e-mail address" in text_of(mail)
    assert f"/w/{webcast['id']}/password-reset" in text_of(mail), "how to choose a password"
    assert calendar_of(mail) is not None
    token = links_in(mail)[""]
    entered = helpers.client().post(f"/api/w/{webcast['id']}/link", json={"token": token})
    assert entered.status_code == 200
    participant_id = entered.json()["participant_id"]
    confirmed = owner.get(f"/api/webcasts/{webcast['id']}/participants/{participant_id}")
    assert confirmed.json()["email"] == email and confirmed.json()["confirmed"] is True


@pytest.mark.claim("P08")
def test_reminders_go_out_once_per_participant_and_lead_time(owner, mail_sink):
    start = later(days=1, hours=0).replace(second=0) + timedelta(minutes=10)
    webcast = new_webcast(owner, access_mode="registration", starts_at=start)
    early = [new_participant(owner, webcast["id"]) for _ in range(2)]
    drain()
    clock.advance(15 * 60)  # now the start is less than 24 hours away

    moment = [datetime(2030, 1, 1, 12, 4, 59, tzinfo=UTC)]
    timer_runner = TriggerRunner(
        functions=_functions("plan_mail_reminders"),
        watch_containers=(),
        now=lambda: moment[0],
    )
    assert timer_runner.run_once().timers_run == 0  # the first pass only plans
    moment[0] = datetime(2030, 1, 1, 12, 5, 30, tzinfo=UTC)
    counts = timer_runner.run_once()
    assert (counts.timers_run, counts.errors) == (1, 0)
    late = new_participant(owner, webcast["id"])  # the 24 h window was open already
    drain()

    for participant in early:
        mail = only_mail(mail_sink, participant["email"])
        assert mail["Subject"] == "Erinnerung: Hauptversammlung beginnt in 24 Stunden"
        assert calendar_of(mail) is not None
        assert set(links_in(mail)) == {"", "/privacy"}
    assert mail_sink.to(late["email"]) == []

    moment[0] = datetime(2030, 1, 1, 12, 10, 30, tzinfo=UTC)
    assert timer_runner.run_once().timers_run == 1  # runs again, plans nothing new for us
    reminders.schedule_due()
    drain()
    for participant in early:
        assert len(mail_sink.to(participant["email"])) == 1

    half_an_hour_before = start.timestamp() - 30 * 60
    assert reminders.schedule_due(moment=half_an_hour_before) >= 1
    drain()
    reminders.schedule_due(moment=half_an_hour_before + 300)
    drain()
    for participant in [*early, late]:
        subjects = [m["Subject"] for m in mail_sink.to(participant["email"])]
        assert subjects[-1] == "Erinnerung: Hauptversammlung beginnt in 1 Stunde"
        assert subjects.count(subjects[-1]) == 1


def test_which_reminder_is_due():
    leads = [86_400, 3_600]
    assert reminders.lead_for(90_000, leads) is None
    assert reminders.lead_for(86_400, leads) == 86_400
    assert reminders.lead_for(7_200, leads) == 86_400
    assert reminders.lead_for(3_600, leads) == 3_600
    assert reminders.lead_for(1, leads) == 3_600
    assert reminders.lead_for(0, leads) is None


@pytest.mark.claim("P08")
def test_participants_reset_their_password_by_mail(owner, mail_sink):
    webcast = new_webcast(owner, access_mode="login", language="en")
    participant = new_participant(owner, webcast["id"], password="first-Password-42")
    http = helpers.client()
    asked = http.post(
        f"/api/w/{webcast['id']}/password-reset", json={"login": participant["email"]}
    )
    unknown = http.post(
        f"/api/w/{webcast['id']}/password-reset", json={"login": helpers.unique_email()}
    )
    assert asked.status_code == unknown.status_code == 202
    assert asked.json() == unknown.json()
    repeated = http.post(
        f"/api/w/{webcast['id']}/password-reset", json={"login": participant["email"].upper()}
    )
    assert repeated.status_code == 202
    drain()

    mail = only_mail(mail_sink, participant["email"])  # the repeat within minutes: no 2nd mail
    assert mail["Subject"] == "New password for Hauptversammlung"
    assert calendar_of(mail) is None
    token = links_in(mail)["/password-reset"]
    url = f"/api/w/{webcast['id']}/password-reset/confirm"
    short = http.post(url, json={"token": token, "new_password": "x7-Ab"})
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "new_password"
    done = http.post(url, json={"token": token, "new_password": "second-Pass-77"})
    assert done.status_code == 204, done.text
    reused = http.post(url, json={"token": token, "new_password": "third-Pass-99x"})
    assert reused.status_code == 422 and reused.json()["errors"][0]["field"] == "token"
    old = helpers.client().post(
        f"/api/w/{webcast['id']}/login",
        json={"login": participant["email"], "password": "first-Password-42"},
    )
    assert old.status_code == 401
    new = helpers.client().post(
        f"/api/w/{webcast['id']}/login",
        json={"login": participant["email"], "password": "second-Pass-77"},
    )
    assert new.status_code == 200, new.text
    other = new_webcast(owner, access_mode="login")
    wrong_webcast = http.post(
        f"/api/w/{other['id']}/password-reset/confirm",
        json={"token": token, "new_password": "fourth-Pass-11"},
    )
    assert wrong_webcast.status_code == 422


@pytest.mark.claim("P28")
def test_ten_admin_resets_in_a_slot_send_one_mail_with_one_live_token(owner, mail_sink):
    http = helpers.client()
    asked = [http.post("/api/auth/password-reset", json={"email": owner.email}) for _ in range(10)]
    unknown = http.post("/api/auth/password-reset", json={"email": helpers.unique_email()})
    assert {(r.status_code, r.text) for r in asked} == {(unknown.status_code, unknown.text)}
    drain()

    only_mail(mail_sink, owner.email)
    live = [
        t
        for t in tokens.scan(
            where="c.account_id = @account AND c.purpose = @purpose",
            parameters={"@account": owner.account_id, "@purpose": PASSWORD_RESET},
        )
        if t.used_at is None and t.expires_at > clock.now()
    ]
    assert len(live) == 1
    clock.advance(get_settings().mail_slot_seconds + 1)
    http.post("/api/auth/password-reset", json={"email": owner.email})
    drain()
    assert len(mail_sink.to(owner.email)) == 2, "the next slot gets its mail"


@pytest.mark.claim("P08")
def test_one_client_address_gets_few_registration_mails_across_many_addresses(owner, mail_sink):
    webcast = new_webcast(owner, access_mode="registration", language="en")
    url = f"/api/w/{webcast['id']}/registrations"
    addresses = [helpers.unique_email("flood") for _ in range(4)]
    flooder = "192.0.2.99"
    with helpers.changed_settings(mail_client_max_per_hour=2):
        answers = [helpers.client(flooder).post(url, json={"email": a}) for a in addresses]
        elsewhere = helpers.unique_email("elsewhere")
        other = helpers.client().post(url, json={"email": elsewhere})
    assert [r.status_code for r in answers] == [202] * 4 and other.status_code == 202
    assert len({tuple(sorted(r.json())) for r in answers}) == 1
    drain()

    assert [len(mail_sink.to(a)) for a in addresses] == [1, 1, 0, 0]
    only_mail(mail_sink, elsewhere)


# -- registration links and permissions --------------------------------------------------------


@pytest.mark.claim("P08")
def test_public_and_internal_registration_links(owner):
    webcast = new_webcast(owner, access_mode="registration")
    first = owner.get(f"/api/webcasts/{webcast['id']}/links")
    assert first.status_code == 200
    body = first.json()
    assert body["public"].endswith(f"/w/{webcast['id']}")
    key = body["internal"].split("#key=", 1)[1]
    assert body["internal"].startswith(body["public"]) and len(key) == 32
    assert owner.get(f"/api/webcasts/{webcast['id']}/links").json() == body, "stable"
    assert links.check_internal_key(webcast_id=webcast["id"], key=key)

    rotated = owner.post(f"/api/webcasts/{webcast['id']}/links/rotate")
    assert rotated.status_code == 200
    new_key = rotated.json()["internal"].split("#key=", 1)[1]
    assert new_key != key and rotated.json()["internal_key_rotated_at"]
    assert not links.check_internal_key(webcast_id=webcast["id"], key=key)
    assert links.check_internal_key(webcast_id=webcast["id"], key=new_key)
    other = new_webcast(owner, access_mode="registration")
    assert not links.check_internal_key(webcast_id=other["id"], key=new_key)
    assert helpers.audit_entries(owner.tenant_id, action="webcast.links.rotate")


@pytest.mark.claim("P08")
def test_registrations_through_the_internal_link_need_its_current_key(owner):
    webcast = new_webcast(owner, access_mode="registration")
    base = f"/api/webcasts/{webcast['id']}"
    admitted = owner.patch(base, json={"admit_before_confirmation": True})
    assert admitted.status_code == 200, admitted.text
    key = owner.get(f"{base}/links").json()["internal"].split("#key=", 1)[1]
    url = f"/api/w/{webcast['id']}/registrations"

    def registered(**body: Any) -> dict[str, Any]:
        response = helpers.client().post(url, json={"email": helpers.unique_email(), **body})
        assert response.status_code == 202, response.text
        stored = owner.get(f"{base}/participants/{response.json()['participant_id']}")
        found: dict[str, Any] = stored.json()
        return found

    assert registered(key=key)["via_internal_link"] is True
    assert registered()["via_internal_link"] is False, "the public link"
    owner.post(f"{base}/links/rotate")
    before = owner.get(f"{base}/participants").json()["items"]
    for stale in (key, "0" * 32, ""):
        refused = helpers.client().post(url, json={"email": helpers.unique_email(), "key": stale})
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "key"
    assert owner.get(f"{base}/participants").json()["items"] == before, "nothing stored"


@pytest.mark.claim("P08")
def test_mail_routes_need_the_participants_permission(owner):
    webcast = new_webcast(owner)
    participant = new_participant(owner, webcast["id"])
    without = helpers.new_subaccount(owner, [p for p in Permission if p != Permission.participants])
    with_permission = helpers.new_subaccount(owner, [Permission.participants])
    base = f"/api/webcasts/{webcast['id']}"
    calls: list[tuple[str, str, dict[str, Any] | None, int]] = [
        ("POST", f"{base}/invitations", {"participant_ids": [participant["id"]]}, 202),
        ("GET", f"{base}/links", None, 200),
        ("POST", f"{base}/links/rotate", None, 200),
        ("GET", f"{base}/mail-templates", None, 200),
        ("PUT", f"{base}/mail-templates", {"templates": {}}, 200),
    ]
    for method, url, body, allowed in calls:
        refused = without.request(method, url, json=body)
        assert refused.status_code == 403, (method, url, refused.text)
        assert with_permission.request(method, url, json=body).status_code == allowed, url
