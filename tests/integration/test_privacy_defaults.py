"""Privacy-friendly defaults over whole records (P19, P33)."""

from typing import Any

import pytest

from shared.clients import cosmos_container
from tests import helpers


def _switched_on(record: Any, path: str = "") -> list[str]:
    """Every boolean that is True and every list that is not empty, by dotted path: a new
    field of any of these records is covered without naming it here."""
    if isinstance(record, bool):
        return [path] if record else []
    if isinstance(record, list):
        return [path] if record else []
    if isinstance(record, dict):
        return [
            found
            for key, value in record.items()
            if not key.startswith("_")
            for found in _switched_on(value, f"{path}.{key}".lstrip("."))
        ]
    return []


@pytest.mark.claim("P19")
@pytest.mark.claim("P33")
def test_new_webcasts_subaccounts_and_embed_settings_start_with_everything_off(stack):
    owner = helpers.new_owner("defaults-all")
    created = owner.post("/api/webcasts", json={"title": "Bare", "slug": "bare"})
    assert created.status_code == 201, created.text
    webcast_id = created.json()["id"]
    webcast = owner.get(f"/api/webcasts/{webcast_id}").json()
    assert {"modules", "privacy", "vod_download"} <= set(webcast), "the switches are shown"
    assert webcast["access_mode"] == "public", "no participant data is asked for"
    assert webcast["schedule"] is None
    stored = cosmos_container("webcasts").read_item(webcast_id, partition_key=owner.tenant_id)
    sub = owner.post(
        "/api/accounts",
        json={
            "email": helpers.unique_email("bare"),
            "display_name": "Bare",
            "password": helpers.PASSWORD,
        },
    )
    assert sub.status_code == 201, sub.text
    account = owner.get(f"/api/accounts/{sub.json()['id']}").json()
    assert "permissions" in account
    stored_account = cosmos_container("tenants").read_item(
        sub.json()["id"], partition_key=owner.tenant_id
    )
    embed = owner.get(f"/api/webcasts/{webcast_id}/embed").json()
    assert {"enabled", "allowed_origins", "has_secret"} <= set(embed)
    records = {
        "webcast": webcast,
        "stored webcast": stored,
        "sub-account": account,
        "stored sub-account": stored_account,
        "embed settings": embed,
    }
    assert {name: _switched_on(record) for name, record in records.items()} == {
        name: [] for name in records
    }
