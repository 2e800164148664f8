"""The hostile-input corpus (tests/hostile/corpus.py) fed to every operation of the OpenAPI
document that takes its kind of input, as an owner with data and as a signed-in viewer (P39).

Strings (path, query and body) get the text kinds, numbers the huge numbers, dates and
periods the ten-thousand-year values, every JSON body deep and oversized JSON. A value every
field of its kind refuses must be a 422 naming the field and change nothing stored; any other
value may be taken, but never answers a server error, and every list still answers after.
"""

import http.server
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from functions.api.deps import CSRF_HEADER
from media_pipelines import worker
from shared.clients import blob_container_name, blob_service, cosmos_container
from shared.config import get_settings
from shared.stores import BLOB_CONTAINERS, COSMOS_CONTAINERS
from tests import helpers
from tests.hostile import corpus
from tests.hostile.corpus import Hostile
from tests.integration import test_participant_imports as imports_test
from tests.owner_data import SESSION_CHANGING, owner_with_data

PLACEHOLDER = "hostile-value-placeholder"
# The kinds take turns over the operations; each round shifts them by one, so that about
# ten rounds (`HOSTILE_ROUNDS=10`, for a release) send every kind to every field and route.
ROUNDS = int(os.environ.get("HOSTILE_ROUNDS", "1"))
DATE_NAMES = {"since", "until"}
# Moves with every request of a signed-in client (last seen), refused or not.
MOVING_CONTAINERS = {"sessions"}
# These start a new viewer session in place of the caller's.
VIEWER_SESSION_CHANGING = {
    ("POST", f"/api/w/{{webcast_id}}/{route}")
    for route in ("enter", "registrations", "login", "link", "embed/session")
}


@dataclass
class Caller:
    """One client holding the owner's and a viewer's session, with the CSRF token of each."""

    http: TestClient
    anonymous: TestClient
    owner_csrf: str
    viewer_csrf: str
    ids: dict[str, str]

    def call(self, operation: "Operation", url: str, body: str | None = None) -> httpx.Response:
        """Routes that start a viewer session are called without one (as a visitor does)."""
        anonymous = (operation.method, operation.path) in VIEWER_SESSION_CHANGING
        self.anonymous.cookies.clear()
        return self.send(operation.method, url, body=body, anonymous=anonymous)

    def send(
        self, method: str, url: str, *, body: str | None = None, anonymous: bool = False
    ) -> httpx.Response:
        csrf = self.viewer_csrf if url.startswith("/api/w/") else self.owner_csrf
        headers = {CSRF_HEADER: csrf} if method != "GET" and not anonymous else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        response: httpx.Response = (self.anonymous if anonymous else self.http).request(
            method, url, content=body.encode() if body is not None else None, headers=headers
        )
        return response


@dataclass
class Operation:
    method: str
    path: str
    parameters: list[dict[str, Any]]
    body: dict[str, Any] | None
    fields: list[tuple[tuple[str | int, ...], dict[str, Any]]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, ids: dict[str, str], **replaced: str) -> str:
        path = self.path
        for parameter in self.parameters:
            if parameter["in"] == "path":
                name = parameter["name"]
                path = path.replace(f"{{{name}}}", replaced.get(name, ids.get(name, "none")))
        query = "&".join(
            f"{name}={value}" for name, value in replaced.items() if f"{{{name}}}" not in self.path
        )
        return f"{path}?{query}" if query else path


