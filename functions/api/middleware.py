"""Request ids, body size limit, origin check and security headers, as plain ASGI."""

import json
import re
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.config import get_settings

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

SECURITY_HEADERS = [
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
# The interactive docs (only when enabled) load Swagger UI from the app itself.
DOCS_CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)


async def _send_problem(
    send: Send, status: int, code: str, title: str, detail: str, request_id: str
) -> None:
    body = json.dumps(
        {
            "type": f"https://webcast.invalid/problems/{code}",
            "title": title,
            "status": status,
            "detail": detail,
            "request_id": request_id,
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
        *SECURITY_HEADERS,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _frame_ancestors(csp: bytes) -> list[bytes] | None:
    """The sources of a policy's frame-ancestors directive; None when it has none."""
    for directive in csp.split(b";"):
        parts = directive.split()
        if parts and parts[0].lower() == b"frame-ancestors":
            return [part.lower() for part in parts[1:]]
    return None


def _security_headers(existing: list[Any], *, docs: bool) -> list[tuple[bytes, bytes]]:
    """The headers to add: a response that sets one of them itself keeps its own value, and
    one whose policy lets named sites frame it (an embed page) gets no X-Frame-Options."""
    own = {bytes(k).lower(): bytes(v) for k, v in existing}
    own_csp = own.get(b"content-security-policy")
    ancestors = _frame_ancestors(own_csp) if own_csp is not None else None
    framable = ancestors is not None and ancestors not in ([], [b"'none'"])
    added = []
    for name, value in SECURITY_HEADERS:
        if name in own or (framable and name == b"x-frame-options"):
            continue
        if docs and name == b"content-security-policy":
            value = DOCS_CSP
        added.append((name, value))
    return added


class BodyTooLargeError(Exception):
    pass


class HygieneMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        settings = get_settings()
        self.max_body = settings.max_body_bytes
        self.allowed_origins = {o.rstrip("/") for o in settings.allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        supplied = headers.get("x-request-id", "")
        request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        method = scope["method"]
        origin = headers.get("origin")
        if method in _UNSAFE and origin and origin.rstrip("/") not in self.allowed_origins:
            await _send_problem(
                send,
                403,
                "origin-refused",
                "Forbidden",
                "Requests from this origin are not accepted",
                request_id,
            )
            return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _send_problem(
                send,
                413,
                "content-too-large",
                "Content too large",
                f"The body may have at most {self.max_body} bytes",
                request_id,
            )
            return
        received = 0
        max_body = self.max_body

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    raise BodyTooLargeError
            return message

        docs = scope["path"].startswith("/api/docs")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                existing = list(message.get("headers", []))
                extra: list[Any] = [
                    (b"x-request-id", request_id.encode()),
                    *_security_headers(existing, docs=docs),
                ]
                if not any(k.lower() == b"cache-control" for k, _ in existing):
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = existing + extra
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLargeError:
            await _send_problem(
                send,
                413,
                "content-too-large",
                "Content too large",
                f"The body may have at most {max_body} bytes",
                request_id,
            )
