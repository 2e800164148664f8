"""Query parameters are validated: a bad one is a 422 naming it, never a 500 or an endless job."""

import re
from datetime import datetime

import pytest

from shared import cli
from shared.accounts.repository import tenants
from shared.clock import utc_iso
from tests import helpers


def _refused(response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field, response.text


def _months_before_now(count: int) -> str:
    today = datetime.fromisoformat(utc_iso())
    months = today.year * 12 + today.month - 1 - count
    return f"{months // 12:04d}-{months % 12 + 1:02d}-01"


@pytest.mark.claim("P31")
def test_audit_periods_are_checked_clamped_to_the_tenant_and_at_most_13_months(stack, capsys):
    owner = helpers.new_owner("audit-range")
    tenant = tenants.get(tenant_id=owner.tenant_id, item_id=f"tenant:{owner.tenant_id}")
    assert tenant is not None
    # A customer of 14 months: the log may hold 15 months.
    tenants.replace(
        tenant_id=owner.tenant_id,
        item=tenant.model_copy(update={"created_at": f"{_months_before_now(14)}T00:00:00.000Z"}),
    )
    for route in ("/api/audit", "/api/audit/export.csv", "/api/audit/verify"):
        _refused(owner.get(route, params={"until": "null"}), "query.until")
        _refused(owner.get(route, params={"since": "2026-13-01"}), "query.since")
        reversed_period = {"since": "2026-06-01", "until": "2026-01-01"}
        _refused(owner.get(route, params=reversed_period), "query.until")
        # Far ends of the calendar are clamped to the tenant's lifetime and to now.
        clamped = owner.get(route, params={"since": "2026-01-01", "until": "9999-12-31"})
        assert clamped.status_code == 200, (route, clamped.text)

    verified = owner.get("/api/audit/verify", params={"since": "0001-01-01"})
    _refused(verified, "since")
    assert "13 months" in verified.json()["detail"]
    year = owner.get("/api/audit/verify", params={"since": _months_before_now(12)})
    assert year.status_code == 200 and year.json()["ok"] is True, year.text
    exported = owner.get("/api/audit/export.csv", params={"since": "0001-01-01"})
    assert exported.status_code == 200 and "tenant.create" in exported.text

    status = cli.main(["verify-audit", "--tenant-id", owner.tenant_id, "--since", "2000-01-01"])
    output = capsys.readouterr().out
    assert status == 0, output
    assert re.search(r"^months checked:\s+15$", output, re.MULTILINE), output
    with pytest.raises(SystemExit):
        cli.main(["verify-audit", "--tenant-id", owner.tenant_id, "--until", "null"])


def test_bad_continuation_tokens_are_refused_on_every_list(stack):
    owner = helpers.new_owner("tokens")
    webcast = owner.post("/api/webcasts", json={"title": "Tokens", "slug": "tokens"})
    assert webcast.status_code == 201, webcast.text
    webcast_id = webcast.json()["id"]
    lists = [
        "/api/webcasts",
        "/api/audit",
        f"/api/webcasts/{webcast_id}/participants",
        f"/api/webcasts/{webcast_id}/imports",
        f"/api/webcasts/{webcast_id}/messages",
    ]
    for route in lists:
        response = owner.get(route, params={"continuation": "Grüße €"})
        _refused(response, "continuation")
    for token in ("x|", "7|", "-1|x"):
        _refused(owner.get("/api/audit", params={"continuation": token}), "continuation")
