"""Helpers for API tests: tenants, signed-in clients, TOTP codes."""

import io
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Self

import httpx
import pyotp
from fastapi.testclient import TestClient

from devtools.runner import TriggerRunner, app_functions, blob_created_event
from functions.api.app import create_app
from functions.api.viewer_deps import VIEWER_COOKIE
from shared import clock
from shared.accounts import service as accounts
from shared.accounts.models import Account
from shared.accounts.repository import find_by_email
from shared.audit import service as audit_service
from shared.audit.models import AuditEntry, AuditFilter
from shared.auth.models import Permission, Role
from shared.auth.totp import STEP_SECONDS
from shared.clients import blob_container_name, blob_service, cosmos_container
from shared.composition.blob_consumers import BLOB_CONSUMERS
from shared.config import Settings, get_settings
from shared.designs.models import IMAGE_UPLOADS
from shared.events import service as blob_events

PASSWORD = "correct horse battery staple"


def client(address: str | None = None) -> TestClient:
    """A client on https (httpx sends the Secure session cookie only there), with its own
    client address so that per-address sign-in throttling of one test never hits another."""
    address = address or f"198.51.{random.randrange(256)}.{random.randrange(1, 255)}"
    return TestClient(
        create_app(),
        base_url="https://testserver",
        raise_server_exceptions=False,
        client=(address, 50000),
    )


def unique_email(name: str = "user") -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}@example.org"


def next_code(secret: str) -> str:
    """A TOTP code no earlier code of the account used: one step further on the clock."""
    clock.advance(STEP_SECONDS)
    return pyotp.TOTP(secret).at(int(clock.now()))


class SessionClient:
    """A signed-in client: its session's headers go with every request."""

    client: TestClient
    csrf: str

    def session_headers(self, method: str) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf} if method != "GET" else {}

    def request(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        merged = self.session_headers(method) | (headers or {})
        response: httpx.Response = self.client.request(method, url, headers=merged, **kwargs)
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


@dataclass
class Admin(SessionClient):
    client: TestClient
    account_id: str
    tenant_id: str
    email: str
    password: str
    secret: str
    csrf: str
    recovery_codes: list[str]

    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf}


def enrol(email: str, password: str) -> Admin:
    """Sign in for the first time: password, MFA enrolment, confirmation."""
    http = client()
    response = http.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    assert response.json()["stage"] == "enroll"
    csrf = response.json()["csrf_token"]
    started = http.post("/api/auth/mfa/enrolment", headers={"X-CSRF-Token": csrf})
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    done = http.post(
        "/api/auth/mfa/enrolment/confirm",
        headers={"X-CSRF-Token": csrf},
        json={"code": next_code(secret)},
    )
    assert done.status_code == 200, done.text
    body = done.json()
    return _signed_in(http, email, password, secret, body["csrf_token"], body["recovery_codes"])


def sign_in(email: str, password: str, secret: str) -> Admin:
    """A later sign-in of an enrolled account: password, then a fresh TOTP code."""
    http = client()
    response = http.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    assert response.json()["stage"] == "mfa"
    csrf = response.json()["csrf_token"]
    verified = http.post(
        "/api/auth/mfa/verify", headers={"X-CSRF-Token": csrf}, json={"code": next_code(secret)}
    )
    assert verified.status_code == 200, verified.text
    return _signed_in(http, email, password, secret, verified.json()["csrf_token"], [])


def _signed_in(
    http: TestClient, email: str, password: str, secret: str, csrf: str, recovery_codes: list[str]
) -> Admin:
    """The account of `email`, signed in on `http`."""
    account = find_by_email(email)
    assert account is not None
    return Admin(
        client=http,
        account_id=account.id,
        tenant_id=account.tenant_id,
        email=email,
        password=password,
        secret=secret,
        csrf=csrf,
        recovery_codes=recovery_codes,
    )


def new_owner(name: str = "owner") -> Admin:
    """A new customer account with its owner, signed in with MFA."""
    email = unique_email(name)
    accounts.create_tenant(
        name=f"Customer {name}",
        owner_email=email,
        owner_name="Olivia Owner",
        owner_password=PASSWORD,
    )
    return enrol(email, PASSWORD)


def new_subaccount(owner: Admin, permissions: list[Permission]) -> Admin:
    email = unique_email("sub")
    response = owner.post(
        "/api/accounts",
        json={
            "email": email,
            "display_name": "Sam Sub",
            "password": PASSWORD,
            "permissions": [p.value for p in permissions],
        },
    )
    assert response.status_code == 201, response.text
    return enrol(email, PASSWORD)


def new_support() -> tuple[Account, Admin]:
    email = unique_email("support")
    account = accounts.create_support_account(
        email=email, display_name="Vera Vendor", password=PASSWORD
    )
    assert account.role == Role.support
    return account, enrol(email, PASSWORD)


def audit_entries(tenant_id: str, **filters: str) -> list[AuditEntry]:
    """The tenant's audit entries matching the filters, over every month the tests reach."""
    query = AuditFilter(since="2026-01-01T00:00:00Z", **filters)
    return list(audit_service.iterate_entries(tenant_id=tenant_id, query=query))


