"""HTTP hygiene: problem+json naming the field, security headers, docs switch, request ids."""

import os
import re

import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from shared import clock, config
from shared.config import get_settings
from tests import helpers

PROBLEM = "application/problem+json"


def _field(response) -> str:
    assert response.headers["content-type"] == PROBLEM, response.text
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == response.status_code
    return body["errors"][0]["field"]


@pytest.fixture(scope="module")
def owner(stack):
    return helpers.new_owner("http")


def test_malformed_json_wrong_types_and_unknown_fields_name_the_field(owner):
    raw = owner.client.post(
        "/api/webcasts",
        content=b'{"title": "x", ',
        headers=owner.headers() | {"content-type": "application/json"},
    )
    assert raw.status_code == 422 and _field(raw) == "body"
    wrong_type = owner.post("/api/webcasts", json={"title": "x", "slug": "ok", "modules": 5})
    assert wrong_type.status_code == 422 and _field(wrong_type) == "body.modules"
    unknown = owner.post("/api/webcasts", json={"title": "x", "slug": "ok", "colour": "red"})
    assert unknown.status_code == 422 and _field(unknown) == "body.colour"
    bad_zone = owner.post(
        "/api/webcasts",
        json={
            "title": "x",
            "slug": "zone",
            "schedule": {
                "starts_at": "2026-12-01T10:00:00+01:00",
                "ends_at": "2026-12-01T11:00:00+01:00",
                "time_zone": "Mars/Olympus",
            },
        },
    )
    assert bad_zone.status_code == 422 and _field(bad_zone) == "body.schedule.time_zone"
    bad_email = helpers.client().post(
        "/api/auth/login", json={"email": "not-an-email", "password": "x"}
    )
    assert bad_email.status_code == 422 and _field(bad_email) == "body.email"


def test_oversized_bodies_are_refused_before_parsing(owner):
    limit = get_settings().max_body_bytes
    big = owner.client.post(
        "/api/webcasts",
        content=b"{" + b" " * limit + b"}",
        headers=owner.headers() | {"content-type": "application/json"},
    )
    assert big.status_code == 413
    assert big.headers["content-type"] == PROBLEM


def test_bad_codes_and_expired_sessions_get_clear_errors(owner):
    http = helpers.client()
    csrf = http.post(
        "/api/auth/login", json={"email": owner.email, "password": owner.password}
    ).json()["csrf_token"]
    both = http.post(
        "/api/auth/mfa/verify",
        headers={"X-CSRF-Token": csrf},
        json={"code": "123456", "recovery_code": "abcde-fghij"},
    )
    assert both.status_code == 422 and _field(both) == "body"
    letters = http.post(
        "/api/auth/mfa/verify", headers={"X-CSRF-Token": csrf}, json={"code": "abcdef"}
    )
    assert letters.status_code == 401 and _field(letters) == "code"
    signed_in = helpers.sign_in(owner.email, owner.password, owner.secret)
    clock.advance(get_settings().session_idle_seconds + 5)
    expired = signed_in.get("/api/webcasts")
    assert expired.status_code == 401
    assert expired.headers["content-type"] == PROBLEM
    assert "expired" in expired.json()["detail"]


def test_security_headers_and_request_ids(stack):
    http = helpers.client()
    response = http.get("/api/health", headers={"X-Request-ID": "abc12345-trace"})
    assert response.status_code == 200
    headers = response.headers
    assert headers["strict-transport-security"].startswith("max-age=")
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    assert headers["x-request-id"] == "abc12345-trace"
    generated = http.get("/api/health").headers["x-request-id"]
    assert len(generated) == 32
    missing = http.get("/api/nowhere")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    assert missing.json()["request_id"] == missing.headers["x-request-id"]


def test_api_docs_exist_only_when_enabled(stack, monkeypatch):
    assert helpers.client().get("/api/openapi.json").status_code == 200
    monkeypatch.setenv("WEBCAST_ENABLE_API_DOCS", "false")
    config.get_settings.cache_clear()
    try:
        hidden = TestClient(create_app(), base_url="https://testserver")
        assert hidden.get("/api/docs").status_code == 404
        assert hidden.get("/api/openapi.json").status_code == 404
    finally:
        monkeypatch.setenv(
            "WEBCAST_ENABLE_API_DOCS", os.environ.get("WEBCAST_ENABLE_API_DOCS", "true")
        )
        config.get_settings.cache_clear()


def test_api_docs_serve_swagger_ui_from_the_app_under_a_tight_policy(stack):
    http = helpers.client()
    page = http.get("/api/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    references = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert references, page.text
    assert all(ref.startswith("/") and not ref.startswith("//") for ref in references), references
    assert "<script>" not in page.text, "no inline script: the policy allows none"
    expected = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
    for reference in references:
        asset = http.get(reference)
        assert asset.status_code == 200, reference
        content_type = asset.headers["content-type"].split(";")[0]
        assert content_type == expected[reference[reference.rindex(".") :]], reference
    started = http.get(next(ref for ref in references if ref.endswith("init.js")))
    assert "/api/openapi.json" in started.text
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in page.headers["content-security-policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["default-src"] == "'none'"
    assert "https:" not in page.headers["content-security-policy"]
    assert http.get("/api/docs/assets/index.html").status_code == 404, "only what the page uses"
