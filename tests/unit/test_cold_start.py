"""A cold start: the collector paused for the import, routes built on first use (0046)."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def test_function_app_leaves_the_collector_on_with_its_import_frozen() -> None:
    code = "import gc, function_app; print(gc.isenabled(), gc.get_freeze_count())"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=os.environ | {"WEBCAST_ENVIRONMENT": "test"},
        capture_output=True,
        text=True,
        check=True,
    )
    enabled, frozen = done.stdout.split()
    assert enabled == "True"
    # The modules, models and routes of the import are out of the collector's view.
    assert int(frozen) > 50_000


# Builds the app in a fresh process, deferred as shipped or (argument "eager") with every
# route built at its decorator as FastAPI does by default; prints what it saw as JSON.
_ROUTES_PROBE = """
import json, sys
from fastapi.routing import APIRoute, iter_route_contexts
from functions.api import routing
if sys.argv[1] == "eager":
    routing.DeferredAPIRoute.__init__ = APIRoute.__init__
from fastapi.testclient import TestClient
from functions.api.app import create_app
from functions.api.routers import auth, polls

def built(router):
    return [route.path for route in router.routes if getattr(route, "built", True)]

app = create_app()
seen = {"polls built": built(polls.router), "auth built": built(auth.router)}
client = TestClient(app)
answers = []
for method, path, body in (
    ("POST", "/api/auth/login", {}),
    ("POST", "/api/auth/login", {"email": 5, "password": ""}),
    ("POST", "/api/auth/password-reset", {"email": "a" * 5000}),
    ("GET", "/api/webcasts/abc", None),
):
    answer = client.request(method, path, json=body)
    problem = answer.json()
    problem.pop("request_id", None)
    answers.append([answer.status_code, answer.headers["content-type"], problem])
seen |= {
    "auth built after a request": built(auth.router),
    "polls built after a request": built(polls.router),
    "answers": answers,
    "openapi": json.dumps(app.openapi()),
}
seen["not deferred"] = [
    context.path
    for context in iter_route_contexts(app.routes)
    if isinstance(context.original_route, APIRoute)
    and not isinstance(context.original_route, routing.DeferredAPIRoute)
]
print(json.dumps(seen))
"""


def _probe_routes(mode: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _ROUTES_PROBE, mode],
        cwd=ROOT,
        # The docs pages are the app's own routes, not a router's: off, whatever the suite set.
        env=os.environ | {"WEBCAST_ENVIRONMENT": "test", "WEBCAST_ENABLE_API_DOCS": "false"},
        capture_output=True,
        text=True,
        check=True,
    )
    seen: dict[str, Any] = json.loads(done.stdout)
    return seen


def test_routes_are_built_on_first_use_and_behave_as_built_at_import() -> None:
    deferred, eager = _probe_routes("deferred"), _probe_routes("eager")
    # Nothing of a router is built before it sees a request; a request builds its router only.
    assert deferred["polls built"] == deferred["auth built"] == []
    assert deferred["not deferred"] == ["/api/health"], "a router without route_class"
    assert deferred["polls built after a request"] == []
    assert len(deferred["auth built after a request"]) == len(eager["auth built"]) > 5
    assert len(eager["polls built"]) > 10
    # The same answers (validation problems, a refusal) and the same OpenAPI document, to the byte.
    assert deferred["answers"] == eager["answers"]
    assert [status for status, _, _ in deferred["answers"]] == [422, 422, 422, 401]
    assert deferred["openapi"] == eager["openapi"]
