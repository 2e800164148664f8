"""The privacy page in Chromium (P23): opened by the privacy link of a real invitation mail at
360 px, the person sees their data and the controller, downloads it, withdraws a consent by
keyboard and asks for the erasure; the mailed erasure link, opened in another browser,
erases them. axe-core runs on each state."""

import io
import json
import re
import zipfile

import pytest
from playwright.sync_api import Browser, expect

from devtools.mailsink import MailSink
from shared.participants.repository import participants
from tests import helpers
from tests.e2e import pages
from tests.e2e.test_participant_pages import _context, _mailed_link, _page

FORM = {
    "fields": [
        {"id": "company", "type": "short_text", "label": "Company"},
        {
            "id": "privacy",
            "type": "consent",
            "label": "I accept the privacy notice",
            "required": True,
        },
        {"id": "newsletter", "type": "consent", "label": "Send me the newsletter"},
    ]
}
CONTROLLER = {
    "legal_name": "Beispiel Events GmbH",
    "postal_address": "Keizersgracht 1\n1015 CJ Amsterdam",
    "contact_email": "privacy@example.org",
    "privacy_policy_url": "https://example.org/privacy",
}
NARROW = {"width": 360, "height": 740}


@pytest.mark.claim("P23")
def test_a_participant_sees_downloads_withdraws_and_erases_on_the_privacy_page(
    chromium: Browser, api_server: str, mail_sink: MailSink
) -> None:
    owner = helpers.new_owner("pages-privacy")
    assert owner.request("PUT", "/api/account/controller", json=CONTROLLER).status_code == 200
    webcast_id = helpers.new_webcast(owner, title="AGM", language="en", access_mode="login")
    base = f"/api/webcasts/{webcast_id}"
    assert owner.request("PUT", f"{base}/form", json=FORM).status_code == 200
    email = helpers.unique_email("private")
    answers = {"company": "Acme", "privacy": True, "newsletter": True}
    created = owner.post(f"{base}/participants", json={"email": email, "answers": answers})
    assert created.status_code == 201, created.text
    participant_id = created.json()["id"]
    invited = owner.post(f"{base}/invitations", json={"participant_ids": [participant_id]})
    assert invited.status_code == 202, invited.text
    link = _mailed_link(mail_sink, email, f"/w/{webcast_id}/privacy")

    context = _context(chromium, viewport=NARROW, accept_downloads=True)
    page, errors = _page(context)
    page.goto(api_server + link)
    expect(page.get_by_role("heading", name="What is stored about you")).to_be_visible()
    expect(page).not_to_have_url(re.compile("token"))
    expect(page.get_by_text(email)).to_be_visible()
    expect(page.get_by_text("Beispiel Events GmbH")).to_be_visible()
    expect(page.get_by_role("link", name="Privacy policy")).to_have_attribute(
        "href", CONTROLLER["privacy_policy_url"]
    )
    pages.assert_accessible(page, "the privacy page")
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("Download all your data")).click()
    with zipfile.ZipFile(io.BytesIO(download_info.value.path().read_bytes())) as archive:
        document = json.loads(archive.read("person.json"))
    [record] = document["webcasts"]
    assert record["participant_id"] == participant_id
    assert record["stores"]["participants"][0]["answers"]["company"] == "Acme"

    # By keyboard: the optional consent is withdrawn, the required one says what it means.
    page.get_by_role("button", name="Withdraw this consent").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="withdrawn")).to_be_visible()
    expect(page.get_by_text(re.compile("Withdrawn on"))).to_be_visible()
    expect(
        page.get_by_role("button", name="Withdraw and erase my data")
    ).to_have_accessible_description(re.compile("needs this consent"))
    page.get_by_role("button", name="Send me the erasure link").click()
    expect(page.get_by_text("We have sent you an e-mail.")).to_be_visible()
    erase = _mailed_link(mail_sink, email, f"/w/{webcast_id}/privacy", key="erase")
    context.close()

    # The erasure mail opens in another browser: its link alone confirms it.
    other = _context(chromium, viewport=NARROW)
    page, more_errors = _page(other)
    page.goto(api_server + erase)
    expect(page).not_to_have_url(re.compile("erase="))
    expect(page.get_by_role("heading", name="Confirm the erasure")).to_be_visible()
    pages.assert_accessible(page, "the erasure confirmation")
    page.get_by_role("button", name="Erase my data now").click()
    expect(page.get_by_text("Your data of this webcast has been erased.")).to_be_visible()
    pages.assert_accessible(page, "the erased state")
    assert (
        participants.get(
            tenant_id=owner.tenant_id, partition_key=webcast_id, item_id=participant_id
        )
        is None
    )
    assert errors == [] and more_errors == []
    other.close()
