from tests import helpers


def test_owner_signs_in_with_mfa_and_creates_a_webcast(stack):
    owner = helpers.new_owner()
    response = owner.post("/api/webcasts", json={"title": "Launch", "slug": "launch"})
    assert response.status_code == 201, response.text
    webcast = response.json()
    assert webcast["privacy"] == {k: False for k in webcast["privacy"]}
    got = owner.get(f"/api/webcasts/{webcast['id']}")
    assert got.status_code == 200
    assert got.json()["title"] == "Launch"
