"""Request-scoped dependencies of the participant side: the viewer cookies and session."""

from typing import Annotated

from fastapi import Depends, Request, Response

from functions.api import problems
from functions.api.deps import check_csrf
from shared.participants import sessions as viewer_sessions
from shared.participants.models import ParticipantSession

VIEWER_COOKIE = "__Host-wcviewer"
# Embedded sessions (iframe in a customer site, P35) live in their own cookie: sent in that
# third-party context only (SameSite=None) and kept per top-level site (Partitioned, CHIPS).
EMBED_COOKIE = "__Host-wcembed"
_COOKIE_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def set_viewer_cookie(response: Response, token: str) -> None:
    """A session cookie (no Expires/Max-Age) holding only the random id (P25)."""
    response.set_cookie(VIEWER_COOKIE, token, path="/", secure=True, httponly=True, samesite="lax")


def set_embed_cookie(response: Response, token: str) -> None:
    """The embedded session cookie: no Expires/Max-Age, only the random id (P25). Written by
    hand: Starlette supports `partitioned` only on Python 3.14 and later."""
    if not token or any(c not in _COOKIE_SAFE for c in token):
        raise ValueError("session ids are URL-safe base64")
    response.headers.append(
        "set-cookie",
        f"{EMBED_COOKIE}={token}; HttpOnly; Path=/; SameSite=None; Secure; Partitioned",
    )


def set_session_cookie(response: Response, issued: viewer_sessions.IssuedViewerSession) -> None:
    """Embedded sessions stay in the embed cookie, all others in the viewer cookie."""
    if issued.session.embedded:
        set_embed_cookie(response, issued.token)
    else:
        set_viewer_cookie(response, issued.token)


def viewer_token(request: Request) -> str | None:
    """The viewer cookie, or else the embed cookie (an iframe sends only the latter)."""
    return request.cookies.get(VIEWER_COOKIE) or request.cookies.get(EMBED_COOKIE)


# The CSRF check, and the grant check of the routes that need a registered viewer.
@problems.refuses(403)
def viewer_session(request: Request) -> ParticipantSession | None:
    """The viewer's session, if any; state-changing calls with a session need its CSRF token."""
    session = viewer_sessions.resolve(viewer_token(request))
    if session is not None:
        check_csrf(request, session.csrf_token)
    return session


ViewerSession = Annotated[ParticipantSession | None, Depends(viewer_session)]
