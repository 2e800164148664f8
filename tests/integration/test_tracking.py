"""Attendance tracking through the API, the queues and the worker (P17, P19, issue 4)."""

import csv
import functools
import io
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from azure.functions.queue import QueueMessage
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from devtools.runner import TriggerRunner, app_functions
from functions.api.viewer_deps import VIEWER_COOKIE
from functions.triggers import tracking as tracking_triggers
from shared import clock
from shared.clients import cosmos_container, queue_client
from shared.ids import token_hash
from shared.participants import sessions as viewer_sessions
from shared.tracking import slots
from shared.tracking.models import HeartbeatMessage, Mode
from shared.tracking.repository import viewing_id, viewings
from shared.tracking.settings import QUEUE_SHARDS, SLOT_SECONDS, queue_for, tracking_settings
from tests import helpers

_RUNNER: TriggerRunner | None = None


def _runner() -> TriggerRunner:
    """The runner over the tracking shards only (other tests' queues stay as they are)."""
    global _RUNNER
    if _RUNNER is None:
        _RUNNER = TriggerRunner(
            functions=[
                f
                for f in app_functions()
                if (f.get_function_name() or "").startswith("tracking_heartbeats_")
            ],
            watch_containers=(),
            visibility_timeout=60,
            retry_delay=0,
            batch_size=32,
        )
    return _RUNNER


def drain() -> int:
    """Run the shard handlers until every tracking queue is empty; the messages handled."""
    handled = 0
    for _ in range(500):
        counts = _runner().run_once()
        assert counts.poisoned == 0 and counts.retried == 0, counts
        handled += counts.succeeded
        if not counts.did_work:
            return handled
    raise AssertionError("the runner kept finding work")


_webcast = functools.partial(helpers.new_webcast, modules={"tracking": True})


class Viewer(helpers.Viewer):
    """A viewer who sends heartbeats."""

    def beat(self, webcast_id: str, **body: Any) -> httpx.Response:
        return self.post(f"/api/w/{webcast_id}/heartbeat", json=body)


def _viewer(http: TestClient, webcast_id: str, participant_id: str | None = None) -> Viewer:
    """A session granted by the service, its cookie sent explicitly on a shared client."""
    issued = viewer_sessions.grant(
        current_token=None, webcast_id=webcast_id, participant_id=participant_id
    )
    return Viewer(http, webcast_id, issued.token, issued.session.csrf_token, participant_id)


def _registered(webcast_id: str) -> tuple[Viewer, str]:
    viewer = Viewer.register(webcast_id)
    return viewer, str(viewer.participant_id)


def _align(seconds: int) -> None:
    """Move the clock to one second past the next multiple of `seconds`."""
    clock.advance(seconds - clock.now() % seconds + 1)


def _tracking_docs(webcast_id: str) -> list[dict[str, Any]]:
    return list(
        cosmos_container("tracking").query_items(
            "SELECT * FROM c WHERE c.webcast_id = @w",
            parameters=[{"name": "@w", "value": webcast_id}],
            enable_cross_partition_query=True,
        )
    )


def _report(owner: helpers.Admin, webcast_id: str) -> dict[str, Any]:
    # Past the cache age, so that the report sees what was just drained.
    clock.advance(tracking_settings().report_max_age_seconds + 1)
    response = owner.get(f"/api/webcasts/{webcast_id}/attendance")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _problem_fields(response: httpx.Response) -> list[str]:
    assert response.headers["content-type"].startswith("application/problem+json")
    return [str(e["field"]) for e in response.json().get("errors", [])]


def test_slot_sets_merge_and_scale_to_minutes():
    assert slots.merge([(5, 6), (1, 2), (3, 3), (9, 9)]) == [(1, 3), (5, 6), (9, 9)]
    assert slots.merge([(5, 6), (1, 3), (4, 4), (2, 2)]) == [(1, 6)]
    assert slots.add([(1, 2)], 2, 1) == [(1, 2)]
    assert slots.add([(1, 2)], 4, 2) == [(1, 2), (4, 5)]
    assert slots.size([(1, 2), (4, 5)]) == 4
    assert slots.scale([(1, 2), (5, 5)], 2) == [(0, 2)]


