"""A participant's own privacy page (P23): the privacy link of a real mail opens a short
privacy grant; the person sees and downloads their data, withdraws consents and erases
themselves by a freshly mailed link."""

import io
import json
import re
import zipfile
from typing import Any

import jsonschema
import pytest

from shared import clock
from shared.participants.repository import participants
from tests import helpers
from tests.integration.test_mail import drain, links_in, new_participant, new_webcast, text_of
from tests.integration.test_subject_requests import SCHEMA

FORM = {
    "fields": [
        {"id": "company", "type": "short_text", "label": "Company"},
        {"id": "privacy", "type": "consent", "label": "I accept the notice", "required": True},
        {"id": "newsletter", "type": "consent", "label": "Send me the newsletter"},
    ]
}
ANSWERS = {"company": "Acme", "privacy": True, "newsletter": True}
ERASE = re.compile(r"/privacy#erase=(?P<token>[A-Za-z0-9_%-]+)")


def _invited(
    owner: helpers.Admin, webcast_id: str, mail_sink: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """A participant with both consents, invited by a real mail; its links' tokens by path."""
    participant = new_participant(owner, webcast_id, answers=ANSWERS)
    queued = owner.post(
        f"/api/webcasts/{webcast_id}/invitations", json={"participant_ids": [participant["id"]]}
    )
    assert queued.status_code == 202, queued.text
    drain()
    [mail] = mail_sink.to(participant["email"])
    return participant, links_in(mail)


def _opened(webcast_id: str, token: str) -> helpers.Viewer:
    http = helpers.client()
    opened = http.post(f"/api/w/{webcast_id}/privacy/session", json={"token": token})
    assert opened.status_code == 200, opened.text
    return helpers.Viewer.from_answer(http, webcast_id, opened)


@pytest.mark.claim("P23")
def test_a_participant_sees_downloads_withdraws_and_erases_their_own_data(stack, mail_sink):
    owner = helpers.new_owner("self-service")
    webcast = new_webcast(owner)
    base = f"/api/w/{webcast['id']}/privacy"
    assert owner.request("PUT", f"/api/webcasts/{webcast['id']}/form", json=FORM).status_code == 200
    profile = {"legal_name": "Acme AG", "postal_address": "Way 1", "contact_email": owner.email}
    assert owner.request("PUT", "/api/account/controller", json=profile).status_code == 200
    participant, links = _invited(owner, webcast["id"], mail_sink)
    token = links["/privacy"]
    other_webcast = new_webcast(owner)

    # The token opens this webcast's privacy page only, by POST; nothing opens it without.
    assert helpers.client().get(base).status_code == 403
    elsewhere = helpers.client().post(
        f"/api/w/{other_webcast['id']}/privacy/session", json={"token": token}
    )
    assert elsewhere.status_code == 422 and elsewhere.json()["errors"][0]["field"] == "token"
    viewer = _opened(webcast["id"], token)
    assert viewer.get(f"/api/w/{webcast['id']}/me").status_code == 403, "no way into the webcast"
    other_base = f"/api/w/{other_webcast['id']}/privacy"
    assert viewer.get(other_base).status_code == 403, "nor into another webcast's privacy page"
    assert viewer.get(f"{other_base}/export").status_code == 403
    # A grant to watch is no privacy grant: signed in by the invitation, the data stays shut.
    watcher = helpers.client()
    signed_in = watcher.post(f"/api/w/{webcast['id']}/link", json={"token": links[""]})
    assert signed_in.status_code == 200, signed_in.text
    assert watcher.get(base).status_code == 403

    shown = viewer.get(base)
    assert shown.status_code == 200, shown.text
    data = shown.json()
    assert data["email"] == participant["email"]
    assert data["answers"] == [{"field_id": "company", "label": "Company", "value": "Acme"}]
    consents = {c["field_id"]: c for c in data["consents"]}
    assert consents["privacy"]["text"] == "I accept the notice"
    assert consents["privacy"]["ends_participation"] is True
    assert consents["newsletter"]["ends_participation"] is False
    assert data["held"]["participants"] == 1 and data["held"]["tokens"] >= 1
    assert data["controller"]["legal_name"] == "Acme AG"

    download = viewer.get(f"{base}/export")
    assert download.status_code == 200, download.text
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        document = json.loads(archive.read("person.json"))
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert document["found_by"] == "privacy_link"
    assert [w["participant_id"] for w in document["webcasts"]] == [participant["id"]]

    # An optional consent is withdrawn and stays so; a second withdrawal names the field.
    withdrawn = viewer.post(f"{base}/consents/newsletter/withdrawal")
    assert withdrawn.status_code == 200 and withdrawn.json()["erased"] is False, withdrawn.text
    again = viewer.post(f"{base}/consents/newsletter/withdrawal")
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "field_id"
    newsletter = {c["field_id"]: c for c in viewer.get(base).json()["consents"]}["newsletter"]
    assert newsletter["withdrawn_at"] is not None
    stored = participants.get(
        tenant_id=owner.tenant_id, partition_key=webcast["id"], item_id=participant["id"]
    )
    assert stored is not None and stored.answers["newsletter"] is False

    # Erasure needs a link mailed now: the privacy link alone may sit in a forwarded mail.
    assert viewer.post(f"{base}/erasure-request").status_code == 202
    drain()
    mails = mail_sink.to(participant["email"])
    [erase_mail] = [m for m in mails if ERASE.search(text_of(m))]
    erase_token = ERASE.search(text_of(erase_mail))
    assert erase_token is not None
    wrong = viewer.post(f"{base}/erasure", json={"token": token})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "token"
    # The mail may open in another browser: the link's token alone confirms the erasure.
    elsewhere_browser = helpers.client()
    erased = elsewhere_browser.post(f"{base}/erasure", json={"token": erase_token.group("token")})
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"]["participants"] == 1
    assert (
        participants.get(
            tenant_id=owner.tenant_id, partition_key=webcast["id"], item_id=participant["id"]
        )
        is None
    )
    assert viewer.get(base).status_code == 403, "the grant went with the person"
    spent = elsewhere_browser.post(f"{base}/erasure", json={"token": erase_token.group("token")})
    assert spent.status_code == 422, "the link is spent"
    reopened = helpers.client().post(f"{base}/session", json={"token": token})
    assert reopened.status_code == 422, "the privacy link names no one any more"
    actions = {e.action for e in helpers.audit_entries(owner.tenant_id, actor_id=participant["id"])}
    assert {"participant.privacy_open", "participant.consent_withdraw", "subject.erase"} <= actions


@pytest.mark.claim("P23")
def test_withdrawing_a_required_consent_ends_the_participation_and_the_grant_runs_out(
    stack, mail_sink
):
    owner = helpers.new_owner("self-required")
    webcast = new_webcast(owner)
    base = f"/api/w/{webcast['id']}/privacy"
    assert owner.request("PUT", f"/api/webcasts/{webcast['id']}/form", json=FORM).status_code == 200
    leaving, leaving_links = _invited(owner, webcast["id"], mail_sink)
    staying, staying_links = _invited(owner, webcast["id"], mail_sink)
    leaving_token, staying_token = leaving_links["/privacy"], staying_links["/privacy"]

    viewer = _opened(webcast["id"], leaving_token)
    ended = viewer.post(f"{base}/consents/privacy/withdrawal")
    assert ended.status_code == 200 and ended.json()["erased"] is True, ended.text
    assert (
        participants.get(
            tenant_id=owner.tenant_id, partition_key=webcast["id"], item_id=leaving["id"]
        )
        is None
    )
    assert participants.get(
        tenant_id=owner.tenant_id, partition_key=webcast["id"], item_id=staying["id"]
    ), "others stay"

    # The privacy grant is short; the mailed link opens a new one.
    other = _opened(webcast["id"], staying_token)
    assert other.get(base).status_code == 200
    clock.advance(16 * 60)
    assert other.get(base).status_code == 403
    assert _opened(webcast["id"], staying_token).get(base).status_code == 200
