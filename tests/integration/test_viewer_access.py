"""Protected webcasts admit only people checked against stored participant data (P14).

The viewer routes come from the isolation test's route table, so a new viewer route is
checked here without being named.
"""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from shared.tracking.settings import QUEUE_SHARDS
from tests import helpers
from tests.integration.test_isolation import _POLL, ROUTES, VIEWER, _make_ready

PROTECTED_MODES = ("login", "registration", "invitation")
TRACKING = helpers.Triggers({f"tracking_heartbeats_{n}" for n in range(QUEUE_SHARDS)})
_VIEWER_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/w/{webcast_id}/messages"): {"text": "Let me in"},
    ("POST", "/api/w/{webcast_id}/polls/{poll_id}/answer"): {"answers": {"q1": "yes"}},
    ("POST", "/api/w/{webcast_id}/heartbeat"): {"mode": "live"},
}


@dataclass
class Visitor:
    http: TestClient
    csrf: str | None

    def call(self, method: str, path: str, ids: dict[str, str]) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf} if self.csrf and method != "GET" else {}
        body = _VIEWER_BODIES.get((method, path)) if method != "GET" else None
        return self.http.request(method, path.format(**ids), headers=headers, json=body)


def _viewer_routes() -> list[tuple[str, str]]:
    """Every route that serves a webcast's viewers, with the participant's own view."""
    routes = [route for route, access in ROUTES.items() if access == VIEWER]
    return sorted([*routes, ("GET", "/api/w/{webcast_id}/me")])


@pytest.fixture(scope="module")
def protected(stack):
    """A webcast with every viewer module and something behind each viewer route, a
    participant signed in with a password, and a viewer of another, public webcast."""
    owner = helpers.new_owner("protected")
    modules = {"message_box": True, "polls": True, "tracking": True}
    created = owner.post(
        "/api/webcasts",
        json={"title": "Board", "slug": "board", "access_mode": "login", "modules": modules},
    )
    assert created.status_code == 201, created.text
    webcast_id = created.json()["id"]
    base = f"/api/webcasts/{webcast_id}"
    participant = owner.post(f"{base}/participants", json={"username": "member"})
    assert participant.status_code == 201, participant.text
    poll_id = owner.post(f"{base}/polls", json=_POLL).json()["id"]
    assert owner.post(f"{base}/polls/{poll_id}/open", json={}).status_code == 200
    shown = owner.request("PUT", f"{base}/polls/{poll_id}/results-visibility", json={"shown": True})
    assert shown.status_code == 200, shown.text
    asset_id = owner.post(
        f"{base}/media", json={"title": "Talk", "filename": "talk.mp4", "size": 1000}
    ).json()["asset"]["id"]
    _make_ready(owner.tenant_id, webcast_id, asset_id)
    assert owner.post(f"{base}/media/{asset_id}/publish").status_code == 200
    assert owner.post(f"{base}/live", json={"record": False}).status_code == 201
    handout = owner.post(
        f"{base}/handouts",
        json={
            "title": "Slides",
            "filename": "slides.pdf",
            "content_type": "application/pdf",
            "size": 1000,
        },
    )
    assert handout.status_code == 201, handout.text
    member_http = helpers.client()
    signed_in = member_http.post(
        f"/api/w/{webcast_id}/login",
        json={"login": "member", "password": participant.json()["generated_password"]},
    )
    assert signed_in.status_code == 200, signed_in.text
    member = Visitor(member_http, signed_in.json()["csrf_token"])
    message = member.call("POST", "/api/w/{webcast_id}/messages", {"webcast_id": webcast_id})
    assert message.status_code == 201, message.text
    public_id = owner.post("/api/webcasts", json={"title": "Open", "slug": "open"}).json()["id"]
    elsewhere_http = helpers.client()
    entered = elsewhere_http.post(f"/api/w/{public_id}/enter")
    assert entered.status_code == 200, entered.text
    ids = {
        "webcast_id": webcast_id,
        "poll_id": poll_id,
        "asset_id": asset_id,
        "handout_id": handout.json()["handout"]["id"],
        "message_id": message.json()["id"],
        "language": "de",
        "rung": "720p",
        "session_id": "0" * 32,
    }
    return owner, ids, member, Visitor(elsewhere_http, entered.json()["csrf_token"])


@pytest.mark.claim("P14")
def test_entering_a_protected_webcast_is_refused_and_so_is_every_viewer_route(protected):
    owner, ids, member, elsewhere = protected
    webcast_id = ids["webcast_id"]
    routes = _viewer_routes()
    # The signed-in participant reaches every route (none answers 403): the refusals below
    # come from the missing grant, not from a route that refuses everyone.
    for method, path in routes:
        response = member.call(method, path, ids)
        assert response.status_code != 403, (method, path, response.text)
    # A viewer who entered while the webcast was public loses that grant once it is not.
    opened = owner.patch(f"/api/webcasts/{webcast_id}", json={"access_mode": "public"})
    assert opened.status_code == 200, opened.text
    early_http = helpers.client()
    entered = early_http.post(f"/api/w/{webcast_id}/enter")
    assert entered.status_code == 200, entered.text
    early = Visitor(early_http, entered.json()["csrf_token"])
    for mode in PROTECTED_MODES:
        changed = owner.patch(f"/api/webcasts/{webcast_id}", json={"access_mode": mode})
        assert changed.status_code == 200, changed.text
        # A new client, and one that holds a session (and its CSRF token) of another webcast.
        for visitor in (Visitor(helpers.client(), None), elsewhere):
            refused = visitor.call("POST", "/api/w/{webcast_id}/enter", ids)
            assert refused.status_code == 403, (mode, refused.text)
            assert "set-cookie" not in refused.headers, "a refusal grants no session"
        for visitor in (elsewhere, early):
            for method, path in routes:
                response = visitor.call(method, path, ids)
                assert response.status_code == 403, (mode, method, path, response.text)
        assert member.call("GET", "/api/w/{webcast_id}/me", ids).status_code == 200
    TRACKING.drain()  # the member's heartbeat: no tracking message is left for other tests