def test_heartbeats_are_accepted_with_202_and_validated(stack):
    owner = helpers.new_owner("track-valid")
    webcast_id = _webcast(owner, "track-valid")
    viewer = Viewer.enter(webcast_id)
    accepted = viewer.beat(webcast_id, mode="live")
    assert accepted.status_code == 202, accepted.text
    assert accepted.json() == {"interval_seconds": 30}
    assert viewer.beat(webcast_id, mode="vod", position=12.5, asset_id="a1").status_code == 202
    for body, field in (
        ({"mode": "vod"}, "body.position"),
        ({"mode": "live", "position": 3}, "body.position"),
        ({"mode": "vod", "position": -1}, "body.position"),
        ({"mode": "replay"}, "body.mode"),
        ({}, "body.mode"),
        ({"mode": "vod", "position": 1, "asset_id": "../x"}, "body.asset_id"),
        ({"mode": "live", "viewer": "me"}, "body.viewer"),
    ):
        refused = viewer.beat(webcast_id, **body)
        assert refused.status_code == 422, (body, refused.text)
        assert field in _problem_fields(refused), (body, refused.json())
    assert drain() == 2


def test_heartbeats_need_a_grant_csrf_and_the_module(stack):
    owner = helpers.new_owner("track-grant")
    webcast_id = _webcast(owner, "track-grant")
    other_id = _webcast(owner, "track-other")
    off_id = _webcast(owner, "track-off", modules={"tracking": False})
    anonymous = helpers.client().post(f"/api/w/{webcast_id}/heartbeat", json={"mode": "live"})
    assert anonymous.status_code == 403
    elsewhere = Viewer.enter(other_id)
    assert elsewhere.beat(webcast_id, mode="live").status_code == 403
    viewer = Viewer.enter(webcast_id)
    no_csrf = viewer.client.post(
        f"/api/w/{webcast_id}/heartbeat",
        headers={"Cookie": f"{VIEWER_COOKIE}={viewer.token}"},
        json={"mode": "live"},
    )
    assert no_csrf.status_code == 403 and no_csrf.json()["type"].endswith("/csrf")
    switched_off = Viewer.enter(off_id)
    refused = switched_off.beat(off_id, mode="live")
    assert refused.status_code == 409 and refused.json()["type"].endswith("/module-off")
    assert drain() == 0


def test_handling_the_same_message_twice_changes_nothing(stack):
    owner = helpers.new_owner("track-idem")
    webcast_id = _webcast(owner, "track-idem")
    Viewer.enter(webcast_id).beat(webcast_id, mode="vod", position=42.0)
    body: bytes | None = None  # taken from whichever shard holds it
    for shard in range(QUEUE_SHARDS):
        received = queue_client(queue_for(shard))
        messages = list(received.receive_messages(max_messages=1, visibility_timeout=60))
        if messages:
            body = messages[0].content
            received.delete_message(messages[0])
            break
    assert body is not None
    message = QueueMessage(id="m1", body=body)  # type: ignore[no-untyped-call]
    assert tracking_triggers.handle(message) is True
    parsed = HeartbeatMessage.model_validate(json.loads(body))
    partition = f"{webcast_id}:t{parsed.shard}"
    item_id = viewing_id(parsed.viewer_id, Mode.vod.value)
    first = viewings.get(tenant_id=owner.tenant_id, item_id=item_id, partition_key=partition)
    assert first is not None and first.position == 42.0
    assert first.slots == [(parsed.slot, parsed.slot)]
    assert tracking_triggers.handle(message) is False  # nothing to write
    second = viewings.get(tenant_id=owner.tenant_id, item_id=item_id, partition_key=partition)
    assert second is not None and second.model_dump() == first.model_dump()
    report = _report(owner, webcast_id)
    assert (report["unique_viewers"], report["vod_minutes"]) == (1, 0.5)


def test_a_poison_heartbeat_ends_visible_in_the_poison_queue(stack):
    poison = queue_client(queue_for(3) + "-poison")
    poison.clear_messages()
    queue_client(queue_for(3)).send_message(b"{not a heartbeat")
    for _ in range(10):
        counts = _runner().run_once()
        if counts.poisoned:
            break
    else:
        raise AssertionError("the message never reached the poison queue")
    assert [m.content for m in poison.peek_messages(max_messages=5)] == [b"{not a heartbeat"]
    poison.clear_messages()


