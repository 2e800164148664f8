"""Embedding and customer servers (P35): admin settings, the embed page and token exchange,
and the server API that registers participants with a server credential."""

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.pages import participant_page
from functions.api.routers.viewer import Entered
from functions.api.routing import DeferredAPIRoute
from functions.api.viewer_deps import EMBED_COOKIE, set_session_cookie
from shared.integrations import credentials, embed
from shared.integrations.models import (
    CredentialCreate,
    CredentialRevoke,
    CredentialView,
    EmbedSettingsInput,
    EmbedSettingsView,
    IssuedCredential,
    RotatedSecret,
)
from shared.participants.models import ParticipantInput, ParticipantView
from shared.text import InputModel

router = APIRouter(tags=["integrations"], route_class=DeferredAPIRoute)


class EmbedExchange(InputModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, Field(min_length=1, max_length=4096)]


class ServerRegistration(BaseModel):
    participant: ParticipantView
    created: bool
    generated_password: str | None
    link: str
    link_expires_at: float


@router.get("/api/webcasts/{webcast_id}/embed")
def read_embed_settings(webcast_id: str, principal: CurrentPrincipal) -> EmbedSettingsView:
    return embed.read_settings(principal=principal, webcast_id=webcast_id)


@router.put("/api/webcasts/{webcast_id}/embed")
def save_embed_settings(
    webcast_id: str, body: EmbedSettingsInput, principal: CurrentPrincipal, context: Context
) -> EmbedSettingsView:
    return embed.save_settings(
        principal=principal, webcast_id=webcast_id, data=body, context=context
    )


@router.post("/api/webcasts/{webcast_id}/embed/secret", status_code=201)
def rotate_embed_secret(
    webcast_id: str, principal: CurrentPrincipal, context: Context
) -> RotatedSecret:
    """The new secret is in this answer only; the replaced one verifies for ten minutes."""
    return embed.rotate_secret(principal=principal, webcast_id=webcast_id, context=context)


@router.get("/api/webcasts/{webcast_id}/server-credentials")
def list_server_credentials(webcast_id: str, principal: CurrentPrincipal) -> list[CredentialView]:
    found = credentials.list_credentials(principal=principal, webcast_id=webcast_id)
    return [CredentialView.of(c) for c in found]


@router.post("/api/webcasts/{webcast_id}/server-credentials", status_code=201)
def create_server_credential(
    webcast_id: str, body: CredentialCreate, principal: CurrentPrincipal, context: Context
) -> IssuedCredential:
    """The secret (and the bearer token made of id and secret) is in this answer only."""
    credential, secret = credentials.create_credential(
        principal=principal, webcast_id=webcast_id, label=body.label, context=context
    )
    view = CredentialView.of(credential)
    return IssuedCredential(**view.model_dump(), secret=secret, token=f"{view.id}.{secret}")


@router.post("/api/webcasts/{webcast_id}/server-credentials/revoke")
def revoke_server_credential(
    webcast_id: str, body: CredentialRevoke, principal: CurrentPrincipal, context: Context
) -> CredentialView:
    return CredentialView.of(
        credentials.revoke_credential(
            principal=principal, webcast_id=webcast_id, credential_id=body.id, context=context
        )
    )


@router.put(
    "/api/server/webcasts/{webcast_id}/participants",
    responses=problems.responses(401, 409, 429) | {201: {"model": ServerRegistration}},
)
def register_from_server(
    webcast_id: str,
    body: ParticipantInput,
    response: Response,
    context: Context,
    authorization: Annotated[str | None, Header()] = None,
) -> ServerRegistration:
    """Called by the customer's server with `Authorization: Bearer <id>.<secret>`: creates
    (201) or updates (200) the participant and returns a single-use sign-in link."""
    registered = credentials.register_participant(
        webcast_id=webcast_id, authorization=authorization, data=body, context=context
    )
    response.status_code = 201 if registered.saved.created else 200
    return ServerRegistration(
        participant=ParticipantView.of(registered.saved.participant),
        created=registered.saved.created,
        generated_password=registered.saved.generated_password,
        link=registered.link,
        link_expires_at=registered.link_expires_at,
    )


@router.post("/api/w/{webcast_id}/embed/session", responses=problems.responses(401))
def exchange_embed_token(
    webcast_id: str, body: EmbedExchange, request: Request, response: Response, context: Context
) -> Entered:
    """The embedded page trades the customer server's token for the embed session cookie."""
    issued = embed.exchange(
        webcast_id=webcast_id,
        token=body.token,
        current_token=request.cookies.get(EMBED_COOKIE),
        context=context,
    )
    set_session_cookie(response, issued)
    return Entered(
        webcast_id=webcast_id,
        participant_id=issued.session.grants[webcast_id],
        csrf_token=issued.session.csrf_token,
    )


@router.get(
    "/embed/{webcast_id}",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}}, **problems.responses(503)},
)
def embed_page(webcast_id: str, request: Request) -> Response:
    """The participant page a customer site frames; only the sites the customer listed may
    frame it. It trades the customer server's token (after `#token=`) for the embed session."""
    _, origins = embed.frame_ancestors(webcast_id=webcast_id)
    return participant_page(request, frame_ancestors=" ".join(origins))
