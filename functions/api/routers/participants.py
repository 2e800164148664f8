"""Registration form and participant management of a webcast (participants permission, P03)."""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.routing import DeferredAPIRoute
from shared.composition.privacy_handlers import erase_tied_to_participant
from shared.participants import service
from shared.participants.models import (
    FormDefinition,
    FormField,
    ParticipantInput,
    ParticipantUpdate,
    ParticipantView,
)

router = APIRouter(
    prefix="/api/webcasts/{webcast_id}", tags=["participants"], route_class=DeferredAPIRoute
)


class FormView(BaseModel):
    fields: list[FormField]
    updated_at: str


class ParticipantPage(BaseModel):
    items: list[ParticipantView]
    continuation: str | None


class CreatedParticipant(ParticipantView):
    generated_password: str | None = None


@router.get("/form")
def read_form(webcast_id: str, principal: CurrentPrincipal) -> FormView:
    form = service.read_form(principal=principal, webcast_id=webcast_id)
    return FormView(fields=form.fields, updated_at=form.updated_at)


@router.put("/form")
def save_form(
    webcast_id: str, body: FormDefinition, principal: CurrentPrincipal, context: Context
) -> FormView:
    form = service.save_form(
        principal=principal, webcast_id=webcast_id, definition=body, context=context
    )
    return FormView(fields=form.fields, updated_at=form.updated_at)


@router.get("/participants")
def list_participants(
    webcast_id: str,
    principal: CurrentPrincipal,
    search: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    continuation: Annotated[str | None, Query(max_length=4096)] = None,
) -> ParticipantPage:
    page = service.list_participants(
        principal=principal,
        webcast_id=webcast_id,
        search=search,
        max_items=limit,
        continuation=continuation,
    )
    return ParticipantPage(
        items=[ParticipantView.of(p) for p in page.items], continuation=page.continuation
    )


@router.post("/participants", status_code=201, responses=problems.responses(409))
def create_participant(
    webcast_id: str, body: ParticipantInput, principal: CurrentPrincipal, context: Context
) -> CreatedParticipant:
    """The generated password, if the system made one, is in this answer only."""
    saved = service.create_participant(
        principal=principal, webcast_id=webcast_id, data=body, context=context
    )
    view = ParticipantView.of(saved.participant)
    return CreatedParticipant(**view.model_dump(), generated_password=saved.generated_password)


@router.get("/participants/{participant_id}")
def get_participant(
    webcast_id: str, participant_id: str, principal: CurrentPrincipal
) -> ParticipantView:
    return ParticipantView.of(
        service.get_participant(
            principal=principal, webcast_id=webcast_id, participant_id=participant_id
        )
    )


@router.patch("/participants/{participant_id}", responses=problems.responses(409))
def update_participant(
    webcast_id: str,
    participant_id: str,
    body: ParticipantUpdate,
    principal: CurrentPrincipal,
    context: Context,
) -> ParticipantView:
    return ParticipantView.of(
        service.update_participant(
            principal=principal,
            webcast_id=webcast_id,
            participant_id=participant_id,
            data=body,
            context=context,
        )
    )


@router.delete("/participants/{participant_id}", status_code=204)
def delete_participant(
    webcast_id: str, participant_id: str, principal: CurrentPrincipal, context: Context
) -> None:
    service.delete_participant(
        principal=principal,
        webcast_id=webcast_id,
        participant_id=participant_id,
        context=context,
        erase_tied_data=erase_tied_to_participant,
    )
