"""Property-based fuzzing of every API operation with schemathesis (P39): no server errors,
and every answer as the OpenAPI document declares it (status, media type, body, headers).

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
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from functions.api.app import create_app
from functions.api.deps import ADMIN_COOKIE, CSRF_HEADER
from tests.owner_data import SESSION_CHANGING, owner_with_data

# Invalid requests must be refused (negative_data_rejection). Not positive_data_acceptance:
# whether a valid request succeeds depends on stored state as much as on its shape (a random
# id, a closed poll, a reset token that is not the current one), see ADR 0036.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))


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
        except Exception as error:
            failures.append(f"{operation.label}: {type(error).__name__}: {case.as_curl_command()}")
            return
        try:
            case.validate_response(response, checks=CHECKS)
        except (Failure, FailureGroup) as error:
            found = error.exceptions if isinstance(error, FailureGroup) else [error]
            for failure in found:
                message = " ".join(failure.message.split())[:300]
                failures.append(
                    f"{operation.label}: {failure.title} ({response.status_code}): {message}\n"
                    f"    {case.as_curl_command()}"
                )

    run()
    return sent


@pytest.mark.claim("P39")
def test_every_operation_answers_as_documented_anonymous_or_as_an_owner(stack):
    started = time.monotonic()
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app())
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    owner, ids = owner_with_data()
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
