"""Webcast projects: CRUD, schedule with time zone, switches off by default, concurrency."""

from tests import helpers


def test_webcast_lifecycle_with_schedule_switches_and_etags(stack):
    owner = helpers.new_owner("webcasts")
    created = owner.post(
        "/api/webcasts",
        json={
            "title": "Quarterly all-hands",
            "slug": "q4-all-hands",
            "language": "en",
            "description": "Numbers and questions",
            "schedule": {
                "starts_at": "2026-12-10T15:00:00+01:00",
                "ends_at": "2026-12-10T16:30:00+01:00",
                "time_zone": "Europe/Amsterdam",
            },
            "access_mode": "registration",
            "modules": {"message_box": True, "polls": True},
            "retention_days": 90,
        },
    )
    assert created.status_code == 201, created.text
    webcast = created.json()
    assert webcast["modules"] == {
        "message_box": True,
        "polls": True,
        "tracking": False,
        "meeting": False,
    }
    assert not any(webcast["privacy"].values()), "every tie-to-participant switch starts off"
    assert webcast["schedule"]["time_zone"] == "Europe/Amsterdam"
    etag = created.headers["etag"]

    read = owner.get(f"/api/webcasts/{webcast['id']}")
    assert read.headers["etag"] == etag
    updated = owner.patch(
        f"/api/webcasts/{webcast['id']}", json={"title": "Q4 all-hands"}, headers={"If-Match": etag}
    )
    assert updated.status_code == 200 and updated.json()["title"] == "Q4 all-hands"
    stale = owner.patch(
        f"/api/webcasts/{webcast['id']}", json={"title": "Lost update"}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412
    assert owner.get(f"/api/webcasts/{webcast['id']}").json()["title"] == "Q4 all-hands"

    backwards = owner.patch(
        f"/api/webcasts/{webcast['id']}",
        json={"schedule": {"starts_at": "2026-12-10T16:00:00Z", "ends_at": "2026-12-10T15:00:00Z"}},
    )
    assert backwards.status_code == 422
    naive = owner.post(
        "/api/webcasts",
        json={
            "title": "x",
            "slug": "naive",
            "schedule": {"starts_at": "2026-12-10T16:00:00", "ends_at": "2026-12-10T17:00:00"},
        },
    )
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["field"].startswith("body.schedule.starts_at")

    taken = owner.post("/api/webcasts", json={"title": "Copy", "slug": "q4-all-hands"})
    assert taken.status_code == 409 and taken.json()["errors"][0]["field"] == "slug"
    renamed = owner.patch(f"/api/webcasts/{webcast['id']}", json={"slug": "q4-town-hall"})
    assert renamed.status_code == 200
    reused = owner.post("/api/webcasts", json={"title": "Reuse", "slug": "q4-all-hands"})
    assert reused.status_code == 201, "the old slug is free again"

    deletion = f"/api/webcasts/{webcast['id']}/deletion"
    started = owner.post(deletion, json={"confirm_slug": "q4-town-hall"})
    assert started.status_code == 202, started.text
    assert owner.get(f"/api/webcasts/{webcast['id']}").status_code == 404
    listed = owner.get("/api/webcasts").json()["items"]
    assert webcast["id"] not in {w["id"] for w in listed}, "a webcast being deleted is gone"
    repeated = owner.post(deletion, json={"confirm_slug": "q4-town-hall"})
    assert repeated.json()["id"] == started.json()["id"], "one job per webcast"


def test_webcast_list_pages_with_continuation_tokens(stack):
    owner = helpers.new_owner("paging")
    for index in range(7):
        assert (
            owner.post(
                "/api/webcasts", json={"title": f"W{index}", "slug": f"w-{index}"}
            ).status_code
            == 201
        )
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 3}
    while True:
        page = owner.get("/api/webcasts", params=params).json()
        seen += [w["slug"] for w in page["items"]]
        if not page["continuation"]:
            break
        params["continuation"] = page["continuation"]
    assert sorted(seen) == [f"w-{i}" for i in range(7)]
    assert len(seen) == 7


def test_a_switched_off_module_answers_the_same_409_in_messages_polls_and_tracking(stack):
    owner = helpers.new_owner("modules-off")
    created = owner.post("/api/webcasts", json={"title": "Plain", "slug": "plain"})
    assert created.status_code == 201, created.text
    webcast_id = created.json()["id"]
    viewer = helpers.client()
    entered = viewer.post(f"/api/w/{webcast_id}/enter")
    assert entered.status_code == 200, entered.text
    csrf = {"X-CSRF-Token": entered.json()["csrf_token"]}
    answers = {
        "message box": viewer.post(
            f"/api/w/{webcast_id}/messages", json={"text": "Hello"}, headers=csrf
        ),
        "polls": viewer.get(f"/api/w/{webcast_id}/polls"),
        "attendance tracking": viewer.post(
            f"/api/w/{webcast_id}/heartbeat", json={"mode": "live"}, headers=csrf
        ),
    }
    for module, answer in answers.items():
        assert answer.status_code == 409, (module, answer.text)
        problem = answer.json()
        assert problem["type"] == "https://webcast.invalid/problems/module-off", problem
        assert problem["title"] == "Module off"
        assert problem["detail"] == f"The {module} module is switched off for this webcast"


def test_a_webcast_offers_further_languages_besides_its_default(stack):
    owner = helpers.new_owner("languages")
    single = owner.post("/api/webcasts", json={"title": "One", "slug": "one", "language": "en"})
    assert single.status_code == 201, single.text
    assert single.json()["additional_languages"] == []
    assert helpers.client().get(f"/api/w/{single.json()['id']}").json()["languages"] == ["en"]
    created = owner.post(
        "/api/webcasts",
        json={"title": "Both", "slug": "both", "language": "de", "additional_languages": ["en"]},
    )
    assert created.status_code == 201, created.text
    webcast_id = created.json()["id"]
    public = helpers.client().get(f"/api/w/{webcast_id}").json()
    assert (public["language"], public["languages"]) == ("de", ["de", "en"])
    for body, field in (
        ({"language": "en"}, "language"),  # the default would be listed twice
        ({"additional_languages": ["de"]}, "additional_languages"),
        ({"language": "fr"}, "language"),
        ({"additional_languages": ["en", "en"]}, "additional_languages"),
    ):
        refused = owner.patch(f"/api/webcasts/{webcast_id}", json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        fields = {e["field"].removeprefix("body.").split(".")[0] for e in refused.json()["errors"]}
        assert field in fields, (body, refused.json())
    repeated = owner.post(
        "/api/webcasts",
        json={"title": "Odd", "slug": "odd", "language": "de", "additional_languages": ["de"]},
    )
    assert repeated.status_code == 422
    assert repeated.json()["errors"][0]["field"] == "additional_languages"
    switched = owner.patch(
        f"/api/webcasts/{webcast_id}", json={"language": "en", "additional_languages": ["de"]}
    )
    assert switched.status_code == 200, switched.text
    assert helpers.client().get(f"/api/w/{webcast_id}").json()["languages"] == ["en", "de"]
