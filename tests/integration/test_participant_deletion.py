"""A participant manager's delete removes the person and what is tied to them (P03, P19)."""

from typing import Any

import pytest

from shared.auth.models import Permission
from shared.composition.privacy_handlers import COSMOS_HANDLERS
from shared.participants import access
from shared.participants.repository import participants
from shared.privacy.models import DataSubject, NotYet
from shared.tracking.settings import QUEUE_SHARDS
from tests import helpers
from tests.integration.test_isolation import _POLL

TRACKING = helpers.Triggers({f"tracking_heartbeats_{n}" for n in range(QUEUE_SHARDS)})
# The audit log keeps its entries about the person: ids only, the processing log (P31).
KEPT = {"audit"}


def _exports(subject: DataSubject) -> dict[str, list[Any]]:
    """What every listed Cosmos exporter holds about the person, by container."""
    return {
        name: handlers.exporter(subject=subject)
        for name, handlers in COSMOS_HANDLERS.items()
        if not isinstance(handlers.exporter, NotYet) and name not in KEPT
    }


def _signed_in_activity(webcast_id: str, username: str, password: str, poll_id: str) -> None:
    """Sign in, send a message, answer the poll and send a heartbeat."""
    http = helpers.client()
    signed_in = http.post(
        f"/api/w/{webcast_id}/login", json={"login": username, "password": password}
    )
    assert signed_in.status_code == 200, signed_in.text
    csrf = {"X-CSRF-Token": signed_in.json()["csrf_token"]}
    base = f"/api/w/{webcast_id}"
    sent = http.post(f"{base}/messages", headers=csrf, json={"text": f"From {username}"})
    assert sent.status_code == 201, sent.text
    answer = {"answers": {"q1": "yes"}}
    assert http.post(f"{base}/polls/{poll_id}/answer", headers=csrf, json=answer).status_code == 201
    assert http.post(f"{base}/heartbeat", headers=csrf, json={"mode": "live"}).status_code == 202


@pytest.mark.claim("P03")
@pytest.mark.claim("P19")
def test_a_participant_managers_delete_removes_messages_answers_viewings_and_links(stack):
    owner = helpers.new_owner("delete-tied")
    tied = {
        "messages_show_sender_to_moderators": True,
        "poll_results_tied_to_participant": True,
        "attendance_tied_to_participant": True,
    }
    webcast_id = helpers.new_webcast(
        owner,
        "tied",
        title="Tied",
        access_mode="login",
        modules={"message_box": True, "polls": True, "tracking": True},
        privacy=tied,
    )
    poll_id = owner.post(f"/api/webcasts/{webcast_id}/polls", json=_POLL).json()["id"]
    assert (
        owner.post(f"/api/webcasts/{webcast_id}/polls/{poll_id}/open", json={}).status_code == 200
    )
    manager = helpers.new_subaccount(owner, [Permission.participants])
    subjects = {}
    for username in ("leaving", "staying"):
        created = manager.post(
            f"/api/webcasts/{webcast_id}/participants", json={"username": username}
        ).json()
        _signed_in_activity(webcast_id, username, created["generated_password"], poll_id)
        participant = participants.get(
            tenant_id=owner.tenant_id, partition_key=webcast_id, item_id=created["id"]
        )
        assert participant is not None
        access.issue_link(participant=participant, single_use=False)
        subjects[username] = DataSubject(
            tenant_id=owner.tenant_id, webcast_id=webcast_id, participant_id=created["id"]
        )
    TRACKING.drain()
    before = _exports(subjects["leaving"])
    held = {"participants", "messages", "polls", "tracking", "tokens", "sessions", "people_index"}
    assert {name for name, found in before.items() if found} == held
    leaving = subjects["leaving"].participant_id
    deleted = manager.delete(f"/api/webcasts/{webcast_id}/participants/{leaving}")
    assert deleted.status_code == 204, deleted.text
    assert _exports(subjects["leaving"]) == {name: [] for name in before}
    staying = _exports(subjects["staying"])
    assert {name for name, found in staying.items() if found} == held, "others keep theirs"
    [entry] = helpers.audit_entries(owner.tenant_id, action="participant.delete")
    assert (entry.actor_id, entry.entity_id) == (manager.account_id, leaving)
