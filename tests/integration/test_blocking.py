"""Blocking instead of erasure (P24): where a legal duty stands against erasing a person, the
controller blocks them until a day; the data stays stored but leaves every list, search,
export, feed, sign-in and mail, comes back on unblocking, and is erased when the hold ends."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import clock
from shared.clients import cosmos_container
from shared.composition import retention
from shared.participants.repository import participants
from tests import helpers
from tests.integration.test_mail import drain
from tests.integration.test_participant_deletion import TRACKING
from tests.integration.test_subject_requests import _participant, _webcast_with_a_poll

DAY = 24 * 60 * 60


@dataclass
class Person:
    id: str
    password: str
    viewer: helpers.Viewer


def _active(owner: helpers.Admin, webcast_id: str, poll_id: str, address: str) -> Person:
    """A participant signed in who wrote, answered and watched."""
    created = _participant(owner, webcast_id, email=address)
    http = helpers.client()
    signed_in = http.post(
        f"/api/w/{webcast_id}/login",
        json={"login": address, "password": created["generated_password"]},
    )
    assert signed_in.status_code == 200, signed_in.text
    viewer = helpers.Viewer.from_answer(http, webcast_id, signed_in)
    base = f"/api/w/{webcast_id}"
    assert viewer.post(f"{base}/messages", json={"text": f"From {address}"}).status_code == 201
    answer = {"answers": {"q1": "yes"}}
    assert viewer.post(f"{base}/polls/{poll_id}/answer", json=answer).status_code == 201
    assert viewer.post(f"{base}/heartbeat", json={"mode": "live"}).status_code == 202
    TRACKING.drain()
    return Person(id=str(created["id"]), password=created["generated_password"], viewer=viewer)


def _day(days: int) -> str:
    return (datetime.fromtimestamp(clock.now(), UTC).date() + timedelta(days=days)).isoformat()


def _published_texts(reader: helpers.Viewer, webcast_id: str) -> list[str]:
    feed = reader.get(f"/api/w/{webcast_id}/messages/published")
    assert feed.status_code == 200, feed.text
    return [item["text"] for item in feed.json()["items"]]


def _visible(
    owner: helpers.Admin, reader: helpers.Viewer, webcast_id: str, address: str
) -> dict[str, bool]:
    """Where the person shows up for the controller and other viewers, through the API."""
    base = f"/api/webcasts/{webcast_id}"
    listed = owner.get(f"{base}/participants", params={"search": address})
    assert listed.status_code == 200, listed.text
    exported = owner.get(f"{base}/participants/export.csv")
    assert exported.status_code == 200, exported.text
    moderated = owner.get(f"{base}/messages")
    assert moderated.status_code == 200, moderated.text
    searched = owner.post("/api/people/search", json={"email": address})
    return {
        "list": bool(listed.json()["items"]),
        "csv": address in exported.text,
        "moderation": f"From {address}" in moderated.text,
        "feed": f"From {address}" in _published_texts(reader, webcast_id),
        "search": bool(searched.json()["records"]),
    }


def _signs_in(webcast_id: str, address: str, password: str) -> bool:
    answer = helpers.client().post(
        f"/api/w/{webcast_id}/login", json={"login": address, "password": password}
    )
    return answer.status_code == 200


@pytest.mark.claim("P24")
def test_a_blocked_person_leaves_every_list_and_use_and_comes_back_when_unblocked(stack, mail_sink):
    owner = helpers.new_owner("blocking")
    webcast_id, poll_id = _webcast_with_a_poll(owner, "held")
    address = helpers.unique_email("held")
    held = _active(owner, webcast_id, poll_id, address)
    staying_address = helpers.unique_email("free")
    staying = _active(owner, webcast_id, poll_id, staying_address)
    messages = owner.get(f"/api/webcasts/{webcast_id}/messages").json()["items"]
    for message in messages:
        published = owner.patch(
            f"/api/webcasts/{webcast_id}/messages/{message['id']}", json={"published": True}
        )
        assert published.status_code == 200, published.text
    everywhere = dict.fromkeys(("list", "csv", "moderation", "feed", "search"), True)
    assert _visible(owner, staying.viewer, webcast_id, address) == everywhere

    for until, why in ((_day(0), "today"), (_day(3651), "beyond the longest retention")):
        refused = owner.post(
            "/api/people/blocking", json={"email": address, "reason": "Tax audit", "until": until}
        )
        assert refused.status_code == 422, (why, refused.text)
        assert refused.json()["errors"][0]["field"] == "until"
    blocked = owner.post(
        "/api/people/blocking",
        json={"email": address, "reason": "Tax audit 2026", "until": _day(30)},
    )
    assert blocked.status_code == 200, blocked.text
    changed = blocked.json()["changed"]
    assert changed["participants"] == 1
    assert changed["messages"] >= 1 and changed["polls"] >= 1 and changed["tracking"] >= 1

    nowhere = dict.fromkeys(everywhere, False)
    assert _visible(owner, staying.viewer, webcast_id, address) == nowhere
    assert _visible(owner, staying.viewer, webcast_id, staying_address) == everywhere, (
        "others stay as they were"
    )
    assert not _signs_in(webcast_id, address, held.password)
    assert held.viewer.get(f"/api/w/{webcast_id}/me").status_code == 403, "its grant went"
    one = owner.get(f"/api/webcasts/{webcast_id}/participants/{held.id}")
    assert one.status_code == 404
    invitations = f"/api/webcasts/{webcast_id}/invitations"
    named = owner.post(invitations, json={"participant_ids": [held.id]})
    assert named.status_code == 422, "no longer a participant one can mail"
    invited = owner.post(invitations, json={"all": True})
    assert invited.status_code == 202, invited.text
    drain()
    assert mail_sink.to(address) == [] and len(mail_sink.to(staying_address)) == 1
    [listed] = owner.get("/api/people/holds").json()["items"]
    assert (listed["participant_id"], listed["reason"]) == (held.id, "Tax audit 2026")
    assert listed["until"].startswith(_day(30)) and address not in json.dumps(listed)
    stored: Any = cosmos_container("participants").read_item(held.id, partition_key=webcast_id)
    assert stored["blocked_reason"] == "Tax audit 2026" and stored["email"] == address, "kept"

    unblocked = owner.post("/api/people/unblocking", json={"email": address})
    assert unblocked.status_code == 200, unblocked.text
    assert unblocked.json()["changed"]["participants"] == 1
    assert _visible(owner, staying.viewer, webcast_id, address) == everywhere
    assert _signs_in(webcast_id, address, held.password)
    assert owner.get("/api/people/holds").json()["items"] == []
    for action in ("subject.block", "subject.unblock"):
        [entry] = helpers.audit_entries(owner.tenant_id, action=action)
        assert entry.entity_ids == [held.id]


@pytest.mark.claim("P24")
def test_a_hold_that_ended_is_erased_by_the_retention_timer(stack):
    owner = helpers.new_owner("blocking-ends")
    webcast_id, poll_id = _webcast_with_a_poll(owner, "ends")
    address = helpers.unique_email("ends")
    held = _active(owner, webcast_id, poll_id, address)
    staying = _active(owner, webcast_id, poll_id, helpers.unique_email("stays"))
    hold = {"email": address, "reason": "Court order", "until": _day(2)}
    assert owner.post("/api/people/blocking", json=hold).status_code == 200

    assert retention.run(tenant_id=owner.tenant_id).hold_erasures == 0, "the hold still runs"
    assert participants.get(
        tenant_id=owner.tenant_id, partition_key=webcast_id, item_id=held.id, include_blocked=True
    )
    clock.advance(3 * DAY)
    assert retention.run(tenant_id=owner.tenant_id).hold_erasures >= 1
    assert (
        participants.get(
            tenant_id=owner.tenant_id,
            partition_key=webcast_id,
            item_id=held.id,
            include_blocked=True,
        )
        is None
    )
    messages = cosmos_container("messages").query_items(
        "SELECT c.id FROM c WHERE c.participant_id = @p",
        parameters=[{"name": "@p", "value": held.id}],
        enable_cross_partition_query=True,
    )
    assert list(messages) == []
    assert participants.get(tenant_id=owner.tenant_id, partition_key=webcast_id, item_id=staying.id)
    [erased] = [
        e
        for e in helpers.audit_entries(owner.tenant_id, action="subject.erase")
        if e.entity_ids == [held.id]
    ]
    assert erased.actor_kind == "system"
