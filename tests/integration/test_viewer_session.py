"""A reloaded participant page reads its session back: grant and CSRF token (issue 15)."""

from fastapi.testclient import TestClient

from functions.api.viewer_deps import VIEWER_COOKIE
from tests import helpers


def _reloaded(http: TestClient) -> TestClient:
    """The same browser after a reload: its cookie, nothing the page kept in memory."""
    again = helpers.client()
    again.cookies.set(VIEWER_COOKIE, http.cookies[VIEWER_COOKIE], domain="testserver.local")
    return again


def test_a_reloaded_page_gets_its_grant_and_csrf_token_back_and_can_post(stack):
    owner = helpers.new_owner("reload")
    created = owner.post(
        "/api/webcasts",
        json={
            "title": "Town hall",
            "slug": "town-hall",
            "access_mode": "login",
            "modules": {"message_box": True},
        },
    )
    assert created.status_code == 201, created.text
    webcast_id = created.json()["id"]
    participant = owner.post(
        f"/api/webcasts/{webcast_id}/participants", json={"username": "reloader"}
    ).json()
    http = helpers.client()
    signed_in = http.post(
        f"/api/w/{webcast_id}/login",
        json={"login": "reloader", "password": participant["generated_password"]},
    )
    assert signed_in.status_code == 200, signed_in.text

    page = _reloaded(http)
    state = page.get(f"/api/w/{webcast_id}/session")
    assert state.status_code == 200, state.text
    assert state.headers["cache-control"] == "no-store"
    assert state.json() == {
        "webcast_id": webcast_id,
        "granted": True,
        "participant_id": participant["id"],
        "embedded": False,
        "csrf_token": signed_in.json()["csrf_token"],
    }
    without_token = page.post(f"/api/w/{webcast_id}/messages", json={"text": "Still here?"})
    assert without_token.status_code == 403
    posted = page.post(
        f"/api/w/{webcast_id}/messages",
        headers={"X-CSRF-Token": state.json()["csrf_token"]},
        json={"text": "Still here?"},
    )
    assert posted.status_code == 201, posted.text

    # A second webcast in the same browser: the session is known, the grant is not.
    other_id = owner.post("/api/webcasts", json={"title": "Other", "slug": "other"}).json()["id"]
    other = page.get(f"/api/w/{other_id}/session").json()
    assert other["granted"] is False and other["participant_id"] is None
    assert other["csrf_token"] == state.json()["csrf_token"]
    entered = page.post(f"/api/w/{other_id}/enter", headers={"X-CSRF-Token": other["csrf_token"]})
    assert entered.status_code == 200, entered.text
    assert page.get(f"/api/w/{other_id}/session").json()["granted"] is True

    # The participant is deleted: the grant no longer counts.
    deleted = owner.delete(f"/api/webcasts/{webcast_id}/participants/{participant['id']}")
    assert deleted.status_code == 204, deleted.text
    gone = page.get(f"/api/w/{webcast_id}/session").json()
    assert gone["granted"] is False and gone["participant_id"] is None


def test_without_a_session_nothing_is_granted_and_no_token_is_handed_out(stack):
    owner = helpers.new_owner("nosession")
    webcast_id = owner.post("/api/webcasts", json={"title": "Open", "slug": "open"}).json()["id"]
    fresh = helpers.client().get(f"/api/w/{webcast_id}/session")
    assert fresh.status_code == 200, fresh.text
    assert fresh.json() == {
        "webcast_id": webcast_id,
        "granted": False,
        "participant_id": None,
        "embedded": False,
        "csrf_token": None,
    }
    # A forged or stale cookie is no session.
    forged = helpers.client()
    forged.cookies.set(VIEWER_COOKIE, "A" * 43, domain="testserver.local")
    assert forged.get(f"/api/w/{webcast_id}/session").json()["csrf_token"] is None
    assert helpers.client().get(f"/api/w/{'0' * 32}/session").status_code == 404
    # An anonymous grant of a public webcast ends when the webcast stops being public.
    viewer = helpers.client()
    assert viewer.post(f"/api/w/{webcast_id}/enter").status_code == 200
    assert viewer.get(f"/api/w/{webcast_id}/session").json()["granted"] is True
    closed = owner.patch(f"/api/webcasts/{webcast_id}", json={"access_mode": "login"})
    assert closed.status_code == 200, closed.text
    assert viewer.get(f"/api/w/{webcast_id}/session").json()["granted"] is False
