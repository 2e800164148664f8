"""The customer account's controller profile (issue 16): the owner writes it, audited by the
fields that changed; participant pages show how to reach the controller."""

import pytest

from shared.auth.models import Permission
from tests import helpers

SUB_PROCESSOR = {"name": "Mail Relay B.V.", "purpose": "sending invitations", "location": "NL"}
PROFILE: dict[str, object] = {
    "legal_name": "Beispiel Events GmbH",
    "postal_address": "Keizersgracht 1\n1015 CJ Amsterdam",
    "contact_email": "Privacy@Example.org",
    "dpo_contact": "Dr. Datenschutz, dpo@example.org",
    "imprint_url": "https://example.org/imprint",
    "privacy_policy_url": "https://example.org/privacy",
    "sub_processors": [SUB_PROCESSOR],
}


@pytest.mark.claim("P23")
def test_the_owner_names_the_controller_and_its_pages_show_how_to_reach_it(stack):
    owner = helpers.new_owner("controller")
    webcast_id = helpers.new_webcast(owner, "controller")
    viewer = helpers.client()
    assert owner.get("/api/account/controller").status_code == 404
    assert viewer.get(f"/api/w/{webcast_id}/controller").status_code == 404

    saved = owner.request("PUT", "/api/account/controller", json=PROFILE)
    assert saved.status_code == 200, saved.text
    assert saved.json()["contact_email"] == "privacy@example.org"
    assert owner.get("/api/account/controller").json()["legal_name"] == PROFILE["legal_name"]
    changed = owner.request("PUT", "/api/account/controller", json=PROFILE | {"dpo_contact": None})
    assert changed.status_code == 200, changed.text
    entries = helpers.audit_entries(owner.tenant_id, action="tenant.controller_profile")
    every_field = sorted(PROFILE)
    assert sorted(sorted(entry.changed_fields) for entry in entries) == [
        sorted(every_field),
        ["dpo_contact"],
    ]
    assert all("example.org" not in entry.model_dump_json() for entry in entries)

    shown = viewer.get(f"/api/w/{webcast_id}/controller")
    assert shown.status_code == 200, shown.text
    assert shown.headers["cache-control"] == "public, max-age=300"
    assert shown.json() == {
        "legal_name": PROFILE["legal_name"],
        "postal_address": PROFILE["postal_address"],
        "contact_email": "privacy@example.org",
        "dpo_contact": None,
        "imprint_url": PROFILE["imprint_url"],
        "privacy_policy_url": PROFILE["privacy_policy_url"],
    }

    sub = helpers.new_subaccount(owner, list(Permission))
    refused = sub.request("PUT", "/api/account/controller", json=PROFILE)
    assert refused.status_code == 403, refused.text
    other = helpers.new_owner("controller-other")
    assert other.get("/api/account/controller").status_code == 404

    for change, field in (
        ({"imprint_url": "http://example.org/imprint"}, "body.imprint_url"),
        ({"privacy_policy_url": "javascript:alert(1)"}, "body.privacy_policy_url"),
        ({"legal_name": "Two\nlines"}, "body.legal_name"),
        ({"contact_email": "not an address"}, "body.contact_email"),
        ({"sub_processors": [SUB_PROCESSOR] * 51}, "body.sub_processors"),
        ({"postal_address": "x" * 501}, "body.postal_address"),
    ):
        answer = owner.request("PUT", "/api/account/controller", json=PROFILE | change)
        assert answer.status_code == 422, (change, answer.text)
        assert field in {error["field"] for error in answer.json()["errors"]}, answer.text
    assert owner.get("/api/account/controller").json()["dpo_contact"] is None, "kept as it was"
