"""Mail: invitations, registration links and mail texts (participants permission); the
participant's password reset by mail."""

from fastapi import APIRouter

from functions.api.deps import Context, CurrentPrincipal
from functions.api.routing import DeferredAPIRoute
from functions.api.viewer_deps import ViewerSession
from shared.mail import admin, invitations, participant_reset
from shared.mail.models import (
    InvitationQueued,
    InvitationRequest,
    MailTemplatesUpdate,
    MailTemplatesView,
    ParticipantResetConfirm,
    ParticipantResetRequest,
)
from shared.participants import links
from shared.participants.models import RegistrationLinks

webcast_router = APIRouter(
    prefix="/api/webcasts/{webcast_id}", tags=["mail"], route_class=DeferredAPIRoute
)
viewer_router = APIRouter(
    prefix="/api/w/{webcast_id}", tags=["viewer"], route_class=DeferredAPIRoute
)


@webcast_router.post("/invitations", status_code=202)
def invite(
    webcast_id: str, body: InvitationRequest, principal: CurrentPrincipal, context: Context
) -> InvitationQueued:
    """Queue one invitation mail with a personal sign-in link per participant."""
    return invitations.queue_invitations(
        principal=principal, webcast_id=webcast_id, request=body, context=context
    )


@webcast_router.get("/links")
def registration_links(webcast_id: str, principal: CurrentPrincipal) -> RegistrationLinks:
    return links.registration_links(principal=principal, webcast_id=webcast_id)


@webcast_router.post("/links/rotate")
def rotate_internal_key(
    webcast_id: str, principal: CurrentPrincipal, context: Context
) -> RegistrationLinks:
    """A new key for the internal link; earlier internal links stop working."""
    return links.rotate_internal_key(principal=principal, webcast_id=webcast_id, context=context)


@webcast_router.get("/mail-templates")
def read_templates(webcast_id: str, principal: CurrentPrincipal) -> MailTemplatesView:
    return admin.read_templates(principal=principal, webcast_id=webcast_id)


@webcast_router.put("/mail-templates")
def save_templates(
    webcast_id: str, body: MailTemplatesUpdate, principal: CurrentPrincipal, context: Context
) -> MailTemplatesView:
    return admin.save_templates(
        principal=principal, webcast_id=webcast_id, update=body, context=context
    )


@viewer_router.post("/password-reset", status_code=202)
def request_password_reset(
    webcast_id: str, body: ParticipantResetRequest, context: Context, _: ViewerSession
) -> dict[str, str]:
    participant_reset.request_reset(webcast_id=webcast_id, login=body.login, context=context)
    return {"detail": "If the login belongs to a participant, a mail is on its way"}


@viewer_router.post("/password-reset/confirm", status_code=204)
def confirm_password_reset(
    webcast_id: str, body: ParticipantResetConfirm, context: Context, _: ViewerSession
) -> None:
    participant_reset.confirm_reset(
        webcast_id=webcast_id, token=body.token, new_password=body.new_password, context=context
    )


router = APIRouter(route_class=DeferredAPIRoute)
router.include_router(webcast_router)
router.include_router(viewer_router)