class Triggers:
    """The local trigger runner over some functions and watched containers (made lazily:
    the app's functions are indexed once the test stack is up)."""

    def __init__(self, functions: set[str], *, watch: tuple[str, ...] = ()) -> None:
        self.functions = functions
        self.watch = watch
        self._runner: TriggerRunner | None = None

    @property
    def runner(self) -> TriggerRunner:
        if self._runner is None:
            self._runner = TriggerRunner(
                functions=[f for f in app_functions() if f.get_function_name() in self.functions],
                watch_containers=self.watch,
                visibility_timeout=30,
                retry_delay=0,
            )
        return self._runner

    def passes(self, count: int) -> None:
        """A few passes: whatever waits for a scan result is re-queued on every one."""
        for _ in range(count):
            self.runner.run_once()

    def drain(self) -> None:
        for _ in range(20):
            if not self.runner.run_once().did_work:
                return
        raise AssertionError("the runner kept finding work")


@contextmanager
def changed_settings(**values: Any) -> Iterator[Settings]:
    """The process's settings with `values` set; every field is as before afterwards."""
    settings = get_settings()
    saved = settings.model_dump()
    for name, value in values.items():
        setattr(settings, name, value)
    try:
        yield settings
    finally:
        for name, value in saved.items():
            setattr(settings, name, value)


def new_webcast(
    owner: Admin,
    slug: str | None = None,
    *,
    title: str = "Webcast",
    form: dict[str, Any] | None = None,
    **fields: Any,
) -> str:
    """A new webcast of the owner's tenant with these fields (a fresh slug unless one is
    given) and, if given, its registration form; the webcast's id."""
    body = {"title": title, "slug": slug or f"w-{uuid.uuid4().hex[:10]}", **fields}
    response = owner.post("/api/webcasts", json=body)
    assert response.status_code == 201, response.text
    webcast_id = str(response.json()["id"])
    if form is not None:
        saved = owner.request("PUT", f"/api/webcasts/{webcast_id}/form", json=form)
        assert saved.status_code == 200, saved.text
    return webcast_id


def stored_participants(webcast_id: str) -> list[dict[str, Any]]:
    """The webcast's participants as stored."""
    return list(
        cosmos_container("participants").query_items(
            "SELECT * FROM c WHERE c.webcast_id = @w AND c.type = 'participant'",
            parameters=[{"name": "@w", "value": webcast_id}],
            partition_key=webcast_id,
        )
    )


@dataclass
class Viewer(SessionClient):
    """A viewer's session on one webcast: its client, session token, CSRF token and, once
    registered or signed in, its participant. The token goes explicitly with every request,
    so that many viewers can share one client."""

    client: TestClient
    webcast_id: str
    token: str
    csrf: str
    participant_id: str | None = None

    @classmethod
    def from_answer(cls, http: TestClient, webcast_id: str, answer: httpx.Response) -> Self:
        """The session that the viewer API's answer (enter, register, sign in) set on `http`."""
        body = answer.json()
        return cls(
            http,
            webcast_id,
            http.cookies[VIEWER_COOKIE],
            body["csrf_token"],
            body.get("participant_id"),
        )

    @classmethod
    def enter(cls, webcast_id: str) -> Self:
        """An anonymous viewer of a public webcast, entered through the API on its own client."""
        http = client()
        entered = http.post(f"/api/w/{webcast_id}/enter")
        assert entered.status_code == 200, entered.text
        return cls.from_answer(http, webcast_id, entered)

    @classmethod
    def register(cls, webcast_id: str, **body: Any) -> Self:
        """A viewer registered through the API on its own client (with a fresh e-mail address
        unless `body` names one)."""
        http = client()
        registered = http.post(
            f"/api/w/{webcast_id}/registrations", json={"email": unique_email("viewer"), **body}
        )
        assert registered.status_code == 202, registered.text
        return cls.from_answer(http, webcast_id, registered)

    def session_headers(self, method: str) -> dict[str, str]:
        return super().session_headers(method) | {"Cookie": f"{VIEWER_COOKIE}={self.token}"}


def page_image(
    owner: "Admin",
    webcast_id: str,
    purpose: str,
    *,
    processed: bool = True,
    size: tuple[int, int] = (40, 30),
    colour: tuple[int, int, int] = (20, 90, 160),
    label: str = "",
) -> str:
    """An uploaded page image (a PNG of one colour with a label in white), re-encoded at
    once or left where it landed (as before its BlobCreated event); its id."""
    from PIL import Image, ImageDraw, ImageFont

    drawn = Image.new("RGB", size, colour)
    if label:
        font = ImageFont.load_default(size=size[1] // 3)
        ImageDraw.Draw(drawn).text((size[1] // 4, size[1] // 3), label, fill="white", font=font)
    picture = io.BytesIO()
    drawn.save(picture, "PNG")
    body = {"purpose": purpose, "content_type": "image/png", "size": len(picture.getvalue())}
    created = owner.post(f"/api/webcasts/{webcast_id}/design/images", json=body)
    assert created.status_code == 201, created.text
    ticket = created.json()["upload"]
    put = httpx.put(ticket["url"], content=picture.getvalue(), headers=ticket["headers"])
    assert put.status_code == 201, put.text
    image_id = str(created.json()["image"]["id"])
    if processed:
        container = blob_service().get_container_client(blob_container_name(IMAGE_UPLOADS))
        name = f"{owner.tenant_id}/{webcast_id}/{image_id}/upload"
        uploaded = container.get_blob_client(name).get_blob_properties()
        assert blob_events.handle(blob_created_event(container, uploaded), BLOB_CONSUMERS)
    return image_id