class Schema:
    """The OpenAPI document's operations, their parameters and body fields."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        for union in ("anyOf", "oneOf"):
            variants = [v for v in schema.get(union, []) if self.resolve(v).get("type") != "null"]
            if variants:
                return self.resolve(variants[0])
        return schema

    def operations(self) -> Iterator[Operation]:
        for path, item in self.document["paths"].items():
            for method, details in item.items():
                content = details.get("requestBody", {}).get("content", {})
                body = content.get("application/json", {}).get("schema")
                operation = Operation(
                    method=method.upper(),
                    path=path,
                    parameters=[
                        p for p in details.get("parameters", []) if p["in"] in ("path", "query")
                    ],
                    body=self.resolve(body) if body is not None else None,
                )
                if operation.body is not None:
                    operation.fields = list(self.leaves(operation.body))
                yield operation

    def leaves(
        self, schema: dict[str, Any], location: tuple[str | int, ...] = ()
    ) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
        """Every scalar field of a body, nested objects and the first item of lists."""
        schema = self.resolve(schema)
        if len(location) > 4:
            return
        if "properties" in schema:
            for name, sub in schema["properties"].items():
                yield from self.leaves(sub, (*location, name))
        elif schema.get("type") == "array" and "items" in schema:
            yield from self.leaves(schema["items"], (*location, 0))
        elif schema.get("type") in ("string", "integer", "number"):
            yield location, schema

    def example(self, schema: dict[str, Any]) -> Any:
        """A plain value of the schema: defaults, first enum values, required fields only."""
        schema = self.resolve(schema)
        if "default" in schema:
            return schema["default"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "string":
            if schema.get("format") == "email":
                return helpers.unique_email("hostile")
            if schema.get("format") == "date-time":
                return "2027-01-01T10:00:00Z"
            return "x" * max(schema.get("minLength", 1), 1)
        if kind in ("integer", "number"):
            return schema.get("minimum", 1)
        if kind == "boolean":
            return False
        if kind == "array":
            return [self.example(schema["items"])] * schema.get("minItems", 0)
        return {
            name: self.example(sub)
            for name, sub in schema.get("properties", {}).items()
            if name in schema.get("required", [])
        }

    def body_with(
        self, schema: dict[str, Any], values: list[tuple[tuple[str | int, ...], Hostile]]
    ) -> str:
        """The schema's example body with each value at its location (containers made on
        the way)."""
        body = self.example(schema)
        for number, (location, _) in enumerate(values):
            placeholder = f"{PLACEHOLDER}-{number}"
            holder: Any = body
            current = schema
            for index, step in enumerate(location):
                current = self.resolve(current)
                sub = current["properties"][step] if isinstance(step, str) else current["items"]
                last = index == len(location) - 1
                if isinstance(step, int):
                    if not holder:
                        holder.append(placeholder if last else self.example(sub))
                    if last:
                        holder[0] = placeholder
                    else:
                        holder = holder[0]
                elif last:
                    holder[step] = placeholder
                else:
                    if not isinstance(holder.get(step), dict | list):
                        holder[step] = self.example(sub)
                    holder = holder[step]
                current = sub
        text = json.dumps(body)
        for number, (_, value) in enumerate(values):
            text = text.replace(f'"{PLACEHOLDER}-{number}"', value.raw)
        return text


def _is_date(name: str | int, schema: dict[str, Any]) -> bool:
    text = str(name)
    return (
        schema.get("format") in ("date", "date-time") or text.endswith("_at") or text in DATE_NAMES
    )


def _kinds(name: str | int, schema: dict[str, Any], *, in_url: bool) -> list[Hostile]:
    if schema.get("type") in ("integer", "number"):
        return corpus.NUMBERS
    text = corpus.TEXT if in_url else corpus.BODY_TEXT
    return [*text, *(corpus.DATES if _is_date(name, schema) else [])]


def _named(response: httpx.Response, location: tuple[str | int, ...]) -> bool:
    """Whether the problem's errors name the field at `location` (with or without its
    `body.`/`query.`/`path.` prefix; a union adds its member's name after it)."""
    wanted = ".".join(str(part) for part in location)
    for error in response.json().get("errors", []):
        named = str(error["field"])
        for prefix in ("body.", "query.", "path."):
            named = named.removeprefix(prefix)
        if named == wanted or named.startswith(wanted + "."):
            return True
    return False


def _snapshot() -> dict[str, str]:
    """Every stored document and blob, by its etag."""
    found: dict[str, str] = {}
    for spec in COSMOS_CONTAINERS:
        if spec.name in MOVING_CONTAINERS:
            continue
        for item in cosmos_container(spec.name).query_items(
            "SELECT c.id, c._etag FROM c", enable_cross_partition_query=True
        ):
            found[f"{spec.name}/{item['id']}"] = item["_etag"]
    for blob_spec in BLOB_CONTAINERS:
        container = blob_service().get_container_client(blob_container_name(blob_spec.name))
        for blob in container.list_blobs():
            found[f"{blob_spec.name}/{blob.name}"] = str(blob.etag)
    return found