@pytest.mark.claim("P19")
def test_reports_figures_for_a_constructed_scenario_and_etags(stack):
    owner = helpers.new_owner("track-report")
    webcast_id = _webcast(owner, "track-report")
    a, b, c = (Viewer.enter(webcast_id) for _ in range(3))
    _align(60)  # t0 = the first second of a minute; every step below is one 30 s slot
    start_minute = int(clock.now() // 60)
    steps: list[list[tuple[Viewer, dict[str, Any]]]] = [
        [(a, {"mode": "live"})],
        [(a, {"mode": "live"}), (b, {"mode": "live"})],
        [(a, {"mode": "live"}), (b, {"mode": "live"})],
        [(a, {"mode": "live"})],
        [(c, {"mode": "vod", "position": 0})],
        [(c, {"mode": "vod", "position": 30})],
        [(c, {"mode": "vod", "position": 60}), (b, {"mode": "vod", "position": 10})],
    ]
    for index, step in enumerate(steps):
        if index:
            clock.advance(SLOT_SECONDS)
        for viewer, body in step:
            assert viewer.beat(webcast_id, **body).status_code == 202
    assert drain() == 10
    report = _report(owner, webcast_id)
    assert report["counted_per"] == "viewer session"
    assert report["unique_viewers"] == 3
    assert report["unique_participants"] is None
    # a: 4 live slots (120 s); b: 2 live + 1 vod (90 s); c: 3 vod (90 s)
    assert report["average_watch_seconds"] == 100.0
    assert report["median_watch_seconds"] == 90.0
    assert (report["live_minutes"], report["vod_minutes"]) == (3.0, 2.0)
    minutes = [(m["viewers"], m["live"], m["vod"]) for m in report["per_minute"]]
    assert minutes == [(2, 2, 0), (2, 2, 0), (1, 0, 1), (2, 0, 2)]
    assert report["per_minute"][0]["minute"] == clock.utc_iso(start_minute * 60.0)
    assert report["peak_concurrent_viewers"] == 2
    assert report["peak_minute"] == clock.utc_iso(start_minute * 60.0)
    # Moderator views poll with the ETag: 304 until a figure changes.
    first = owner.get(f"/api/webcasts/{webcast_id}/attendance")
    tag = first.headers["ETag"]
    unchanged = owner.get(f"/api/webcasts/{webcast_id}/attendance", headers={"If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.headers["ETag"] == tag
    clock.advance(tracking_settings().report_max_age_seconds + 1)
    recomputed = owner.get(f"/api/webcasts/{webcast_id}/attendance", headers={"If-None-Match": tag})
    assert recomputed.status_code == 304, "a new computation with the same figures"
    clock.advance(SLOT_SECONDS)
    assert a.beat(webcast_id, mode="live").status_code == 202
    assert drain() == 1
    clock.advance(tracking_settings().report_max_age_seconds + 1)
    changed = owner.get(f"/api/webcasts/{webcast_id}/attendance", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert changed.json()["unique_viewers"] == 3


@pytest.mark.claim("P19")
def test_with_the_switch_off_nothing_ties_attendance_to_participants(stack):
    owner = helpers.new_owner("track-off")
    webcast_id = _webcast(
        owner, "track-priv-off", access_mode="registration", admit_before_confirmation=True
    )
    viewer, participant_id = _registered(webcast_id)
    assert viewer.beat(webcast_id, mode="live").status_code == 202
    assert viewer.beat(webcast_id, mode="vod", position=5).status_code == 202
    assert drain() == 2
    docs = _tracking_docs(webcast_id)
    assert sorted(d["mode"] for d in docs) == ["live", "vod"]
    # Neither the participant nor the session store's key (the cookie hash) is stored.
    assert participant_id not in json.dumps(docs)
    assert token_hash(viewer.token) not in json.dumps(docs)
    report = _report(owner, webcast_id)
    assert report["unique_viewers"] == 1 and report["unique_participants"] is None
    stored = _tracking_docs(webcast_id)
    assert participant_id not in json.dumps(stored)
    assert all(d.get("participant_id") is None for d in stored)
    rows = owner.get(f"/api/webcasts/{webcast_id}/attendance/viewers").json()
    assert rows["tied_to_participant"] is False
    assert [r["participant_id"] for r in rows["rows"]] == [None]
    assert rows["rows"][0]["viewer"] != participant_id
    assert participant_id not in json.dumps(rows)
    exported = owner.get(f"/api/webcasts/{webcast_id}/attendance/export.csv").text
    assert participant_id not in exported
    assert "Viewer (pseudonymous, per session)" in exported


@pytest.mark.claim("P17")
def test_with_the_switch_on_durations_are_per_participant(stack):
    owner = helpers.new_owner("track-on")
    webcast_id = _webcast(
        owner,
        "track-priv-on",
        access_mode="registration",
        admit_before_confirmation=True,
        privacy={"attendance_tied_to_participant": True},
    )
    first, first_id = _registered(webcast_id)
    second, second_id = _registered(webcast_id)
    other_device = _viewer(first.client, webcast_id, first_id)  # the same person, a 2nd session
    _align(SLOT_SECONDS)
    for viewer in (first, other_device, second):
        assert viewer.beat(webcast_id, mode="live").status_code == 202
    clock.advance(SLOT_SECONDS)
    assert first.beat(webcast_id, mode="live").status_code == 202
    assert other_device.beat(webcast_id, mode="vod", position=1).status_code == 202
    assert drain() == 5
    docs = [d for d in _tracking_docs(webcast_id) if d["type"] == "viewing"]
    assert {d["participant_id"] for d in docs} == {first_id, second_id}
    report = _report(owner, webcast_id)
    assert (report["unique_viewers"], report["unique_participants"]) == (3, 2)
    listed = owner.get(f"/api/webcasts/{webcast_id}/attendance/viewers").json()
    assert listed["tied_to_participant"] is True
    durations = {
        r["participant_id"]: (r["live_seconds"], r["vod_seconds"], r["watched_seconds"])
        for r in listed["rows"]
    }
    # Two sessions in the same slot count once: 2 live slots and 1 vod slot.
    assert durations == {first_id: (60, 30, 90), second_id: (30, 0, 30)}
    assert {r["viewer"] for r in listed["rows"]} == {first_id, second_id}
    # The participant's data is exported and erased with the participant's (registry).
    from shared.privacy.models import DataSubject
    from shared.tracking import privacy

    subject = DataSubject(
        tenant_id=owner.tenant_id, webcast_id=webcast_id, participant_id=second_id
    )
    assert [d["mode"] for d in privacy.export_viewings(subject=subject)] == ["live"]
    assert privacy.erase_viewings(subject=subject) == 1
    assert privacy.export_viewings(subject=subject) == []


def test_exports_and_who_may_read_what(stack):
    owner = helpers.new_owner("track-export")
    webcast_id = _webcast(
        owner,
        "track-export",
        access_mode="registration",
        admit_before_confirmation=True,
        privacy={"attendance_tied_to_participant": True},
    )
    viewer, participant_id = _registered(webcast_id)
    assert viewer.beat(webcast_id, mode="live").status_code == 202
    assert drain() == 1
    csv_response = owner.get(f"/api/webcasts/{webcast_id}/attendance/export.csv")
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(csv_response.text.lstrip("\ufeff"))))
    assert rows[0][0] == "Participant" and rows[0][-1] == "Watched seconds"
    assert [(r[0], r[-1]) for r in rows[1:]] == [(participant_id, "30")]
    xlsx = owner.get(f"/api/webcasts/{webcast_id}/attendance/export.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True).active
    assert sheet is not None
    values = [[str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert values[1][0] == participant_id and values[1][-1] == "30"
    actions = [e.action for e in helpers.audit_entries(owner.tenant_id)]
    assert actions.count("attendance.export") == 2
    # A sub-account without the participants permission sees aggregates only.
    sub = helpers.new_subaccount(owner, [])
    assert sub.get(f"/api/webcasts/{webcast_id}/attendance").status_code == 200
    assert sub.get(f"/api/webcasts/{webcast_id}/attendance/viewers").status_code == 403
    assert sub.get(f"/api/webcasts/{webcast_id}/attendance/export.csv").status_code == 403
    stranger = helpers.new_owner("track-stranger")
    assert stranger.get(f"/api/webcasts/{webcast_id}/attendance").status_code == 404


def test_a_thousand_concurrent_heartbeats_are_all_counted(stack):
    owner = helpers.new_owner("track-load")
    webcast_id = _webcast(owner, "track-load")
    # Entered once, the client keeps one event loop for all requests instead of one each.
    with helpers.client() as http:
        viewers = [_viewer(http, webcast_id) for _ in range(1000)]
        with ThreadPoolExecutor(max_workers=32) as pool:
            statuses = list(
                pool.map(lambda v: v.beat(webcast_id, mode="live").status_code, viewers)
            )
    assert statuses == [202] * 1000
    assert drain() == 1000
    report = _report(owner, webcast_id)
    assert report["unique_viewers"] == 1000
    assert report["live_minutes"] == 1000 * SLOT_SECONDS / 60
    assert report["average_watch_seconds"] == report["median_watch_seconds"] == SLOT_SECONDS
    # One slot each, so every viewer is in exactly one minute.
    assert sum(m["viewers"] for m in report["per_minute"]) == 1000
    assert report["peak_concurrent_viewers"] == max(m["viewers"] for m in report["per_minute"])
    listed = owner.get(f"/api/webcasts/{webcast_id}/attendance/viewers").json()["rows"]
    assert len({r["viewer"] for r in listed}) == 1000
    assert {r["watched_seconds"] for r in listed} == {SLOT_SECONDS}
