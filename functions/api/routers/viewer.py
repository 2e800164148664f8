"""The participant side of a webcast: public info, enter, register, sign in, personal links."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from functions.api import problems
from functions.api.deps import Context
from functions.api.routing import DeferredAPIRoute
from functions.api.viewer_deps import ViewerSession, set_session_cookie, viewer_token
from shared.participants import access
from shared.participants import sessions as viewer_sessions
from shared.participants.models import ParticipantView
from shared.text import LINE_BREAKS, InputModel

router = APIRouter(prefix="/api/w/{webcast_id}", tags=["viewer"], route_class=DeferredAPIRoute)


class Strict(InputModel):
    model_config = ConfigDict(extra="forbid")


class Registration(Strict):
    email: EmailStr
    username: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    answers: Annotated[dict[str, Any], LINE_BREAKS] = {}
    password: Annotated[str, Field(min_length=1, max_length=1024)] | None = None
    # The key of the internal registration link (`?key=` on the page's address), if any.
    key: Annotated[str, Field(max_length=64)] | None = None


class Login(Strict):
    login: Annotated[str, Field(min_length=1, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class Link(Strict):
    token: Annotated[str, Field(min_length=1, max_length=256)]
    # The password chosen at registration: given with a confirmation link, it stays valid.
    password: Annotated[str, Field(min_length=1, max_length=1024)] | None = None


class Entered(BaseModel):
    webcast_id: str
    participant_id: str | None
    csrf_token: str


class RegistrationAccepted(BaseModel):
    """The same answer whether the address was registered already or not (ADR 0020)."""

    webcast_id: str
    status: Literal["check-your-mail"] = "check-your-mail"
    # Only where the webcast admits before confirmation: the session the cookie now holds.
    participant_id: str | None = None
    csrf_token: str | None = None


def _entered(
    response: Response, webcast_id: str, issued: viewer_sessions.IssuedViewerSession
) -> Entered:
    set_session_cookie(response, issued)
    return Entered(
        webcast_id=webcast_id,
        participant_id=issued.session.grants[webcast_id],
        csrf_token=issued.session.csrf_token,
    )


@router.get("")
def public_info(webcast_id: str) -> access.PublicWebcast:
    return access.public_view(webcast_id)


@router.post("/enter")
def enter(webcast_id: str, request: Request, response: Response, _: ViewerSession) -> Entered:
    issued = access.enter_public(webcast_id=webcast_id, current_token=viewer_token(request))
    return _entered(response, webcast_id, issued)


@router.post("/registrations", status_code=202, responses=problems.responses(409))
def register(
    webcast_id: str,
    body: Registration,
    request: Request,
    response: Response,
    context: Context,
    _: ViewerSession,
) -> RegistrationAccepted:
    """A mail to the address confirms it; where the webcast admits before confirmation, the
    session starts at once."""
    registration = access.register(
        webcast_id=webcast_id,
        email=str(body.email),
        username=body.username,
        answers=body.answers,
        password=body.password,
        internal_key=body.key,
        current_token=viewer_token(request),
        context=context,
    )
    if registration.issued is None:
        return RegistrationAccepted(webcast_id=webcast_id)
    set_session_cookie(response, registration.issued)
    return RegistrationAccepted(
        webcast_id=webcast_id,
        participant_id=registration.participant_id,
        csrf_token=registration.issued.session.csrf_token,
    )


@router.post("/login", responses=problems.responses(401, 429))
def login(
    webcast_id: str,
    body: Login,
    request: Request,
    response: Response,
    context: Context,
    _: ViewerSession,
) -> Entered:
    issued = access.sign_in(
        webcast_id=webcast_id,
        login=body.login,
        password=body.password,
        current_token=viewer_token(request),
        context=context,
    )
    return _entered(response, webcast_id, issued)


@router.post("/link")
def personal_link(
    webcast_id: str,
    body: Link,
    request: Request,
    response: Response,
    context: Context,
    _: ViewerSession,
) -> Entered:
    issued = access.sign_in_with_link(
        webcast_id=webcast_id,
        token=body.token,
        password=body.password,
        current_token=viewer_token(request),
        context=context,
    )
    return _entered(response, webcast_id, issued)


@router.get("/session")
def session_state(webcast_id: str, session: ViewerSession) -> access.ViewerSessionState:
    """After a reload: whether this browser takes part in the webcast, and the CSRF token the
    session's writes need (the page keeps it in memory only)."""
    return access.session_state(session, webcast_id)


@router.get("/me")
def me(webcast_id: str, session: ViewerSession) -> ParticipantView | dict[str, str | None]:
    """The protected participant API: refused without a grant for this webcast."""
    participant = access.granted_participant(session, webcast_id)
    if participant is None:
        return {"webcast_id": webcast_id, "participant_id": None}
    return ParticipantView.of(participant)