@pytest.fixture(scope="module")
def caller(stack: Any) -> Caller:
    owner, ids = owner_with_data()
    viewer = helpers.client()
    entered = viewer.post(
        f"/api/w/{ids['webcast_id']}/registrations", json={"email": helpers.unique_email("v")}
    )
    assert entered.status_code == 202, entered.text
    http = helpers.client()
    http.cookies.update(owner.client.cookies)
    http.cookies.update(viewer.cookies)
    return Caller(
        http=http,
        anonymous=helpers.client(),
        owner_csrf=owner.csrf,
        viewer_csrf=entered.json()["csrf_token"],
        ids=ids,
    )


@dataclass
class Findings:
    """What went wrong, collected over all requests so that one run names every hole."""

    problems: list[str] = field(default_factory=list)
    sent: int = 0

    def check(
        self,
        operation: Operation,
        value: Hostile | None,
        response: httpx.Response,
        *,
        location: tuple[str | int, ...] = (),
        must_refuse: bool,
    ) -> None:
        self.sent += 1
        what = f"{operation.label} {'.'.join(map(str, location))}={value.name if value else '?'}"
        if response.status_code >= 500:
            self.problems.append(f"{what}: {response.status_code} {response.text[:300]}")
        elif response.status_code >= 400 and not response.headers.get(
            "content-type", ""
        ).startswith("application/problem+json"):
            self.problems.append(f"{what}: {response.status_code} without problem+json")
        elif response.status_code in (401, 403):
            return  # signed-in routes check the session before they read the body
        elif must_refuse and (response.status_code != 422 or not _named(response, location)):
            self.problems.append(f"{what}: {response.status_code} {response.text[:300]}")


def _may_run(operation: Operation) -> bool:
    return (
        operation.method != "DELETE" and (operation.method, operation.path) not in SESSION_CHANGING
    )


def _app_wide_turn(turn: int) -> bool:
    """Checks made once for every route (the path text check, body size and JSON depth)
    get every third operation in a round; three rounds give them every operation."""
    return turn % 3 == 0


def _rotating(values: list[Hostile], turn: int) -> Hostile:
    return values[turn % len(values)]


def _turns(values: list[Hostile], turn: int) -> list[Hostile]:
    """One refused and one legal value of a kind, taking turns over the operations."""
    refused = [v for v in values if v.refused]
    legal = [v for v in values if not v.refused]
    return [_rotating(refused, turn), _rotating(legal, turn)]


def _url_refused() -> list[Hostile]:
    """A URL cannot carry surrogates or invalid UTF-8: they arrive as U+FFFD, legal text."""
    return [
        v for v in corpus.TEXT if v.refused and "surrogate" not in v.name and "utf8" not in v.name
    ]


LEGAL_TEXT = Hostile(
    name="legal-but-hostile",
    raw='"' + "".join(v.raw.strip('"') for v in corpus.TEXT if not v.refused) + '"',
    query="".join(v.query for v in corpus.TEXT if not v.refused) + "%ED%A0%80%FF",
    refused=False,
)


def _send_parameters(
    caller: Caller,
    schema: Schema,
    operation: Operation,
    findings: Findings,
    turn: int,
    *,
    refused: bool,
) -> None:
    """Each path parameter and text query parameter gets one refused text (the kinds take
    turns over the operations) and the legal-but-hostile text; each number parameter every
    number, each date parameter every date."""
    path_names = [p["name"] for p in operation.parameters if p["in"] == "path"]
    if refused and path_names and _app_wide_turn(turn):
        # One path parameter per operation: the text check is app-wide (test_inputs.py).
        name = path_names[turn % len(path_names)]
        value = _rotating(_url_refused(), turn)
        url = operation.url(caller.ids, **{name: value.query})
        findings.check(
            operation, value, caller.call(operation, url), location=(name,), must_refuse=True
        )
    # A legal id that names nothing: a GET looks it up; other methods refuse it the same way.
    if path_names and not refused and operation.method == "GET":
        url = operation.url(caller.ids, **dict.fromkeys(path_names, LEGAL_TEXT.query))
        findings.check(operation, LEGAL_TEXT, caller.call(operation, url), must_refuse=False)
    for parameter in operation.parameters:
        name, typed = parameter["name"], schema.resolve(parameter.get("schema", {}))
        if parameter["in"] != "query":
            continue
        if typed.get("type") in ("integer", "number"):
            values = _turns(corpus.NUMBERS, turn)
        elif _is_date(name, typed):
            values = _turns(corpus.DATES, turn)
        else:
            values = [_rotating(_url_refused(), turn), LEGAL_TEXT]
        for value in values:
            if value.refused != refused or not (refused or _may_run(operation)):
                continue
            url = operation.url(caller.ids, **{name: value.query})
            response = caller.call(operation, url)
            findings.check(operation, value, response, location=(name,), must_refuse=value.refused)


