"""Request-scoped dependencies: request context, session, CSRF check, principal."""

import hmac
import ipaddress
from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from functions.api import problems
from shared.accounts.service import support_principal
from shared.audit.models import RequestContext
from shared.auth import sessions
from shared.auth.models import Principal, Role, Session, SessionStage
from shared.config import get_settings
from shared.errors import DomainError, unauthorized, validation_error
from shared.text import text_problem

ADMIN_COOKIE = "__Host-wcadmin"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


# Dependencies without I/O are `async def` so that FastAPI runs them inline instead of
# handing each to its thread pool; only the ones that read storage use threads.


def client_address(request: Request) -> str | None:
    """The caller's address for throttles and audit entries (ADR 0025): Front Door's
    X-Azure-ClientIP when the request carries our Front Door's id, else the socket address
    (none under Azure Functions)."""
    front_door_id = get_settings().front_door_id
    if front_door_id and request.headers.get("x-azure-fdid", "").lower() == front_door_id.lower():
        try:
            return str(ipaddress.ip_address(request.headers.get("x-azure-clientip", "").strip()))
        except ValueError:
            pass
    return request.client.host if request.client else None


def context_of(request: Request) -> RequestContext:
    return RequestContext(
        request_id=getattr(request.state, "request_id", None),
        client_ip=client_address(request),
    )


async def request_context(request: Request) -> RequestContext:
    return context_of(request)


Context = Annotated[RequestContext, Depends(request_context)]


async def checked_parameters(request: Request) -> None:
    """Path and query parameters of every route pass the text check of the input models."""
    parameters = (
        ("path", list(request.path_params.items())),
        ("query", request.query_params.multi_items()),
    )
    for location, values in parameters:
        for name, value in values:
            if isinstance(value, str) and (reason := text_problem(value)) is not None:
                raise validation_error(f"{location}.{name}", reason)


def set_session_cookie(response: Response, token: str) -> None:
    """A session cookie: no Expires or Max-Age, so it ends with the browser (P25)."""
    response.set_cookie(
        ADMIN_COOKIE, token, path="/", secure=True, httponly=True, samesite="strict"
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(ADMIN_COOKIE, path="/", secure=True, httponly=True, samesite="strict")


@problems.refuses(401, 403)
def any_session(request: Request) -> Session:
    """The caller's session at any sign-in stage; state-changing calls need the CSRF token."""
    session = sessions.resolve(request.cookies.get(ADMIN_COOKIE))
    if session is None:
        raise unauthorized("Sign in first; the session is missing or has expired")
    check_csrf(request, session.csrf_token)
    return session


def check_csrf(request: Request, expected: str) -> None:
    """State-changing requests of a session must carry its CSRF token in X-CSRF-Token."""
    if request.method in _SAFE_METHODS:
        return
    supplied = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(supplied.encode(), expected.encode()):
        raise DomainError(
            detail="The X-CSRF-Token header is missing or wrong",
            status=403,
            code="csrf",
            title="Forbidden",
        )


AnySession = Annotated[Session, Depends(any_session)]


@problems.refuses(401)
async def full_session(session: AnySession) -> Session:
    if session.stage != SessionStage.full:
        raise unauthorized("Finish signing in with your second factor first")
    return session


FullSession = Annotated[Session, Depends(full_session)]


# A principal may lack the permission or hold a read-only grant.
@problems.refuses(403)
async def current_principal(session: FullSession, request: Request) -> Principal:
    """Who acts: owners and sub-accounts in their own tenant, support under a grant."""
    if session.role == Role.support:
        return await run_in_threadpool(
            support_principal,
            session,
            read_path=request.url.path if request.method == "GET" else None,
            context=context_of(request),
        )
    return Principal.of(session, tenant_id=session.home_tenant_id, read_only=False)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
