"""The record of processing activities (P33, Art. 30 GDPR) is generated from the account's
real configuration: a changed setting, form, switch or profile changes the record."""

import re

import pytest

from shared.auth.models import Permission
from tests import helpers

RECORD = "/api/account/processing-record"
FORM = {
    "fields": [
        {"id": "company", "type": "short_text", "label": "Company <b>&</b>"},
        {"id": "consent", "type": "consent", "label": "I agree", "required": True},
    ]
}


def _markdown(owner: helpers.Admin, language: str = "en") -> str:
    answer = owner.get(f"{RECORD}.md", params={"language": language})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/markdown")
    return answer.text


@pytest.mark.claim("P33")
def test_the_record_of_processing_follows_the_accounts_real_configuration(stack):
    owner = helpers.new_owner("record")
    webcast_id = helpers.new_webcast(owner, "record", title="Annual meeting", access_mode="login")
    before = _markdown(owner)
    assert "Not named yet" in before and "Annual meeting" in before
    assert "Malware scan of uploads: switched off" in before, "the local stack has no gate"
    assert "tied to a person" in before.lower() and "| none |" in before

    profile = {
        "legal_name": "Acme AG",
        "postal_address": "Way 1",
        "contact_email": owner.email,
        "sub_processors": [{"name": "Relay", "purpose": "mail", "location": "EU"}],
    }
    assert owner.request("PUT", "/api/account/controller", json=profile).status_code == 200
    base = f"/api/webcasts/{webcast_id}"
    assert owner.request("PUT", f"{base}/form", json=FORM).status_code == 200
    tied = {"privacy": {"attendance_tied_to_participant": True}, "modules": {"tracking": True}}
    assert owner.patch(base, json=tied).status_code == 200
    helpers.new_subaccount(owner, [Permission.participants])
    with helpers.changed_settings(
        malware_gate="defender", session_idle_seconds=20 * 60, deletion_backup_window_days=14
    ):
        after = _markdown(owner)
        german = _markdown(owner, "de")
        page = owner.get(f"{RECORD}.html", params={"language": "de"})

    assert "Acme AG" in after and "Not named yet" not in after
    assert "Relay: mail (EU)" in after
    assert "Company <b>&</b>" not in after and "Company \\<b\\>&\\</b\\> (short\\_text)" in after
    assert re.search(r"\| attendance \|", after), "the switch that ties attendance to a person"
    assert "attendance tracking" in after and "sign-in of pre-registered participants" in after
    assert "1 sub-account" in after
    assert "scanned for malware" in after
    assert "after 20 minutes without activity" in after and "after 14 days" in after
    assert "Verzeichnis von Verarbeitungstätigkeiten" in german and "Teilnahmestatistik" in german
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text and "Company &lt;b&gt;&amp;&lt;/b&gt;" in page.text
    assert '<html lang="de">' in page.text

    sub = helpers.new_subaccount(owner, [Permission.participants])
    assert sub.get(f"{RECORD}.md").status_code == 403
    other = helpers.new_owner("record-other")
    assert "Annual meeting" not in _markdown(other)
