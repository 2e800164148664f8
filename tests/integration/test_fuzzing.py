"""Property-based fuzzing of every API operation with schemathesis (P39): no server errors.

Each operation gets a few valid and a few invalid requests, first anonymous, then as an owner
with the path's webcast id pointing at one of its webcasts. Runs are derandomized, so a
failure repeats; `FUZZ_EXAMPLES` raises the examples per operation for a deeper local run.
"""

import os
import time
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from functions.api.app import create_app
from functions.api.deps import ADMIN_COOKIE, CSRF_HEADER
from tests import helpers

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
# These end or change the owner's own session; the anonymous phase still runs them.
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
SESSION_CHANGING = {
    ("POST", "/api/auth/logout"),
    ("POST", "/api/auth/password"),
    ("POST", "/api/auth/mfa/verify"),
    ("POST", "/api/auth/mfa/enrolment"),
    ("POST", "/api/auth/mfa/enrolment/confirm"),
    ("POST", "/api/accounts/{account_id}/mfa-reset"),
    ("POST", "/api/support/leave"),
}


def _owner_may_run(method: str, path: str) -> bool:
    return method != "DELETE" and (method, path) not in SESSION_CHANGING


def _fuzz(
    operation: Any,
    *,
    headers: dict[str, str],
    path_parameters: dict[str, str],
    failures: list[str],
) -> int:
    """Sends the operation's examples; returns how many were sent."""
    known = {
        name: value for name, value in path_parameters.items() if f"{{{name}}}" in operation.path
    }
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=known),
    )
    sent = 0

    @hypothesis.settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=strategy)
    def run(case: Any) -> None:
        nonlocal sent
        sent += 1
        try:
            # The in-process client re-raises what the app did not handle: a 500 as well.
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])
        except Exception as error:
            failures.append(f"{operation.label}: {type(error).__name__}: {case.as_curl_command()}")

    run()
    return sent


def _owner_with_data() -> tuple[helpers.Admin, dict[str, str]]:
    """An owner with a webcast, a participant and a poll: ids the owner phase goes deep with."""
    owner = helpers.new_owner("fuzz")
    webcast = owner.post(
        "/api/webcasts",
        json={
            "title": "Fuzz",
            "slug": "fuzz",
            "access_mode": "registration",
            "modules": {"message_box": True, "polls": True, "tracking": True},
        },
    )
    assert webcast.status_code == 201, webcast.text
    webcast_id = webcast.json()["id"]
    participant = owner.post(
        f"/api/webcasts/{webcast_id}/participants", json={"email": helpers.unique_email("fuzz")}
    )
    assert participant.status_code == 201, participant.text
    poll = owner.post(f"/api/webcasts/{webcast_id}/polls", json=POLL)
    assert poll.status_code == 201, poll.text
    ids = {
        "webcast_id": webcast_id,
        "participant_id": participant.json()["id"],
        "poll_id": poll.json()["id"],
    }
    return owner, ids


@pytest.mark.claim("P39")
def test_no_operation_answers_a_server_error_anonymous_or_as_an_owner(stack):
    started = time.monotonic()
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app())
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    owner, ids = _owner_with_data()
    signed_in = {
        "Cookie": f"{ADMIN_COOKIE}={owner.client.cookies[ADMIN_COOKIE]}",
        CSRF_HEADER: owner.csrf,
    }
    failures: list[str] = []
    sent = 0
    for operation in operations:
        sent += _fuzz(operation, headers={}, path_parameters={}, failures=failures)
    for operation in operations:
        if _owner_may_run(operation.method.upper(), operation.path):
            sent += _fuzz(operation, headers=signed_in, path_parameters=ids, failures=failures)
    assert owner.get("/api/auth/session").status_code == 200, "the owner phase kept its session"
    print(
        f"fuzzed {len(operations)} operations with {sent} requests "
        f"in {time.monotonic() - started:.1f} s"
    )
    assert failures == [], "\n".join(failures)