def _send_bodies(
    caller: Caller,
    schema: Schema,
    operation: Operation,
    findings: Findings,
    turn: int,
    *,
    refused: bool,
) -> None:
    """One refused text in every string field at once (the validation names each), one
    refused number in every number field, the legal-but-hostile text in every string field,
    legal numbers and every date one field at a time; and one of deep or oversized JSON."""
    assert operation.body is not None
    texts = [loc for loc, leaf in operation.fields if leaf.get("type") == "string"]
    numbers = [loc for loc, leaf in operation.fields if leaf.get("type") != "string"]
    dates = [loc for loc, leaf in operation.fields if _is_date(loc[-1], leaf)]
    refused_numbers = [v for v in corpus.NUMBERS if v.refused]
    legal_numbers = [v for v in corpus.NUMBERS if not v.refused]
    batches: list[list[tuple[tuple[str | int, ...], Hostile]]] = []
    if refused:
        text = _rotating([v for v in corpus.BODY_TEXT if v.refused], turn)
        number = _rotating(refused_numbers, turn)
        batches.append([(t, text) for t in texts] + [(n, number) for n in numbers])
    elif _may_run(operation):
        batches.append([(t, LEGAL_TEXT) for t in texts])
        batches.append([(n, _rotating(legal_numbers, turn)) for n in numbers])
        # A date in a plain string field is read by the service, after every other field.
        date = _rotating([v for v in corpus.DATES if not v.refused], turn)
        batches += [[(d, date)] for d in dates]
    for batch in filter(None, batches):
        body = schema.body_with(operation.body, batch)
        response = caller.call(operation, operation.url(caller.ids), body)
        for location, value in batch if refused else batch[:1]:
            findings.check(operation, value, response, location=location, must_refuse=refused)
    if not refused or not _app_wide_turn(turn):
        return
    name, body = _rotating_body(turn)
    response = caller.call(operation, operation.url(caller.ids), body)
    value = Hostile(name=name, raw="", query="", refused=True)
    findings.check(operation, value, response, location=("body",), must_refuse=False)
    # Sign-in comes first; then the size limit (413) or the JSON reader (400 or 422) refuses.
    expected = {401, 403} | ({413} if name == "huge-body" else {400, 422})
    if response.status_code not in expected:
        findings.problems.append(f"{operation.label} {name}: {response.status_code}")


def _rotating_body(turn: int) -> tuple[str, str]:
    bodies = [
        ("deep-arrays", corpus.deep_arrays),
        ("deep-objects", corpus.deep_objects),
        ("huge-body", lambda: corpus.huge_body(get_settings().max_body_bytes)),
    ]
    name, build = bodies[turn % len(bodies)]
    return name, build()


@pytest.mark.claim("P39")
def test_every_parameter_and_body_field_refuses_hostile_values_and_keeps_answering(
    caller: Caller,
) -> None:
    schema = Schema(create_app().openapi())
    operations = list(schema.operations())
    findings = Findings()
    lists = [
        o
        for o in operations
        if o.method == "GET"
        and o.path.count("{") <= 1
        and not ("export" in o.path or "verify" in o.path)
    ]
    answering = {o.label: caller.call(o, o.url(caller.ids)).status_code for o in lists}
    before = _snapshot()
    for refused in (True, False):
        for turn, operation in (
            (index + shift, operation)
            for shift in range(ROUNDS)
            for index, operation in enumerate(operations)
        ):
            _send_parameters(caller, schema, operation, findings, turn, refused=refused)
            if operation.body is not None:
                _send_bodies(caller, schema, operation, findings, turn, refused=refused)
        if refused:
            assert _snapshot() == before, "a refused request changed something stored"
    after = {o.label: caller.call(o, o.url(caller.ids)).status_code for o in lists}
    assert after == answering, "every list answers as it did before"
    print(f"sent {findings.sent} hostile requests to {len(operations)} operations")
    assert findings.problems == [], "\n".join(findings.problems)


