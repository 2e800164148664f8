"""One scripted scenario of ordinary writes logs the same entries as the golden file (P31).

The file holds, per entry, what the log promises about a write: the action, the entity type,
the changed field names, the actor kind, the outcome and whether the entry names one entity
or several. Set WEBCAST_WRITE_AUDIT_GOLDEN=1 to write the file from the code as it is.
"""

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from shared import clock
from tests import helpers

GOLDEN = Path(__file__).parent.parent / "audit_golden.json"

FORM = {
    "fields": [
        {"id": "first_name", "type": "short_text", "label": "First name"},
        {"id": "last_name", "type": "short_text", "label": "Last name"},
    ]
}
QUESTIONS = [
    {
        "id": "colour",
        "type": "single_choice",
        "text": "Favourite colour?",
        "options": [{"id": "red", "label": "Red"}, {"id": "blue", "label": "Blue"}],
    }
]


def _ok(response: httpx.Response) -> Any:
    assert response.is_success, (response.request.url, response.status_code, response.text)
    json_body = response.content and "json" in response.headers.get("content-type", "")
    return response.json() if json_body else None


def _in_days(days: int) -> str:
    # The platform's clock, which tests before this one may have moved on.
    return (datetime.fromtimestamp(clock.now(), UTC) + timedelta(days=days)).isoformat()


def _admin_side(owner: helpers.Admin) -> str:
    """Accounts, sub-accounts, support grants and a support visit; the webcast's id."""
    sub = _ok(
        owner.post(
            "/api/accounts",
            json={
                "email": helpers.unique_email("golden-sub"),
                "display_name": "Gus Golden",
                "password": helpers.PASSWORD,
                "permissions": ["polls"],
            },
        )
    )
    _ok(owner.patch(f"/api/accounts/{sub['id']}", json={"permissions": ["polls", "moderation"]}))
    _ok(owner.post(f"/api/accounts/{sub['id']}/mfa-reset"))
    _ok(owner.delete(f"/api/accounts/{sub['id']}"))

    webcast = _ok(
        owner.post(
            "/api/webcasts",
            json={
                "title": "Golden",
                "slug": "golden",
                "access_mode": "registration",
                "admit_before_confirmation": True,
                "modules": {"message_box": True, "polls": True},
            },
        )
    )
    webcast_id = str(webcast["id"])
    _ok(
        owner.patch(
            f"/api/webcasts/{webcast_id}",
            json={"title": "Golden hour", "modules": {"message_box": True, "polls": True}},
        )
    )
    modules = {"message_box": True, "polls": True, "tracking": True}
    _ok(owner.patch(f"/api/webcasts/{webcast_id}", json={"modules": modules}))
    doomed = _ok(owner.post("/api/webcasts", json={"title": "Doomed", "slug": "doomed"}))
    _ok(owner.post(f"/api/webcasts/{doomed['id']}/deletion", json={"confirm_slug": "doomed"}))

    support_account, support = helpers.new_support()
    grant = _ok(
        owner.post(
            "/api/support-grants",
            json={"scope": "read_only", "expires_at": _in_days(1)},
        )
    )
    _ok(support.post(f"/api/support/tenants/{owner.tenant_id}/enter"))
    _ok(support.get(f"/api/webcasts/{webcast_id}"))
    _ok(support.post("/api/support/leave"))
    _ok(owner.post(f"/api/support-grants/{grant['id']}/revoke"))
    assert support_account.id
    return webcast_id


def _participants_and_mail(owner: helpers.Admin, webcast_id: str) -> TestClient:
    """Form, participants, server credentials, embedding, mail; a registered viewer."""
    base = f"/api/webcasts/{webcast_id}"
    _ok(owner.request("PUT", f"{base}/form", json=FORM))
    created = _ok(
        owner.post(f"{base}/participants", json={"email": helpers.unique_email("golden-p")})
    )
    _ok(
        owner.patch(f"{base}/participants/{created['id']}", json={"answers": {"first_name": "Pia"}})
    )
    _ok(owner.post(f"{base}/invitations", json={"participant_ids": [created["id"]]}))
    _ok(owner.delete(f"{base}/participants/{created['id']}"))

    credential = _ok(owner.post(f"{base}/server-credentials", json={"label": "CRM"}))
    _ok(
        helpers.client().put(
            f"/api/server/webcasts/{webcast_id}/participants",
            json={"email": helpers.unique_email("golden-server")},
            headers={"Authorization": f"Bearer {credential['token']}"},
        )
    )
    _ok(owner.post(f"{base}/server-credentials/revoke", json={"id": credential["id"]}))
    _ok(
        owner.request(
            "PUT", f"{base}/embed", json={"enabled": True, "allowed_origins": ["https://a.test"]}
        )
    )
    _ok(owner.post(f"{base}/embed/secret"))
    _ok(owner.request("PUT", f"{base}/mail-templates", json={"templates": {}}))
    _ok(owner.post(f"{base}/links/rotate"))
    _ok(owner.get(f"{base}/participants/export.csv"))

    viewer = helpers.client()
    registered = _ok(
        viewer.post(
            f"/api/w/{webcast_id}/registrations",
            json={
                "email": helpers.unique_email("golden-viewer"),
                "answers": {"first_name": "Vic", "last_name": "Viewer"},
            },
        )
    )
    viewer.headers["X-CSRF-Token"] = registered["csrf_token"]
    return viewer


