"""An owner with one of each thing in a webcast, and the calls that change the owner's own
session: the signed-in side of the schema fuzzers and of the hostile-input test."""

from typing import Any

from tests import helpers

# These end or change the owner's own session: an owner phase that ran them would lose it.
SESSION_CHANGING = {
    ("POST", "/api/auth/logout"),
    ("POST", "/api/auth/password"),
    ("POST", "/api/auth/mfa/verify"),
    ("POST", "/api/auth/mfa/enrolment"),
    ("POST", "/api/auth/mfa/enrolment/confirm"),
    ("POST", "/api/accounts/{account_id}/mfa-reset"),
    ("POST", "/api/support/leave"),
}
POLL = {
    "title": "Fuzz poll",
    "questions": [
        {
            "id": "q1",
            "type": "single_choice",
            "text": "Yes or no?",
            "options": [{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}],
        }
    ],
}


def _created(owner: helpers.Admin, path: str, body: dict[str, Any], *key: str) -> str:
    response = owner.post(path, json=body)
    assert response.status_code == 201, response.text
    found: Any = response.json()
    for part in (*key, "id"):
        found = found[part]
    return str(found)


def owner_with_data() -> tuple[helpers.Admin, dict[str, str]]:
    """An owner with a webcast and one of each thing in it, so the owner phase goes deep; the
    ids by the names of the path parameters."""
    owner = helpers.new_owner("fuzz")
    webcast_id = helpers.new_webcast(
        owner,
        "fuzz",
        title="Fuzz",
        access_mode="registration",
        admit_before_confirmation=True,
        modules={"message_box": True, "polls": True, "tracking": True},
    )
    base = f"/api/webcasts/{webcast_id}"
    viewer = helpers.Viewer.register(webcast_id)
    message = viewer.post(f"/api/w/{webcast_id}/messages", json={"text": "A question"})
    assert message.status_code == 201, message.text
    media = {"title": "Video", "filename": "video.mp4", "size": 1000}
    handout = {
        "title": "Slides",
        "filename": "slides.pdf",
        "content_type": "application/pdf",
        "size": 1000,
    }
    subaccount = {
        "email": helpers.unique_email("fuzz-sub"),
        "display_name": "Sub",
        "password": helpers.PASSWORD,
    }
    ids = {
        "webcast_id": webcast_id,
        "participant_id": _created(
            owner, f"{base}/participants", {"email": helpers.unique_email("fuzz")}
        ),
        "poll_id": _created(owner, f"{base}/polls", POLL),
        "message_id": message.json()["id"],
        "asset_id": _created(owner, f"{base}/media", media, "asset"),
        "handout_id": _created(owner, f"{base}/handouts", handout, "handout"),
        "job_id": _created(owner, f"{base}/imports", {"filename": "list.csv", "size": 100}, "job"),
        "account_id": _created(owner, "/api/accounts", subaccount),
    }
    return owner, ids