@pytest.mark.claim("P39")
def test_periods_of_ten_thousand_years_and_reversed_ones_on_every_filtered_route(
    caller: Caller,
) -> None:
    """Every operation with a period is clamped or refused with the field named; a grant
    until the year 9999 and a schedule at the ends of the calendar are handled too."""
    findings = Findings()
    periodic = [
        operation
        for operation in Schema(create_app().openapi()).operations()
        if {"since", "until"} <= {p["name"] for p in operation.parameters}
    ]
    assert len(periodic) >= 3, "the audit list, its export and its verification"
    for operation in periodic:
        far = caller.call(operation, operation.url(caller.ids, **corpus.TEN_THOUSAND_YEARS))
        value = Hostile(name="ten-thousand-years", raw="", query="", refused=False)
        findings.check(operation, value, far, location=("since",), must_refuse=False)
        if far.status_code != 200:
            findings.check(operation, value, far, location=("since",), must_refuse=True)
        backwards = caller.call(operation, operation.url(caller.ids, **corpus.REVERSED))
        value = Hostile(name="reversed", raw="", query="", refused=True)
        findings.check(operation, value, backwards, location=("until",), must_refuse=True)
    assert findings.problems == [], "\n".join(findings.problems)

    for moment in ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"):
        grant = caller.send(
            "POST",
            "/api/support-grants",
            body=json.dumps({"scope": "read_only", "expires_at": moment}),
        )
        assert grant.status_code == 422, grant.text
        assert _named(grant, ("expires_at",)), grant.text
    webcast = f"/api/webcasts/{caller.ids['webcast_id']}"
    schedule = {"starts_at": "0001-01-01T00:00:00Z", "ends_at": "9999-12-31T23:59:59Z"}
    patched = caller.send("PATCH", webcast, body=json.dumps({"schedule": schedule}))
    assert patched.status_code in (200, 422), patched.text
    for url in (webcast, "/api/webcasts", f"/api/w/{caller.ids['webcast_id']}"):
        assert caller.send("GET", url).status_code == 200, url


class _Listener(http.server.BaseHTTPRequestHandler):
    """A loopback server a disguised playlist points at: it notes every request it gets."""

    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def listener() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/segment.ts"
    finally:
        server.shutdown()
        server.server_close()


MEDIA = helpers.Triggers({"blob_created", "media_result"}, watch=("uploads",))
HANDOUTS = helpers.Triggers({"blob_created"}, watch=("downloads",))
WORKER = worker.WorkerOptions(visibility_seconds=60, retry_seconds=0)


def _settle() -> None:
    """Events, the media worker and its results until nothing is left to do."""
    for _ in range(30):
        events = MEDIA.runner.run_once().did_work
        if not events and not worker.poll_once(WORKER):
            return
    raise AssertionError("the pipeline kept finding work")


def _ticketed(owner: helpers.Admin, url: str, body: dict[str, Any], content: bytes) -> Any:
    """Create the item, PUT the file to its upload URL as a browser does; the item's body."""
    created = owner.post(url, json=body | {"size": len(content)})
    assert created.status_code == 201, created.text
    ticket = created.json()["upload"]
    put = httpx.put(ticket["url"], content=content, headers=ticket["headers"], timeout=30)
    assert put.status_code == 201, put.text
    return created.json()


