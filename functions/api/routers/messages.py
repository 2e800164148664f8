"""HTTP adapter for the message box (issue 4, P05, P15, P19).

Viewer routes live under /api/w/{webcast_id}/messages (viewer session grant), moderator
routes under /api/webcasts/{webcast_id}/messages (moderation permission)."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.downloads import ATTACHMENT, CsvDownload, XlsxDownload, download
from functions.api.etags import UNCHANGED, conditional_json
from functions.api.routing import DeferredAPIRoute
from functions.api.viewer_deps import ViewerSession
from shared.messages import exports, service
from shared.messages.models import (
    BulkRequest,
    BulkResult,
    MessageCreate,
    MessagePage,
    MessageUpdate,
    MessageView,
    OwnMessage,
    PublishedFeed,
    QueueFilter,
    QueueSort,
    ReplyCreate,
    VoteResult,
)
from shared.messages.settings import settings

router = APIRouter(tags=["messages"], route_class=DeferredAPIRoute)
VIEWER = "/api/w/{webcast_id}/messages"
ADMIN = "/api/webcasts/{webcast_id}/messages"


# ---- viewer side ----


@router.post(VIEWER, status_code=201, responses=problems.needs_module(429))
def send_message(webcast_id: str, body: MessageCreate, session: ViewerSession) -> OwnMessage:
    message = service.send(webcast_id=webcast_id, session=session, data=body)
    return service.own_view(message)


@router.get(f"{VIEWER}/mine", responses=problems.needs_module())
def my_messages(webcast_id: str, session: ViewerSession) -> list[OwnMessage]:
    return service.mine(webcast_id=webcast_id, session=session)


@router.get(
    f"{VIEWER}/published",
    response_model=PublishedFeed,
    responses={**problems.needs_module(), **UNCHANGED},
)
async def published_messages(
    webcast_id: str,
    session: ViewerSession,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The published feed; answers 304 when If-None-Match carries the current ETag."""
    published = await run_in_threadpool(
        service.published_feed, webcast_id=webcast_id, session=session
    )
    rendered = published.rendered
    scope = "public" if published.public else "private"
    headers = {
        "ETag": rendered.etag,
        "Cache-Control": f"{scope}, max-age={settings.feed_max_age}",
        "Vary": "Cookie" if scope == "private" else "Accept-Encoding",
    }
    if if_none_match and rendered.etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(content=rendered.body, media_type="application/json", headers=headers)


@router.post(f"{VIEWER}/{{message_id}}/votes", responses=problems.needs_module())
def upvote(webcast_id: str, message_id: str, session: ViewerSession) -> VoteResult:
    """Idempotent: a second vote of the same session changes nothing."""
    new_vote = service.vote(webcast_id=webcast_id, session=session, message_id=message_id)
    return VoteResult(message_id=message_id, voted=True, new_vote=new_vote)


# ---- moderator side ----


@router.get(f"{ADMIN}/export.csv", response_class=CsvDownload, responses=ATTACHMENT)
def export_csv(webcast_id: str, principal: CurrentPrincipal, context: Context) -> StreamingResponse:
    return download(
        exports.export_messages(
            principal=principal, webcast_id=webcast_id, file_format="csv", context=context
        )
    )


@router.get(f"{ADMIN}/export.xlsx", response_class=XlsxDownload, responses=ATTACHMENT)
def export_xlsx(
    webcast_id: str, principal: CurrentPrincipal, context: Context
) -> StreamingResponse:
    return download(
        exports.export_messages(
            principal=principal, webcast_id=webcast_id, file_format="xlsx", context=context
        )
    )


@router.get(ADMIN, response_model=MessagePage, responses=UNCHANGED)
def message_queue(
    webcast_id: str,
    principal: CurrentPrincipal,
    status: QueueFilter = "all",
    sort: QueueSort = "time",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    continuation: Annotated[str | None, Query(max_length=4096)] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The moderators' queue; their views poll it with If-None-Match (304 while unchanged)."""
    webcast, page = service.list_queue(
        principal=principal,
        webcast_id=webcast_id,
        status_filter=status,
        sort=sort,
        descending=order == "desc",
        max_items=limit,
        continuation=continuation,
    )
    body = MessagePage(
        items=service.moderator_views(webcast, page.items), continuation=page.continuation
    )
    return conditional_json(body, if_none_match)


@router.post(f"{ADMIN}/bulk")
def bulk_action(
    webcast_id: str, body: BulkRequest, principal: CurrentPrincipal, context: Context
) -> BulkResult:
    return service.bulk(
        principal=principal,
        webcast_id=webcast_id,
        ids=body.ids,
        action=body.action,
        priority=body.priority,
        context=context,
    )


@router.patch(f"{ADMIN}/{{message_id}}")
def update_message(
    webcast_id: str,
    message_id: str,
    body: MessageUpdate,
    principal: CurrentPrincipal,
    context: Context,
) -> MessageView:
    return service.update_message(
        principal=principal,
        webcast_id=webcast_id,
        message_id=message_id,
        data=body,
        context=context,
    )


@router.post(f"{ADMIN}/{{message_id}}/replies", status_code=201)
def reply(
    webcast_id: str,
    message_id: str,
    body: ReplyCreate,
    principal: CurrentPrincipal,
    context: Context,
) -> MessageView:
    return service.reply(
        principal=principal,
        webcast_id=webcast_id,
        message_id=message_id,
        data=body,
        context=context,
    )


@router.delete(f"{ADMIN}/{{message_id}}", status_code=204)
def delete_message(
    webcast_id: str, message_id: str, principal: CurrentPrincipal, context: Context
) -> None:
    service.delete_message(
        principal=principal, webcast_id=webcast_id, message_id=message_id, context=context
    )
