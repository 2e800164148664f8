"""Readable page addresses: a customer account's slug, unique across the platform, with its
own lookup; /p/{account}/{webcast} names the webcast; the slug goes with the account."""

import uuid

from tests import helpers


def _slug(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def test_an_owner_names_the_account_and_the_address_finds_the_webcast(stack: object) -> None:
    owner = helpers.new_owner("addresses")
    webcast_id = helpers.new_webcast(owner, slug="keynote")
    assert owner.get("/api/account/slug").json() == {"tenant_id": owner.tenant_id, "slug": None}
    slug = _slug("acme")
    named = owner.request("PUT", "/api/account/slug", json={"slug": slug})
    assert named.status_code == 200, named.text
    assert named.json()["slug"] == slug
    viewer = helpers.client()
    found = viewer.get(f"/api/p/{slug}/keynote")
    assert found.status_code == 200 and found.json() == {"webcast_id": webcast_id}
    # Unknown accounts and webcasts answer alike.
    assert viewer.get(f"/api/p/{slug}/other").status_code == 404
    assert viewer.get(f"/api/p/{_slug('nobody')}/keynote").status_code == 404
    assert viewer.get("/api/p/UPPER/keynote").status_code == 422

    # Unique across the platform; reserved words and bad shapes are refused.
    other = helpers.new_owner("addresses-other")
    taken = other.request("PUT", "/api/account/slug", json={"slug": slug})
    assert taken.status_code == 409 and taken.json()["errors"][0]["field"] == "slug"
    for reserved in ("admin", "api", "w", "embed"):
        refused = other.request("PUT", "/api/account/slug", json={"slug": reserved})
        assert refused.status_code == 409, reserved
    for bad in ("-acme", "a" * 41, "acme corp", "Acme", "acme\u0000"):
        refused = other.request("PUT", "/api/account/slug", json={"slug": bad})
        assert refused.status_code == 422, bad
        assert refused.json()["errors"][0]["field"] == "body.slug", bad

    # A new slug frees the old one; only the owner renames.
    renamed = _slug("acme-new")
    assert owner.request("PUT", "/api/account/slug", json={"slug": renamed}).status_code == 200
    assert viewer.get(f"/api/p/{slug}/keynote").status_code == 404
    assert viewer.get(f"/api/p/{renamed}/keynote").json() == {"webcast_id": webcast_id}
    assert other.request("PUT", "/api/account/slug", json={"slug": slug}).status_code == 200
    [entry, *_] = helpers.audit_entries(owner.tenant_id, action="tenant.slug")
    assert entry.changed_fields == ["slug"] and slug not in repr(entry)
