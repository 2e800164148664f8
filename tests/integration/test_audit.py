"""The processing log: who changed what and when, tamper-evident (P28, P31)."""

import csv
import io
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared import clock
from shared.audit import service as audit
from shared.audit.models import SYSTEM_ACTOR, Actor, ActorKind, AuditFilter, RequestContext
from shared.audit.repository import entries as audit_entries
from shared.auth.models import Permission
from shared.clock import utc_iso
from shared.config import get_settings
from tests import helpers


@pytest.mark.claim("P31")
def test_every_admin_write_is_logged_with_actor_fields_and_no_personal_values(stack):
    owner = helpers.new_owner()
    sub_email = helpers.unique_email("logged")
    created = owner.post(
        "/api/accounts",
        json={
            "email": sub_email,
            "display_name": "Lena Logged",
            "password": helpers.PASSWORD,
            "permissions": ["polls"],
        },
    ).json()
    owner.patch(f"/api/accounts/{created['id']}", json={"display_name": "Lena L."})
    webcast = owner.post(
        "/api/webcasts",
        json={"title": "Town hall", "slug": "town-hall"},
        headers={"X-Request-ID": "req-audit-0001"},
    ).json()
    owner.patch(
        f"/api/webcasts/{webcast['id']}",
        json={"privacy": {"messages_show_sender_to_moderators": True}},
    )
    deletion = f"/api/webcasts/{webcast['id']}/deletion"
    assert owner.post(deletion, json={"confirm_slug": "town-hall"}).status_code == 202

    logged = helpers.audit_entries(owner.tenant_id)
    by_action = {(e.action, e.entity_id): e for e in logged}
    create = by_action[("account.create", created["id"])]
    assert create.actor_kind == ActorKind.owner and create.actor_id == owner.account_id
    assert create.actor_role == "owner" and create.entity_type == "account"
    assert {"email", "display_name", "password", "permissions"} <= set(create.changed_fields)
    assert by_action[("account.update", created["id"])].changed_fields == ["display_name"]
    assert by_action[("webcast.update", webcast["id"])].changed_fields == ["privacy"]
    assert ("webcast.tombstone", webcast["id"]) in by_action
    assert by_action[("webcast.deletion.start", webcast["id"])].changed_fields == ["reason"]
    assert by_action[("webcast.create", webcast["id"])].request_id == "req-audit-0001"
    assert all(e.at.endswith("Z") for e in logged)
    assert create.client_ip and create.client_ip.startswith("198.51.")
    dumped = json.dumps([e.model_dump(mode="json") for e in logged])
    for personal in (sub_email, "Lena", owner.email, "Olivia"):
        assert personal not in dumped


@pytest.mark.claim("P31")
def test_system_and_participant_entries_keep_no_client_address(stack):
    tenant_id = f"t-{helpers.uuid.uuid4().hex}"
    context = RequestContext(request_id="r1", client_ip="203.0.113.9")
    system = audit.record(
        tenant_id=tenant_id,
        actor=SYSTEM_ACTOR,
        action="retention.run",
        entity_type="webcast",
        entity_id="w1",
        context=context,
    )
    participant = audit.record(
        tenant_id=tenant_id,
        actor=Actor(kind=ActorKind.participant, id="p1"),
        action="participant.register",
        entity_type="participant",
        entity_id="p1",
        context=context,
    )
    admin = audit.record(
        tenant_id=tenant_id,
        actor=Actor(kind=ActorKind.owner, id="a1"),
        action="webcast.update",
        entity_type="webcast",
        entity_id="w1",
        context=context,
    )
    assert system.client_ip is None and participant.client_ip is None
    assert admin.client_ip == "203.0.113.9"


@pytest.mark.claim("P31")
def test_verify_detects_a_changed_and_a_removed_entry(stack):
    tenant_id = f"t-{helpers.uuid.uuid4().hex}"
    written = [
        audit.record(
            tenant_id=tenant_id,
            actor=SYSTEM_ACTOR,
            action=f"job.step{i}",
            entity_type="job",
            entity_id=str(i),
        )
        for i in range(12)
    ]
    report = audit.verify(tenant_id=tenant_id)
    assert report.ok and report.entries_checked == 12, report.problems

    container = audit_entries.container
    changed = written[3]
    container.patch_item(
        changed.id,
        partition_key=changed.partition,
        patch_operations=[{"op": "set", "path": "/actor_id", "value": "x"}],
    )
    report = audit.verify(tenant_id=tenant_id)
    assert not report.ok
    assert any("was changed" in p for p in report.problems)
    container.patch_item(
        changed.id,
        partition_key=changed.partition,
        patch_operations=[{"op": "set", "path": "/actor_id", "value": changed.actor_id}],
    )
    assert audit.verify(tenant_id=tenant_id).ok

    chain = [e for e in written if e.chain == changed.chain]
    middle = chain[len(chain) // 2] if len(chain) > 2 else chain[0]
    container.delete_item(middle.id, partition_key=middle.partition)
    report = audit.verify(tenant_id=tenant_id)
    assert not report.ok and any("missing" in p for p in report.problems)


@pytest.mark.claim("P31")
def test_removing_the_newest_entry_of_a_chain_shows(stack, monkeypatch):
    monkeypatch.setattr(get_settings(), "audit_shards", 1)
    tenant_id = f"t-{helpers.uuid.uuid4().hex}"
    written = [
        audit.record(
            tenant_id=tenant_id,
            actor=SYSTEM_ACTOR,
            action="job.step",
            entity_type="job",
            entity_id=str(i),
        )
        for i in range(3)
    ]
    last = written[-1]
    audit_entries.container.delete_item(last.id, partition_key=last.partition)
    report = audit.verify(tenant_id=tenant_id)
    assert not report.ok and any("after 2 are missing" in p for p in report.problems)


@pytest.mark.claim("P31")
def test_concurrent_writers_lose_no_entry_and_keep_chains_valid(stack):
    tenant_id = f"t-{helpers.uuid.uuid4().hex}"

    def write(index: int) -> str:
        return audit.record(
            tenant_id=tenant_id,
            actor=SYSTEM_ACTOR,
            action="load.write",
            entity_type="job",
            entity_id=str(index),
        ).id

    # Forget cached chain tips, as separate processes would not share them.
    audit._chain_tips.clear()
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(write, range(80)))
    assert len(set(ids)) == 80
    report = audit.verify(tenant_id=tenant_id)
    assert report.ok and report.entries_checked == 80, report.problems


