"""Retention (P21): a webcast's retention counts from its end; the owner's notice comes first,
the deletion a full lead later, an extension postpones both; participant data with a
shorter retention goes earlier, while the webcast, its media and a frozen report stay."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.auth.models import Permission
from shared.clients import cosmos_container
from shared.composition import retention
from shared.composition.retention import DAY_SECONDS
from shared.participants import access
from shared.participants.repository import participants
from shared.webcasts.service import being_deleted
from tests import helpers
from tests.integration.test_isolation import _POLL, _in
from tests.integration.test_mail import drain
from tests.integration.test_participant_deletion import TRACKING, _signed_in_activity

MINUTE = 60


def _ended_webcast(owner: helpers.Admin, **fields: Any) -> tuple[str, float]:
    """A webcast whose schedule ended an hour ago; its id and its end."""
    ends = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    schedule = {
        "starts_at": (ends - timedelta(hours=1)).isoformat(),
        "ends_at": ends.isoformat(),
    }
    return helpers.new_webcast(owner, schedule=schedule, **fields), ends.timestamp()


def _run(owner: helpers.Admin, at: float) -> retention.RetentionRun:
    result = retention.run(at=at, tenant_id=owner.tenant_id)
    assert result.failures == 0
    return result


def _of_webcast(container: str, webcast_id: str, doc_type: str) -> list[dict[str, Any]]:
    return list(
        cosmos_container(container).query_items(
            "SELECT * FROM c WHERE c.webcast_id = @w AND c.type = @t",
            parameters=[{"name": "@w", "value": webcast_id}, {"name": "@t", "value": doc_type}],
            enable_cross_partition_query=True,
        )
    )


def _fields(response: Any) -> list[str]:
    """The fields a problem names."""
    return [error["field"] for error in response.json()["errors"]]


def _links_and_sessions(webcast_id: str) -> list[dict[str, Any]]:
    """Personal-link tokens and viewer sessions with a grant for the webcast."""
    found = list(
        cosmos_container("tokens").query_items(
            "SELECT c.id FROM c WHERE STARTSWITH(c.account_id, @owner)",
            parameters=[{"name": "@owner", "value": f"{webcast_id}/"}],
            enable_cross_partition_query=True,
        )
    )
    return found + list(
        cosmos_container("sessions").query_items(
            "SELECT c.id FROM c WHERE IS_DEFINED(c.grants[@w])",
            parameters=[{"name": "@w", "value": webcast_id}],
            enable_cross_partition_query=True,
        )
    )


def _upvote_a_message(owner: helpers.Admin, webcast_id: str, username: str, password: str) -> None:
    """Publish the first message and upvote it as the participant."""
    listed = owner.get(f"/api/webcasts/{webcast_id}/messages").json()["items"]
    message_id = listed[0]["id"]
    published = owner.patch(
        f"/api/webcasts/{webcast_id}/messages/{message_id}", json={"published": True}
    )
    assert published.status_code == 200, published.text
    http = helpers.client()
    signed_in = http.post(
        f"/api/w/{webcast_id}/login", json={"login": username, "password": password}
    )
    csrf = {"X-CSRF-Token": signed_in.json()["csrf_token"]}
    voted = http.post(f"/api/w/{webcast_id}/messages/{message_id}/votes", headers=csrf)
    assert voted.status_code == 200, voted.text
    assert len(_of_webcast("messages", webcast_id, "message-vote")) == 1


@pytest.mark.claim("P21")
def test_an_expired_webcast_gets_its_notice_first_and_is_deleted_a_lead_later(stack, mail_sink):
    owner = helpers.new_owner("retention")
    webcast_id, end = _ended_webcast(owner, title="Kept two days", retention_days=2)
    kept_id = helpers.new_webcast(owner, title="Kept a year")
    # Two days from the end, the notice a day before (half the period: less than 14 days).
    with helpers.changed_settings(retention_page_size=1):
        early = _run(owner, end + DAY_SECONDS - MINUTE)
    assert (early.webcasts, early.notices) == (2, 0), "both pages were read"
    noticed = end + DAY_SECONDS + MINUTE
    assert _run(owner, noticed).notices == 1
    assert _run(owner, noticed + MINUTE).notices == 0, "one notice per deletion date"
    drain()
    [mail] = mail_sink.to(owner.email)
    assert "Kept two days" in mail.get_content()
    assert f"/admin/#/webcasts/{webcast_id}" in mail.get_content()
    # Due two days after the end, and a full day after the notice, which went out a minute late.
    assert _run(owner, end + 2 * DAY_SECONDS + MINUTE // 2).deletions == 0
    assert owner.get(f"/api/webcasts/{webcast_id}").status_code == 200
    assert _run(owner, noticed + DAY_SECONDS).deletions == 1
    assert owner.get(f"/api/webcasts/{webcast_id}").status_code == 404
    stored = being_deleted(tenant_id=owner.tenant_id, webcast_id=webcast_id)
    assert stored is not None and stored.deletion_started_at is not None, "tombstoned"
    job = owner.get(f"/api/deletions/{webcast_id}")  # the job goes by the webcast's id
    assert job.status_code == 200, job.text
    assert job.json()["reason"] == "retention"
    assert _run(owner, noticed + 2 * DAY_SECONDS).deletions == 0, "tombstoned: not listed"
    assert owner.get(f"/api/webcasts/{kept_id}").status_code == 200


@pytest.mark.claim("P21")
def test_an_owners_extension_postpones_the_deletion_and_brings_a_new_notice(stack):
    owner = helpers.new_owner("retention-extend")
    webcast_id = helpers.new_webcast(owner, retention_days=2)
    created = datetime.fromisoformat(owner.get(f"/api/webcasts/{webcast_id}").json()["created_at"])
    end = created.timestamp()  # no schedule, no live session, nothing published
    # Found long expired: the notice goes first, never the deletion in the same run.
    late = end + 10 * DAY_SECONDS
    first = _run(owner, late)
    assert (first.notices, first.deletions) == (1, 0)
    url = f"/api/webcasts/{webcast_id}/retention/extension"
    # Keeping data longer is the owner's decision: not a sub-account's, not support's.
    sub = helpers.new_subaccount(owner, list(Permission))
    assert sub.post(url, json={"days": 30}).status_code == 403
    grant = owner.post("/api/support-grants", json={"scope": "full", "expires_at": _in(1)})
    assert grant.status_code == 201, grant.text
    _, support = helpers.new_support()
    assert support.post(f"/api/support/tenants/{owner.tenant_id}/enter").status_code == 200
    assert support.post(url, json={"days": 30}).status_code == 403
    assert owner.post(url, json={"days": 0}).status_code == 422
    too_long = owner.post(url, json={"days": 3649})
    assert too_long.status_code == 422
    assert _fields(too_long) == ["days"]
    extended = owner.post(url, json={"days": 28})
    assert extended.status_code == 200, extended.text
    view = extended.json()
    assert view["retention_days"] == 30
    assert view["deletes_at"].startswith((created + timedelta(days=30)).date().isoformat())
    [entry] = helpers.audit_entries(owner.tenant_id, action="webcast.retention.extend")
    assert (entry.entity_id, entry.actor_id) == (webcast_id, owner.account_id)
    # The old date's deletion does not come; the new date's notice is 14 days before it.
    assert _run(owner, late + DAY_SECONDS + MINUTE).deletions == 0
    assert _run(owner, end + 16 * DAY_SECONDS - MINUTE).notices == 0
    again = _run(owner, end + 16 * DAY_SECONDS + MINUTE)
    assert (again.notices, again.deletions) == (1, 0)
    assert (
        owner.get(f"/api/webcasts/{webcast_id}/retention").json()["notice_sent_for"]
        == (view["deletes_at"])
    )


@pytest.mark.claim("P21")
def test_retention_periods_are_bounded_and_participant_data_never_outlives_the_webcast(stack):
    owner = helpers.new_owner("retention-bounds")
    for days in (0, 3651, 3_650_000):
        refused = owner.post(
            "/api/webcasts", json={"title": "T", "slug": "bounds", "retention_days": days}
        )
        assert refused.status_code == 422, days
    longer = owner.post(
        "/api/webcasts",
        json={
            "title": "T",
            "slug": "longer",
            "retention_days": 30,
            "participant_retention_days": 31,
        },
    )
    assert longer.status_code == 422
    assert _fields(longer) == ["participant_retention_days"]
    webcast_id = helpers.new_webcast(owner, retention_days=30, participant_retention_days=10)
    url = f"/api/webcasts/{webcast_id}"
    raised = owner.patch(url, json={"participant_retention_days": 40})
    assert raised.status_code == 422
    assert _fields(raised) == ["participant_retention_days"]
    assert owner.patch(url, json={"retention_days": 36_500}).status_code == 422
    shortened = owner.patch(url, json={"retention_days": 5})
    assert shortened.status_code == 422
    assert _fields(shortened) == ["retention_days"]
    assert owner.get(url).json()["participant_retention_days"] == 10


@pytest.mark.claim("P21")
def test_participant_retention_erases_participants_and_their_traces_but_keeps_a_frozen_report(
    stack,
):
    owner = helpers.new_owner("retention-participants")
    webcast_id, end = _ended_webcast(
        owner,
        access_mode="login",
        modules={"message_box": True, "polls": True, "tracking": True},
        # Senders tied, answers and viewings pseudonymous: both kinds go.
        privacy={"messages_show_sender_to_moderators": True},
        retention_days=30,
        participant_retention_days=2,
    )
    base = f"/api/webcasts/{webcast_id}"
    poll_id = owner.post(f"{base}/polls", json=_POLL).json()["id"]
    assert owner.post(f"{base}/polls/{poll_id}/open", json={}).status_code == 200
    passwords = {}
    for username in ("ada", "bob"):
        created = owner.post(f"{base}/participants", json={"username": username}).json()
        passwords[username] = created["generated_password"]
        _signed_in_activity(webcast_id, username, passwords[username], poll_id)
        participant = participants.get(
            tenant_id=owner.tenant_id, partition_key=webcast_id, item_id=created["id"]
        )
        assert participant is not None
        access.issue_link(participant=participant, single_use=False)
    TRACKING.drain()
    _upvote_a_message(owner, webcast_id, "ada", passwords["ada"])
    asset = owner.post(
        f"{base}/media", json={"title": "Recording", "filename": "talk.mp4", "size": 1000}
    )
    assert asset.status_code == 201, asset.text
    report = owner.get(f"{base}/attendance").json()
    assert report["unique_viewers"] == 2 and report["frozen_at"] is None
    assert len(_of_webcast("tracking", webcast_id, "viewing")) == 2
    assert len(_links_and_sessions(webcast_id)) == 5, "two links, three sign-ins"

    assert _run(owner, end + 2 * DAY_SECONDS - MINUTE).participant_erasures == 0
    assert len(helpers.stored_participants(webcast_id)) == 2
    erased_at = end + 2 * DAY_SECONDS + MINUTE
    with helpers.changed_settings(retention_erase_batch=5):
        # Five documents a run: the next run continues where the last one stopped.
        runs = [_run(owner, erased_at).participant_erasures for _ in range(3)]
    assert runs.count(1) == 1 and runs[-1] == 0, runs

    assert helpers.stored_participants(webcast_id) == []
    assert _of_webcast("tracking", webcast_id, "viewing") == []
    assert _of_webcast("polls", webcast_id, "poll-vote") == []
    assert _of_webcast("messages", webcast_id, "message-vote") == []
    assert _links_and_sessions(webcast_id) == []
    messages = _of_webcast("messages", webcast_id, "message")
    assert len(messages) == 2
    assert (
        sum(
            t["counts"].get(m["id"], 0)
            for t in _of_webcast("messages", webcast_id, "message-tally")
            for m in messages
        )
        == 1
    ), "counted"
    assert all(not m.get("participant_id") and not m["sender_hash"] for m in messages)
    frozen = owner.get(f"{base}/attendance").json()
    assert frozen["frozen_at"] is not None
    assert {k: v for k, v in frozen.items() if k not in ("frozen_at", "generated_at")} == {
        k: v for k, v in report.items() if k not in ("frozen_at", "generated_at")
    }
    results = owner.get(f"{base}/polls/{poll_id}/results").json()
    assert results["responses"] == 2
    assert owner.get(base).status_code == 200
    assert [a["id"] for a in owner.get(f"{base}/media").json()] == [asset.json()["asset"]["id"]]
    assert owner.get(f"{base}/retention").json()["participant_data_erased_at"] is not None
    # Someone who registers later goes with the next run; the frozen report stays as it was.
    late = owner.post(f"{base}/participants", json={"username": "late"})
    assert late.status_code == 201, late.text
    assert _run(owner, erased_at + DAY_SECONDS).participant_erasures == 1
    assert helpers.stored_participants(webcast_id) == []
    assert owner.get(f"{base}/attendance").json()["frozen_at"] == frozen["frozen_at"]
