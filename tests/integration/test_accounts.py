"""Owner account, sub-accounts with permissions, vendor support grants (P01, P02, P07)."""

from datetime import UTC, datetime, timedelta

import pytest

from shared import clock
from shared.accounts.repository import accounts
from shared.auth.models import Permission, Role
from tests import helpers


def _in(hours: float) -> str:
    moment = datetime.fromtimestamp(clock.now(), UTC) + timedelta(hours=hours)
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.claim("P01")
def test_a_customer_account_has_exactly_one_owner_with_full_access(stack):
    owner = helpers.new_owner()
    listed = owner.get("/api/accounts").json()
    assert [a["role"] for a in listed] == ["owner"]
    assert set(listed[0]["permissions"]) == {p.value for p in Permission}
    # Nobody can make a second owner: the role is not part of the input at all.
    second = owner.post(
        "/api/accounts",
        json={
            "email": helpers.unique_email(),
            "role": "owner",
            "display_name": "X",
            "password": helpers.PASSWORD,
        },
    )
    assert second.status_code == 422
    assert second.json()["errors"][0]["field"] == "body.role"
    assert (
        owner.patch(f"/api/accounts/{owner.account_id}", json={"disabled": True}).status_code == 403
    )
    webcast = owner.post("/api/webcasts", json={"title": "Owner event", "slug": "owner-event"})
    assert webcast.status_code == 201
    for url in (
        "/api/accounts",
        "/api/support-grants",
        "/api/audit",
        "/api/webcasts",
        f"/api/webcasts/{webcast.json()['id']}",
    ):
        assert owner.get(url).status_code == 200, url


@pytest.mark.claim("P02")
def test_owner_creates_password_protected_subaccounts_with_any_permissions(stack):
    owner = helpers.new_owner()
    weak = owner.post(
        "/api/accounts",
        json={"email": helpers.unique_email(), "display_name": "Weak", "password": "123"},
    )
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "password"
    sub = helpers.new_subaccount(owner, [Permission.participants, Permission.meetings])
    stored = accounts.get(tenant_id=owner.tenant_id, item_id=sub.account_id)
    assert stored is not None and stored.role == Role.subaccount
    assert stored.password_hash.startswith("$argon2id$")
    assert set(stored.permissions) == {Permission.participants, Permission.meetings}
    wrong = helpers.client().post(
        "/api/auth/login", json={"email": sub.email, "password": "not the password"}
    )
    assert wrong.status_code == 401
    # Edit permissions: the signed-in sub-account sees the change at once.
    changed = owner.patch(
        f"/api/accounts/{sub.account_id}",
        json={"permissions": ["polls"], "display_name": "Paula Polls"},
    )
    assert changed.status_code == 200
    assert changed.json()["permissions"] == ["polls"]
    assert sub.get("/api/auth/session").json()["account"]["permissions"] == ["polls"]
    duplicate = owner.post(
        "/api/accounts",
        json={"email": sub.email.upper(), "display_name": "Dup", "password": helpers.PASSWORD},
    )
    assert duplicate.status_code == 409 and duplicate.json()["errors"][0]["field"] == "email"
    assert owner.delete(f"/api/accounts/{sub.account_id}").status_code == 204
    assert sub.get("/api/webcasts").status_code == 401
    assert owner.get(f"/api/accounts/{sub.account_id}").status_code == 404


@pytest.mark.claim("P28")
@pytest.mark.claim("P02")
def test_subaccounts_cannot_manage_accounts_grants_or_webcasts(stack):
    owner = helpers.new_owner()
    sub = helpers.new_subaccount(owner, list(Permission))
    assert sub.get("/api/accounts").status_code == 403
    assert (
        sub.post(
            "/api/accounts",
            json={
                "email": helpers.unique_email(),
                "display_name": "N",
                "password": helpers.PASSWORD,
            },
        ).status_code
        == 403
    )
    assert (
        sub.post("/api/support-grants", json={"scope": "full", "expires_at": _in(1)}).status_code
        == 403
    )
    assert sub.post("/api/webcasts", json={"title": "t", "slug": "t"}).status_code == 403
    assert sub.get("/api/webcasts").status_code == 200


@pytest.mark.claim("P07")
def test_support_reaches_a_tenant_only_through_an_active_grant(stack):
    owner = helpers.new_owner()
    support_account, support = helpers.new_support()
    webcast = owner.post("/api/webcasts", json={"title": "Supported", "slug": "supported"}).json()
    enter = f"/api/support/tenants/{owner.tenant_id}/enter"
    assert support.post(enter).status_code == 403
    assert support.get(f"/api/webcasts/{webcast['id']}").status_code == 403

    read_only = owner.post("/api/support-grants", json={"scope": "read_only", "expires_at": _in(2)})
    assert read_only.status_code == 201, read_only.text
    assert support.post(enter).status_code == 200
    assert support.get(f"/api/webcasts/{webcast['id']}").status_code == 200
    [read] = helpers.audit_entries(owner.tenant_id, action="support.read")
    assert (
        read.actor_id == support_account.id and read.entity_id == f"/api/webcasts/{webcast['id']}"
    )
    assert support.post("/api/webcasts", json={"title": "No", "slug": "no"}).status_code == 403
    # Support can never extend its own access or create accounts that outlive the grant.
    assert (
        support.post(
            "/api/support-grants", json={"scope": "full", "expires_at": _in(1)}
        ).status_code
        == 403
    )
    assert support.get("/api/accounts").status_code == 403

    revoked = owner.post(f"/api/support-grants/{read_only.json()['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert support.get(f"/api/webcasts/{webcast['id']}").status_code == 403, "revoked at once"

    full = owner.post(
        "/api/support-grants",
        json={"scope": "full", "expires_at": _in(1), "support_account_id": support_account.id},
    )
    assert full.status_code == 201
    assert support.post(enter).status_code == 200
    created = support.post("/api/webcasts", json={"title": "By support", "slug": "by-support"})
    assert created.status_code == 201
    logged = helpers.audit_entries(
        owner.tenant_id, action="webcast.create", entity_id=created.json()["id"]
    )
    assert [(e.actor_kind, e.actor_id) for e in logged] == [("support", support_account.id)]
    assert helpers.audit_entries(
        owner.tenant_id, action="support.enter", actor_id=support_account.id
    )

    for _ in range(3):  # 75 minutes: past the grant's hour, the session kept alive
        clock.advance(25 * 60)
        assert support.get("/api/auth/session").status_code == 200
    assert support.get(f"/api/webcasts/{webcast['id']}").status_code == 403, "grant expired"


@pytest.mark.claim("P07")
def test_grants_are_bounded_and_named_support_only(stack):
    owner = helpers.new_owner()
    _, other_support = helpers.new_support()
    named_account, _ = helpers.new_support()
    too_long = owner.post("/api/support-grants", json={"scope": "full", "expires_at": _in(24 * 31)})
    past = owner.post("/api/support-grants", json={"scope": "full", "expires_at": _in(-1)})
    naive = owner.post(
        "/api/support-grants", json={"scope": "full", "expires_at": "2030-01-01T10:00:00"}
    )
    for response in (too_long, past, naive):
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "expires_at"
    not_support = owner.post(
        "/api/support-grants",
        json={"scope": "full", "expires_at": _in(1), "support_account_id": owner.account_id},
    )
    assert not_support.status_code == 422
    named = owner.post(
        "/api/support-grants",
        json={"scope": "full", "expires_at": _in(1), "support_account_id": named_account.id},
    )
    assert named.status_code == 201
    assert other_support.post(f"/api/support/tenants/{owner.tenant_id}/enter").status_code == 403
