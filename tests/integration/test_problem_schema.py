"""The OpenAPI document declares every problem answer (ADR 0036), and schemathesis holds the
API to it: an answer the document does not list fails the conformance checks."""

import copy
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.openapi.checks import UndefinedStatusCode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from functions.api.app import create_app
from functions.api.problems import PROBLEM_JSON
from tests import helpers

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
UNSAFE = {"post", "put", "patch", "delete"}
# Signed-in areas: the session dependencies refuse with 401, the CSRF check with 403.
ADMIN_AREAS = ("/api/auth/", "/api/webcasts", "/api/accounts", "/api/audit", "/api/support")
SIGN_IN = {"/api/auth/login", "/api/auth/password-reset", "/api/auth/password-reset/confirm"}
# Viewer routes that need a webcast module switched on: a switched-off one answers 409
# module-off (ADR 0045).
NEEDS_MODULE = tuple(f"/api/w/{{webcast_id}}/{area}" for area in ("messages", "polls", "heartbeat"))


@pytest.fixture(scope="module")
def app(stack: object) -> FastAPI:
    """One app for the module: generating its OpenAPI document takes seconds."""
    return create_app()


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    ]


# What anyone may read of a webcast before entering it: its public information and its page.
PUBLIC_VIEWER_READS = {
    "/api/w/{webcast_id}",
    "/api/w/{webcast_id}/design",
    "/api/w/{webcast_id}/images/{image_id}",
    "/api/w/{webcast_id}/controller",
}


def _expected(method: str, path: str) -> set[str]:
    """The problems an operation can answer with, told from its method and path alone."""
    expected = {"413", "422", "500"}
    if method in UNSAFE:
        expected |= {"403", "412"}
    if "{" in path:
        expected.add("404")
    if path.startswith(ADMIN_AREAS) and path not in SIGN_IN:
        expected |= {"401", "403"}
    if path.startswith("/api/w/") and path not in PUBLIC_VIEWER_READS:
        expected.add("403")
    return expected


def _example_type(operation: dict[str, Any], status: str) -> Any:
    answer = operation["responses"].get(status, {})
    return answer.get("content", {}).get(PROBLEM_JSON, {}).get("example", {}).get("type")


@pytest.mark.claim("P39")
def test_every_operation_documents_its_problems_as_problem_json(app):
    schema = app.openapi()
    missing = []
    for method, path, operation in _operations(schema):
        answers = operation["responses"]
        for status in sorted(_expected(method, path)):
            content = answers.get(status, {}).get("content")
            if content != {PROBLEM_JSON: {"schema": PROBLEM_REF}}:
                missing.append(f"{method.upper()} {path}: {status} {content}")
        for status, answer in answers.items():
            if status.startswith(("4", "5")):
                assert set(answer["content"]) == {PROBLEM_JSON}, (method, path, status)
    assert missing == []
    needing = [
        (method, path, op)
        for method, path, op in _operations(schema)
        if path.startswith(NEEDS_MODULE)
    ]
    assert len(needing) >= 3
    undocumented = [
        f"{method.upper()} {path}"
        for method, path, operation in needing
        if _example_type(operation, "409") != "https://webcast.invalid/problems/module-off"
    ]
    assert undocumented == []
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components and "ValidationError" not in components
    problem = components["Problem"]
    assert set(problem["properties"]) == {
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "request_id",
        "errors",
    }
    assert problem["required"] == ["type", "title", "status", "detail"]
    field = components[problem["properties"]["errors"]["items"]["$ref"].rsplit("/", 1)[1]]
    assert field["required"] == ["field", "reason"]
    throttled = schema["paths"]["/api/auth/login"]["post"]["responses"]["429"]
    assert throttled["headers"]["Retry-After"]["required"] is True


def _listing_anonymous(app: Any, document: dict[str, Any]) -> Any:
    """An anonymous GET /api/webcasts (a 401 problem), checked against this document."""
    schema = schemathesis.openapi.from_dict(document)
    schema.app = app
    case = schema["/api/webcasts"]["GET"].Case()
    return case, case.call()


@pytest.mark.claim("P39")
def test_an_answer_the_document_leaves_out_fails_the_conformance_check(app):
    checks = [status_code_conformance, content_type_conformance, response_schema_conformance]
    document = app.openapi()
    case, response = _listing_anonymous(app, document)
    assert response.status_code == 401
    case.validate_response(response, checks=checks)

    undocumented = copy.deepcopy(document)
    del undocumented["paths"]["/api/webcasts"]["get"]["responses"]["401"]
    case, response = _listing_anonymous(app, undocumented)
    with pytest.raises((Failure, FailureGroup)) as raised:
        case.validate_response(response, checks=checks)
    found = raised.value.exceptions if isinstance(raised.value, FailureGroup) else [raised.value]
    assert [type(failure) for failure in found] == [UndefinedStatusCode]


def test_a_body_that_is_not_utf8_is_a_422_naming_the_body(stack):
    response = helpers.client().post(
        "/api/auth/login",
        content=b'{"email": "\xff"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["errors"] == [{"field": "body", "reason": "is not valid UTF-8 JSON"}]
