"""Problem answers: what the API sends for input it cannot read."""

from functions.api.problems import PROBLEM_JSON
from tests import helpers


def test_a_body_that_is_not_utf8_is_a_422_naming_the_body(stack):
    response = helpers.client().post(
        "/api/auth/login",
        content=b'{"email": "\xff"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["errors"] == [{"field": "body", "reason": "is not valid UTF-8 JSON"}]
