"""HTTP adapter for polls and quizzes (P04, P16, P19): managers and viewers."""

from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import StreamingResponse

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.downloads import ATTACHMENT, CsvDownload, XlsxDownload, download
from functions.api.etags import UNCHANGED, conditional_json
from functions.api.routing import DeferredAPIRoute
from functions.api.viewer_deps import ViewerSession
from shared.polls import exports, service, voting
from shared.polls.models import (
    AnswerInput,
    MyAnswer,
    OpenPoll,
    PollInput,
    PollResults,
    PollUpdate,
    PollView,
    ShowResults,
)

router = APIRouter(route_class=DeferredAPIRoute)
admin = "/api/webcasts/{webcast_id}/polls"
viewer = "/api/w/{webcast_id}/polls"
_NO_TIMER = OpenPoll()


class ManagerResults(PollResults):
    failed_shards: list[int]


# -- poll managers (owner, sub-accounts with the polls permission) ------------------------------


@router.get(admin, tags=["polls"])
def list_polls(webcast_id: str, principal: CurrentPrincipal) -> list[PollView]:
    return [service.view(p) for p in service.list_polls(principal=principal, webcast_id=webcast_id)]


@router.post(admin, status_code=201, tags=["polls"])
def create_poll(
    webcast_id: str, body: PollInput, principal: CurrentPrincipal, context: Context
) -> PollView:
    return service.view(
        service.create_poll(principal=principal, webcast_id=webcast_id, data=body, context=context)
    )


@router.get(admin + "/{poll_id}", tags=["polls"])
def get_poll(webcast_id: str, poll_id: str, principal: CurrentPrincipal) -> PollView:
    return service.view(service.get(principal=principal, webcast_id=webcast_id, poll_id=poll_id))


@router.patch(admin + "/{poll_id}", tags=["polls"], responses=problems.responses(409))
def update_poll(
    webcast_id: str, poll_id: str, body: PollUpdate, principal: CurrentPrincipal, context: Context
) -> PollView:
    return service.view(
        service.update_poll(
            principal=principal, webcast_id=webcast_id, poll_id=poll_id, data=body, context=context
        )
    )


@router.delete(admin + "/{poll_id}", status_code=204, tags=["polls"])
def delete_poll(
    webcast_id: str, poll_id: str, principal: CurrentPrincipal, context: Context
) -> None:
    service.delete_poll(
        principal=principal, webcast_id=webcast_id, poll_id=poll_id, context=context
    )


@router.post(admin + "/{poll_id}/duplicate", status_code=201, tags=["polls"])
def duplicate_poll(
    webcast_id: str, poll_id: str, principal: CurrentPrincipal, context: Context
) -> PollView:
    return service.view(
        service.duplicate_poll(
            principal=principal, webcast_id=webcast_id, poll_id=poll_id, context=context
        )
    )


@router.post(admin + "/{poll_id}/open", tags=["polls"], responses=problems.responses(409))
def open_poll(
    webcast_id: str,
    poll_id: str,
    principal: CurrentPrincipal,
    context: Context,
    body: OpenPoll = _NO_TIMER,
) -> PollView:
    return service.view(
        service.open_poll(
            principal=principal,
            webcast_id=webcast_id,
            poll_id=poll_id,
            data=body,
            context=context,
        )
    )


@router.post(admin + "/{poll_id}/close", tags=["polls"], responses=problems.responses(409))
def close_poll(
    webcast_id: str, poll_id: str, principal: CurrentPrincipal, context: Context
) -> PollView:
    return service.view(
        service.close_poll(
            principal=principal, webcast_id=webcast_id, poll_id=poll_id, context=context
        )
    )


@router.put(
    admin + "/{poll_id}/results-visibility", tags=["polls"], responses=problems.responses(409)
)
def show_results(
    webcast_id: str, poll_id: str, body: ShowResults, principal: CurrentPrincipal, context: Context
) -> PollView:
    return service.view(
        service.show_results(
            principal=principal,
            webcast_id=webcast_id,
            poll_id=poll_id,
            shown=body.shown,
            context=context,
        )
    )


@router.get(
    admin + "/{poll_id}/results",
    tags=["polls"],
    response_model=ManagerResults,
    responses=UNCHANGED,
)
def evaluate(
    webcast_id: str,
    poll_id: str,
    principal: CurrentPrincipal,
    live: bool = False,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """`live=true`: the tallies as the workers left them; otherwise counted up exactly first.
    Managers' views poll with If-None-Match (304 while unchanged)."""
    results = service.evaluate(
        principal=principal, webcast_id=webcast_id, poll_id=poll_id, live=live
    )
    poll = service.get(principal=principal, webcast_id=webcast_id, poll_id=poll_id)
    body = ManagerResults(**results.model_dump(), failed_shards=service.failed_shards(poll))
    return conditional_json(body, if_none_match)


@router.get(
    admin + "/{poll_id}/export.csv",
    tags=["polls"],
    response_class=CsvDownload,
    responses=ATTACHMENT,
)
def export_csv(
    webcast_id: str, poll_id: str, principal: CurrentPrincipal, context: Context
) -> StreamingResponse:
    return download(
        exports.export_answers(
            principal=principal,
            webcast_id=webcast_id,
            poll_id=poll_id,
            file_format="csv",
            context=context,
        )
    )


@router.get(
    admin + "/{poll_id}/export.xlsx",
    tags=["polls"],
    response_class=XlsxDownload,
    responses=ATTACHMENT,
)
def export_xlsx(
    webcast_id: str, poll_id: str, principal: CurrentPrincipal, context: Context
) -> StreamingResponse:
    return download(
        exports.export_answers(
            principal=principal,
            webcast_id=webcast_id,
            poll_id=poll_id,
            file_format="xlsx",
            context=context,
        )
    )


# -- viewers (a session with a grant for the webcast) -------------------------------------------


@router.get(viewer, tags=["viewer"], responses=problems.needs_module())
def viewer_polls(webcast_id: str, session: ViewerSession) -> list[PollView]:
    return voting.list_polls(session=session, webcast_id=webcast_id)


@router.get(viewer + "/{poll_id}", tags=["viewer"], responses=problems.needs_module())
def viewer_poll(webcast_id: str, poll_id: str, session: ViewerSession) -> PollView:
    return voting.get_poll_view(session=session, webcast_id=webcast_id, poll_id=poll_id)


@router.post(
    viewer + "/{poll_id}/answer",
    status_code=201,
    tags=["viewer"],
    responses=problems.needs_module(),
)
def answer(
    webcast_id: str, poll_id: str, body: AnswerInput, session: ViewerSession, response: Response
) -> MyAnswer:
    """201 for a new answer; 200 with the first answer when this session answered before."""
    mine = voting.answer(session=session, webcast_id=webcast_id, poll_id=poll_id, data=body)
    if not mine.created:
        response.status_code = 200
    return mine


@router.get(viewer + "/{poll_id}/answer", tags=["viewer"], responses=problems.needs_module())
def my_answer(webcast_id: str, poll_id: str, session: ViewerSession) -> MyAnswer:
    return voting.my_answer(session=session, webcast_id=webcast_id, poll_id=poll_id)


@router.get(
    viewer + "/{poll_id}/results",
    tags=["viewer"],
    response_model=PollResults,
    responses=UNCHANGED | problems.needs_module(),
)
def viewer_results(
    webcast_id: str,
    poll_id: str,
    session: ViewerSession,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Viewers poll live results with If-None-Match (304 while unchanged)."""
    body = voting.results(session=session, webcast_id=webcast_id, poll_id=poll_id)
    return conditional_json(body, if_none_match)
