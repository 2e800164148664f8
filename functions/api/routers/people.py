"""Data-subject requests across the tenant's webcasts (P23): find, export and erase a person.

Every route is a POST: the address or name a request names travels in the body, never in a
URL that servers and proxies log."""

from fastapi import APIRouter, Response

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.downloads import ZIP_ATTACHMENT, ZipDownload, attachment
from functions.api.routing import DeferredAPIRoute
from shared.composition import subject_requests
from shared.composition.subject_requests import (
    Holds,
    PersonBlocking,
    PersonErasure,
    PersonHold,
    PersonMatches,
    PersonQuery,
)

router = APIRouter(
    prefix="/api/people", tags=["data-subject requests"], route_class=DeferredAPIRoute
)


@router.post("/search", responses=problems.responses(422))
def search_person(
    body: PersonQuery, principal: CurrentPrincipal, context: Context
) -> PersonMatches:
    """Every participant record of the person in the tenant's webcasts."""
    return subject_requests.find(principal=principal, query=body, context=context)


@router.post(
    "/export", response_class=ZipDownload, responses={**ZIP_ATTACHMENT, **problems.responses(422)}
)
def export_person(body: PersonQuery, principal: CurrentPrincipal, context: Context) -> Response:
    """Everything every store holds about the person: `person.json` and a CSV per store."""
    exported = subject_requests.export(principal=principal, query=body, context=context)
    return attachment(exported.data, media_type=exported.media_type, filename=exported.filename)


@router.post("/erasure", responses=problems.responses(422))
def erase_person(body: PersonQuery, principal: CurrentPrincipal, context: Context) -> PersonErasure:
    """Erase the person's records of every webcast and what is tied to them, in every store."""
    return subject_requests.erase(principal=principal, query=body, context=context)


@router.post("/blocking", responses=problems.responses(422))
def block_person(body: PersonHold, principal: CurrentPrincipal, context: Context) -> PersonBlocking:
    """Where a legal duty stands against erasure: block the person's records until `until`
    (then the retention timer erases them); stored, but out of every list, export and use."""
    return subject_requests.block(principal=principal, hold=body, context=context)


@router.post("/unblocking", responses=problems.responses(422))
def unblock_person(
    body: PersonQuery, principal: CurrentPrincipal, context: Context
) -> PersonBlocking:
    """Lift the hold: the person's records and what is tied to them are back."""
    return subject_requests.unblock(principal=principal, query=body, context=context)


@router.get("/holds")
def list_holds(principal: CurrentPrincipal) -> Holds:
    """The blocked records: where, why and until when (none of their data)."""
    return subject_requests.list_holds(principal=principal)