def _messages_and_polls(owner: helpers.Admin, webcast_id: str, viewer: TestClient) -> None:
    base = f"/api/webcasts/{webcast_id}"
    ids = [
        _ok(viewer.post(f"/api/w/{webcast_id}/messages", json={"text": text}))["id"]
        for text in ("First question", "Second question", "Third question")
    ]
    _ok(owner.patch(f"{base}/messages/{ids[0]}", json={"published": True, "starred": True}))
    _ok(owner.post(f"{base}/messages/{ids[0]}/replies", json={"text": "Yes", "public": True}))
    _ok(owner.post(f"{base}/messages/bulk", json={"ids": ids[1:], "action": "publish"}))
    _ok(owner.delete(f"{base}/messages/{ids[2]}"))
    _ok(owner.get(f"{base}/messages/export.csv"))

    poll = _ok(owner.post(f"{base}/polls", json={"title": "Colours", "questions": QUESTIONS}))
    polls = f"{base}/polls/{poll['id']}"
    _ok(owner.patch(polls, json={"title": "Colours, again"}))
    _ok(owner.post(f"{polls}/open", json={}))
    _ok(owner.post(f"{polls}/duplicate"))


def _media(owner: helpers.Admin, webcast_id: str) -> None:
    base = f"/api/webcasts/{webcast_id}"
    asset = _ok(
        owner.post(
            f"{base}/media", json={"title": "Keynote", "filename": "keynote.mp4", "size": 1000}
        )
    )
    asset_id = asset["asset"]["id"]
    _ok(owner.patch(f"{base}/media/{asset_id}", json={"title": "Keynote, cut"}))
    _ok(owner.delete(f"{base}/media/{asset_id}"))
    handouts = [
        _ok(
            owner.post(
                f"{base}/handouts",
                json={
                    "title": title,
                    "filename": f"{title}.pdf",
                    "content_type": "application/pdf",
                    "size": 100,
                },
            )
        )
        for title in ("agenda", "slides")
    ]
    _ok(owner.patch(f"{base}/handouts/{handouts[0]['handout']['id']}", json={"title": "Agenda"}))
    _ok(
        owner.request(
            "PUT", f"{base}/handouts/order", json={"ids": [h["handout"]["id"] for h in handouts]}
        )
    )
    _ok(owner.delete(f"{base}/handouts/{handouts[1]['handout']['id']}"))
    _ok(owner.post(f"{base}/live"))
    _ok(owner.patch(f"{base}/live", json={"record": True}))
    _ok(owner.post(f"{base}/live/key"))
    _ok(owner.delete(f"{base}/live"))


def _shape(entry: Any) -> dict[str, Any]:
    return {
        "action": entry.action,
        "entity_type": entry.entity_type,
        "changed_fields": entry.changed_fields,
        "actor_kind": entry.actor_kind.value,
        "outcome": entry.outcome,
        "entity_id": entry.entity_id is not None,
        "entity_ids": len(entry.entity_ids) if entry.entity_ids is not None else None,
    }


@pytest.mark.claim("P31")
def test_a_scripted_scenario_logs_the_golden_entries(stack):
    owner = helpers.new_owner("golden")
    webcast_id = _admin_side(owner)
    viewer = _participants_and_mail(owner, webcast_id)
    _messages_and_polls(owner, webcast_id, viewer)
    _media(owner, webcast_id)
    _ok(owner.get("/api/audit/export.csv"))
    _ok(
        owner.post(
            "/api/auth/password",
            json={"current_password": helpers.PASSWORD, "new_password": "golden horse battery"},
        )
    )

    logged = sorted(
        (_shape(e) for e in helpers.audit_entries(owner.tenant_id)),
        key=lambda shape: json.dumps(shape, sort_keys=True),
    )
    if os.environ.get("WEBCAST_WRITE_AUDIT_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(logged, indent=1) + "\n")
    assert logged == json.loads(GOLDEN.read_text())
