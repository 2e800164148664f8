"""A participant's own privacy page (P23): opened by the mailed privacy link, it shows and
downloads the person's data of the webcast, withdraws consents and erases the person."""

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from functions.api import problems
from functions.api.deps import Context
from functions.api.downloads import ZIP_ATTACHMENT, ZipDownload, attachment
from functions.api.routing import DeferredAPIRoute
from functions.api.viewer_deps import ViewerSession, set_viewer_cookie, viewer_token
from shared.composition import self_service
from shared.composition.self_service import OwnData, OwnErasure, OwnWithdrawal
from shared.participants import self_service as privacy_access
from shared.text import InputModel

router = APIRouter(
    prefix="/api/w/{webcast_id}/privacy", tags=["viewer"], route_class=DeferredAPIRoute
)


class Strict(InputModel):
    model_config = ConfigDict(extra="forbid")


class PrivacyToken(Strict):
    token: Annotated[str, Field(min_length=1, max_length=256)]


class PrivacyOpened(BaseModel):
    webcast_id: str
    csrf_token: str
    expires_at: float


@router.post("/session", responses=problems.responses(422))
def open_privacy(
    webcast_id: str,
    body: PrivacyToken,
    request: Request,
    response: Response,
    context: Context,
    _: ViewerSession,
) -> PrivacyOpened:
    """Exchange the mailed privacy link's token (sent by POST, never in a URL) for a short
    privacy grant in the viewer session."""
    issued = privacy_access.open_privacy(
        webcast_id=webcast_id,
        token=body.token,
        current_token=viewer_token(request),
        context=context,
    )
    set_viewer_cookie(response, issued.token)
    return PrivacyOpened(
        webcast_id=webcast_id,
        csrf_token=issued.session.csrf_token,
        expires_at=issued.session.privacy[webcast_id].expires_at,
    )


@router.get("")
def my_data(webcast_id: str, session: ViewerSession) -> OwnData:
    """The person's record, consents and what each store holds (403 without the grant)."""
    return self_service.my_data(session=session, webcast_id=webcast_id)


@router.get("/export", response_class=ZipDownload, responses=ZIP_ATTACHMENT)
def my_export(webcast_id: str, session: ViewerSession, context: Context) -> Response:
    """Everything about the person in this webcast: `person.json` and a CSV per store."""
    exported = self_service.my_export(session=session, webcast_id=webcast_id, context=context)
    return attachment(exported.data, media_type=exported.media_type, filename=exported.filename)


@router.post("/consents/{field_id}/withdrawal", responses=problems.responses(422))
def withdraw_consent(
    webcast_id: str, field_id: str, session: ViewerSession, context: Context
) -> OwnWithdrawal:
    """Withdraw a consent; one required for taking part erases the person with it."""
    return self_service.withdraw_consent(
        session=session, webcast_id=webcast_id, field_id=field_id, context=context
    )


@router.post("/erasure-request", status_code=202, responses=problems.responses(409))
def request_erasure(webcast_id: str, session: ViewerSession, context: Context) -> None:
    """Mail the link that confirms the erasure to the person's address."""
    self_service.request_erasure(session=session, webcast_id=webcast_id, context=context)


@router.post("/erasure", responses=problems.responses(422))
def confirm_erasure(
    webcast_id: str, body: PrivacyToken, context: Context, _: ViewerSession
) -> OwnErasure:
    """Erase the person's record of the webcast and all tied to it, by the token of the link
    mailed on their request (it needs no privacy grant: the mail may open in another browser)."""
    return self_service.confirm_erasure(webcast_id=webcast_id, token=body.token, context=context)