@pytest.mark.claim("P28")
@pytest.mark.claim("P31")
def test_owner_reads_filters_pages_and_exports_the_log(stack):
    owner = helpers.new_owner()
    for index in range(5):
        owner.post("/api/webcasts", json={"title": f"Event {index}", "slug": f"event-{index}"})
    page = owner.get("/api/audit", params={"action": "webcast.create", "limit": 2})
    assert page.status_code == 200
    body = page.json()
    assert len(body["items"]) == 2 and body["continuation"]
    seen = [e["id"] for e in body["items"]]
    while body["continuation"]:
        body = owner.get(
            "/api/audit",
            params={"action": "webcast.create", "limit": 2, "continuation": body["continuation"]},
        ).json()
        seen += [e["id"] for e in body["items"]]
    assert len(seen) == len(set(seen)) == 5
    exported = owner.get("/api/audit/export.csv", params={"entity_type": "webcast"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 5 and {r["action"] for r in rows} == {"webcast.create"}
    assert all(r["actor_id"] == owner.account_id for r in rows)
    injected = owner.post(
        "/api/webcasts",
        json={"title": "F", "slug": "formula"},
        headers={"X-Request-ID": "-1-1-cmd-calc"},
    )
    assert injected.status_code == 201
    exported = owner.get("/api/audit/export.csv", params={"entity_id": injected.json()["id"]})
    [row] = list(csv.DictReader(io.StringIO(exported.text)))
    assert row["request_id"] == "'-1-1-cmd-calc", "a formula-looking cell is neutralised"
    verified = owner.get("/api/audit/verify")
    assert verified.status_code == 200 and verified.json()["ok"] is True
    assert (
        list(
            audit.iterate_entries(
                tenant_id=owner.tenant_id, query=AuditFilter(action="no.such.action")
            )
        )
        == []
    )


@pytest.mark.claim("P28")
@pytest.mark.claim("P31")
def test_admin_reads_are_logged_as_decision_0031_says(stack):
    """Exports of personal data and every read under a support grant are logged; the tenant's
    own accounts reading lists and details are not."""
    owner = helpers.new_owner("reads")
    webcast = owner.post("/api/webcasts", json={"title": "Reads", "slug": "reads"}).json()
    participants = f"/api/webcasts/{webcast['id']}/participants"
    participant = owner.post(participants, json={"email": helpers.unique_email("read")}).json()
    sub = helpers.new_subaccount(owner, [Permission.participants])
    grant = owner.post(
        "/api/support-grants",
        json={"scope": "read_only", "expires_at": utc_iso(clock.now() + 3600)},
    )
    assert grant.status_code == 201, grant.text
    _, support = helpers.new_support()
    assert support.post(f"/api/support/tenants/{owner.tenant_id}/enter").status_code == 200
    before = {e.id for e in helpers.audit_entries(owner.tenant_id)}

    for reader in (owner, sub):
        assert reader.get(participants).status_code == 200
        assert reader.get(f"{participants}/{participant['id']}").status_code == 200
        assert reader.get("/api/webcasts").status_code == 200

    assert owner.get("/api/audit").status_code == 200
    assert {e.id for e in helpers.audit_entries(owner.tenant_id)} == before, "plain reads"

    assert sub.get(f"{participants}/export.csv").status_code == 200
    assert owner.get("/api/audit/export.csv").status_code == 200
    assert support.get(f"{participants}/{participant['id']}").status_code == 200
    added = [e for e in helpers.audit_entries(owner.tenant_id) if e.id not in before]
    logged = sorted((e.actor_id, e.action, e.entity_id) for e in added)
    assert logged == sorted(
        [
            (sub.account_id, "participant.export", webcast["id"]),
            (owner.account_id, "audit.export", owner.tenant_id),
            (support.account_id, "support.read", f"{participants}/{participant['id']}"),
        ]
    )