@pytest.mark.claim("P39")
@pytest.mark.claim("P20")
def test_disguised_videos_handouts_and_hostile_captions_fail_through_their_real_path(
    stack: Any, tmp_path: Path, listener: str
) -> None:
    owner = helpers.new_owner("hostile-files")
    created = owner.post("/api/webcasts", json={"title": "Files", "slug": "hostile-files"})
    assert created.status_code == 201, created.text
    base = f"/api/webcasts/{created.json()['id']}"
    secret = tmp_path / "secret.ts"
    secret.write_bytes(b"G" + b"\0" * 187)  # a local file of the worker the lists reach for

    assets = {}
    disguised = corpus.disguised_videos(secret, listener)
    # The worker's own test (test_media_worker.py) reads an HLS list of a local file.
    for name in ("hls-url", "ffconcat-local-file", "text"):
        content = disguised[name]
        body = {"title": name, "filename": f"{name}.mp4"}
        assets[name] = _ticketed(owner, f"{base}/media", body, content)["asset"]["id"]
    _settle()
    for name, asset_id in assets.items():
        asset = owner.get(f"{base}/media/{asset_id}").json()
        assert asset["status"] == "failed", (name, asset)
        expected = "unreadable" if name == "text" else "unsupported"
        assert asset["failure_code"] == expected, (name, asset)
    assert _Listener.requests == [], "the worker fetched what a playlist named"

    handouts = []
    for name in ("ffconcat-url",):
        content = disguised[name]
        body = {"title": name, "filename": f"{name}.pdf", "content_type": "application/pdf"}
        handouts.append(_ticketed(owner, f"{base}/handouts", body, content)["handout"]["id"])
    HANDOUTS.drain()
    for handout_id in handouts:
        found = owner.get(f"{base}/handouts/{handout_id}").json()
        assert (found["status"], found["rejection"]["code"]) == ("rejected", "wrong-type"), found

    # Captions are text the system reads: Unicode without control characters (decision 0030).
    waiting = owner.post(
        f"{base}/media", json={"title": "Captioned", "filename": "c.mp4", "size": 9}
    )
    asset_id = waiting.json()["asset"]["id"]
    cue = "WEBVTT\n\n00:00.000 --> 00:01.000\n"
    for content in (
        (cue + "nul\0").encode(),
        (cue + "\x1b[2Jclear").encode(),
        cue.encode() + b"a\xed\xa0\x80b",
        cue.encode() + b"\xff\xfe",
    ):
        refused = owner.request(
            "PUT",
            f"{base}/media/{asset_id}/captions/de",
            content=content,
            headers={"Content-Type": "text/vtt"},
        )
        assert refused.status_code == 422, refused.text
        assert _named(refused, ("body",)), refused.text
    assert owner.get(f"{base}/media/{asset_id}").json()["captions"] == []


@pytest.mark.claim("P39")
@pytest.mark.claim("P09")
def test_import_bombs_of_gibibytes_and_nested_archives_fail_the_job_unread(stack: Any) -> None:
    owner = helpers.new_owner("hostile-imports")
    created = owner.post("/api/webcasts", json={"title": "Bombs", "slug": "hostile-bombs"})
    assert created.status_code == 201, created.text
    webcast_id = created.json()["id"]
    cases = {
        "bombe.xlsx": (corpus.xlsx_bomb(), "zip-bomb"),
        "verschachtelt.xlsx": (corpus.nested_zip_xlsx(), "unreadable"),
    }
    for filename, (content, code) in cases.items():
        job = imports_test.upload(owner, webcast_id, filename, content)
        assert (job["status"], job["failure"]["code"]) == ("failed", code), (filename, job)
        assert job["source_deleted"] and job["columns"] is None, job
        started = owner.post(
            f"/api/webcasts/{webcast_id}/imports/{job['id']}/start",
            json={"mapping": {"E-Mail": "email"}},
        )
        assert started.status_code == 409, started.text
    assert helpers.stored_participants(webcast_id) == []
    assert owner.get(f"/api/webcasts/{webcast_id}/imports").status_code == 200


@pytest.mark.claim("P39")
def test_backtracking_patterns_are_matched_by_re2_or_refused_when_saved(caller: Caller) -> None:
    webcast = f"/api/webcasts/{caller.ids['webcast_id']}"
    form = f"{webcast}/form"
    for pattern in corpus.PATTERNS_RE2_REFUSES.values():
        field = {"id": "code", "type": "short_text", "label": "Code", "pattern": pattern}
        refused = caller.send("PUT", form, body=json.dumps({"fields": [field]}))
        assert refused.status_code == 422, refused.text
        assert _named(refused, ("fields", 0, "pattern")), refused.text
    for turn, pattern in enumerate(corpus.BACKTRACKING_PATTERNS.values()):
        field = {"id": "code", "type": "long_text", "label": "Code", "pattern": pattern}
        saved = caller.send("PUT", form, body=json.dumps({"fields": [field]}))
        assert saved.status_code == 200, saved.text
        answers = corpus.BACKTRACKING_ANSWERS
        for answer in [answers[(turn + shift) % len(answers)] for shift in range(ROUNDS)]:
            body = {"email": helpers.unique_email("re2"), "answers": {"code": answer}}
            caller.anonymous.cookies.clear()
            response = caller.anonymous.post(
                f"/api/w/{caller.ids['webcast_id']}/registrations", json=body
            )
            assert response.status_code in (202, 422), response.text
            if response.status_code == 422:
                assert _named(response, ("answers", "code")), response.text
    assert caller.send("GET", f"{webcast}/participants").status_code == 200
