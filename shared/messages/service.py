"""Message box (P05): viewers send and read their own messages; moderators work the queue.

Privacy by default (P15, P19): the sender is tied to a message only by a keyed hash of the
viewer session id; the participant id is stored only while a switch that shows the sender
is on when the message is sent, and never for a message sent anonymously.
"""

from dataclasses import dataclass

from shared.audit import operations
from shared.audit.models import RequestContext
from shared.auth.models import Permission, Principal
from shared.clock import now, utc_iso
from shared.cosmos.repository import Page
from shared.errors import DomainError, forbidden, not_found
from shared.ids import lookup_hash, new_id
from shared.messages import feed
from shared.messages.models import (
    BulkAction,
    BulkResult,
    Message,
    MessageCreate,
    MessageStatus,
    MessageUpdate,
    MessageView,
    OwnMessage,
    QueueFilter,
    QueueSort,
    Reply,
    ReplyCreate,
    ReplyView,
    SenderView,
)
from shared.messages.repository import messages
from shared.messages.settings import settings
from shared.participants.access import require_grant
from shared.participants.models import ParticipantSession
from shared.participants.service import find_participant
from shared.webcasts.models import AccessMode, Module, Webcast
from shared.webcasts.service import admin_webcast, viewer_webcast

_FILTERS: dict[str, str] = {
    "all": "",
    "new": "c.status = 'new'",
    "starred": "(c.starred = true OR c.priority > 0)",
    "answered": "c.status = 'answered'",
    "archived": "c.status = 'archived'",
    "published": "c.published = true",
}
_SORTS: dict[str, str] = {"time": "c.created_at", "priority": "c.priority", "status": "c.status"}


def sender_hash(session: ParticipantSession) -> str:
    """Ties messages and votes to a viewer session without storing who it is."""
    return lookup_hash("message-sender", session.id)


def voter_hash(session: ParticipantSession, webcast_id: str) -> str:
    return lookup_hash("message-voter", f"{webcast_id}:{session.id}")


# ---- viewer side ----


def _check_rate(webcast: Webcast, sender: str) -> None:
    since = now() - settings.rate_window_seconds
    recent = [
        m.created_ts
        for m in messages.iterate(
            tenant_id=webcast.tenant_id,
            partition_key=webcast.id,
            where="c.sender_hash = @s AND c.created_ts > @since",
            parameters={"@s": sender, "@since": since},
        )
    ]
    if len(recent) >= settings.rate_limit:
        retry = int(min(recent) + settings.rate_window_seconds - now()) + 1
        raise DomainError(
            detail=f"At most {settings.rate_limit} messages per "
            f"{settings.rate_window_seconds} seconds; try again later",
            status=429,
            code="too-many-requests",
            title="Too many requests",
            headers={"Retry-After": str(max(retry, 1))},
        )


def _granted(
    session: ParticipantSession | None, webcast_id: str
) -> tuple[ParticipantSession, str | None]:
    """The session and the participant id (or None) its grant for the webcast holds."""
    participant_id = require_grant(session, webcast_id)
    if session is None:  # require_grant refused already; this narrows the type
        raise forbidden("Register or sign in for this webcast first")
    return session, participant_id


def send(*, webcast_id: str, session: ParticipantSession | None, data: MessageCreate) -> Message:
    """A viewer's message, tied to the grant's participant only as the privacy switches say."""
    session, participant_id = _granted(session, webcast_id)
    webcast = viewer_webcast(webcast_id, Module.message_box)
    sender = sender_hash(session)
    _check_rate(webcast, sender)
    privacy = webcast.privacy
    needs_id = (
        privacy.messages_show_sender_to_moderators or privacy.messages_show_sender_to_audience
    )
    moment = now()
    message = Message(
        id=new_id(),
        tenant_id=webcast.tenant_id,
        webcast_id=webcast.id,
        partition=webcast.id,
        text=data.text,
        created_at=utc_iso(moment),
        created_ts=moment,
        sender_hash=sender,
        participant_id=participant_id if needs_id and not data.anonymous else None,
        anonymous=data.anonymous,
        updated_at=utc_iso(moment),
    )
    return messages.create(tenant_id=webcast.tenant_id, item=message)


def own_view(message: Message) -> OwnMessage:
    return OwnMessage(
        id=message.id,
        text=message.text,
        created_at=message.created_at,
        anonymous=message.anonymous,
        published=message.published,
        answered=message.status == MessageStatus.answered,
        replies=[_reply_view(r) for r in message.replies],
    )


def mine(*, webcast_id: str, session: ParticipantSession | None) -> list[OwnMessage]:
    """The session's own messages with every reply to them, newest first."""
    session, _ = _granted(session, webcast_id)
    webcast = viewer_webcast(webcast_id, Module.message_box)
    return [
        own_view(m)
        for m in messages.iterate(
            tenant_id=webcast.tenant_id,
            partition_key=webcast.id,
            where="c.sender_hash = @s",
            parameters={"@s": sender_hash(session)},
            order_by="c.created_at DESC",
        )
    ]


@dataclass
class PublishedFeed:
    rendered: feed.RenderedFeed
    # Only a public webcast's feed may sit in shared caches: others need a grant to read.
    public: bool


def published_feed(*, webcast_id: str, session: ParticipantSession | None) -> PublishedFeed:
    """The rendered feed of published messages, for a viewer with a grant."""
    _granted(session, webcast_id)
    webcast = viewer_webcast(webcast_id, Module.message_box)
    return PublishedFeed(
        rendered=feed.published(webcast), public=webcast.access_mode == AccessMode.public
    )


def vote(*, webcast_id: str, session: ParticipantSession | None, message_id: str) -> bool:
    """One upvote per session and published message; True when this call counted it."""
    session, _ = _granted(session, webcast_id)
    webcast = viewer_webcast(webcast_id, Module.message_box)
    if message_id not in feed.published(webcast).items:
        raise not_found("Published message")
    return feed.cast_vote(
        webcast=webcast, message_id=message_id, voter_hash=voter_hash(session, webcast.id)
    )


# ---- moderator side ----


def _reply_view(reply: Reply) -> ReplyView:
    return ReplyView(id=reply.id, text=reply.text, public=reply.public, created_at=reply.created_at)


def moderator_views(webcast: Webcast, items: list[Message]) -> list[MessageView]:
    """Views for moderators; the sender's data only while the moderators switch is on."""
    show = webcast.privacy.messages_show_sender_to_moderators
    senders: dict[str, SenderView | None] = {}
    views = []
    for message in items:
        sender = None
        if show and message.participant_id and not message.anonymous:
            if message.participant_id not in senders:
                senders[message.participant_id] = _sender(webcast, message.participant_id)
            sender = senders[message.participant_id]
        views.append(
            MessageView(
                id=message.id,
                text=message.text,
                created_at=message.created_at,
                status=message.status,
                priority=message.priority,
                starred=message.starred,
                published=message.published,
                published_at=message.published_at,
                anonymous=message.anonymous,
                replies=[_reply_view(r) for r in message.replies],
                sender=sender,
            )
        )
    return views


def _sender(webcast: Webcast, participant_id: str) -> SenderView | None:
    participant = find_participant(
        tenant_id=webcast.tenant_id, webcast_id=webcast.id, participant_id=participant_id
    )
    if participant is None:
        return None
    return SenderView(
        participant_id=participant.id,
        name=participant.name or feed.sender_name(webcast, participant.id),
        email=participant.email,
    )


def list_queue(
    *,
    principal: Principal,
    webcast_id: str,
    status_filter: QueueFilter,
    sort: QueueSort,
    descending: bool,
    max_items: int,
    continuation: str | None,
) -> tuple[Webcast, Page[Message]]:
    webcast = admin_webcast(principal, webcast_id, needs=Permission.moderation, write=False)
    page = messages.page(
        tenant_id=webcast.tenant_id,
        partition_key=webcast.id,
        max_items=max_items,
        continuation=continuation,
        where=_FILTERS[status_filter],
        order_by=f"{_SORTS[sort]} {'DESC' if descending else 'ASC'}",
    )
    return webcast, page


def _message(webcast: Webcast, message_id: str) -> Message:
    message = messages.get(
        tenant_id=webcast.tenant_id, item_id=message_id, partition_key=webcast.id
    )
    if message is None:
        raise not_found("Message")
    return message


def _apply(message: Message, update: MessageUpdate) -> list[str]:
    changed = []
    for name in ("priority", "starred", "status"):
        value = getattr(update, name)
        if value is not None and value != getattr(message, name):
            setattr(message, name, value)
            changed.append(name)
    if update.published is not None and update.published != message.published:
        message.published = update.published
        message.published_at = utc_iso() if update.published else None
        changed.append("published")
    return changed


@dataclass
class _Outcome:
    message: Message | None
    changed: list[str]
    touches_feed: bool


def _update_one(webcast: Webcast, message_id: str, update: MessageUpdate) -> _Outcome:
    message = _message(webcast, message_id)
    was_published = message.published
    changed = _apply(message, update)
    if changed:
        message.updated_at = utc_iso()
        message = messages.replace(tenant_id=webcast.tenant_id, item=message)
    return _Outcome(message, changed, bool(changed) and (was_published or message.published))


def update_message(
    *,
    principal: Principal,
    webcast_id: str,
    message_id: str,
    data: MessageUpdate,
    context: RequestContext,
) -> MessageView:
    webcast = admin_webcast(principal, webcast_id, needs=Permission.moderation, write=True)
    outcome = _update_one(webcast, message_id, data)
    if outcome.touches_feed:
        feed.rebuild(webcast)
    operations.record_write(
        tenant_id=webcast.tenant_id,
        actor=principal.actor,
        action="message.update",
        entity_type="message",
        entity_id=message_id,
        changed_fields=outcome.changed,
        context=context,
    )
    assert outcome.message is not None
    return moderator_views(webcast, [outcome.message])[0]


def reply(
    *,
    principal: Principal,
    webcast_id: str,
    message_id: str,
    data: ReplyCreate,
    context: RequestContext,
) -> MessageView:
    """A private reply reaches only the sender (GET mine); a public one shows in the feed."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.moderation, write=True)
    message = _message(webcast, message_id)
    message.replies.append(
        Reply(
            id=new_id(),
            text=data.text,
            public=data.public,
            created_at=utc_iso(),
            author_account_id=principal.account_id,
        )
    )
    changed = ["replies"]
    if message.status == MessageStatus.new:
        message.status = MessageStatus.answered
        changed.append("status")
    message.updated_at = utc_iso()
    message = operations.replace(
        messages,
        tenant_id=webcast.tenant_id,
        item=message,
        actor=principal.actor,
        action="message.reply",
        entity_type="message",
        changed_fields=changed,
        context=context,
    )
    if message.published and data.public:
        feed.rebuild(webcast)
    return moderator_views(webcast, [message])[0]


def delete_message(
    *, principal: Principal, webcast_id: str, message_id: str, context: RequestContext
) -> None:
    webcast = admin_webcast(principal, webcast_id, needs=Permission.moderation, write=True)
    message = _message(webcast, message_id)
    operations.delete(
        messages,
        tenant_id=webcast.tenant_id,
        item_id=message.id,
        partition_key=webcast.id,
        actor=principal.actor,
        action="message.delete",
        entity_type="message",
        context=context,
    )
    if message.published:
        feed.rebuild(webcast)


_BULK: dict[str, MessageUpdate] = {
    "star": MessageUpdate(starred=True),
    "unstar": MessageUpdate(starred=False),
    "answer": MessageUpdate(status=MessageStatus.answered),
    "archive": MessageUpdate(status=MessageStatus.archived),
    "reopen": MessageUpdate(status=MessageStatus.new),
    "publish": MessageUpdate(published=True),
    "unpublish": MessageUpdate(published=False),
}


def bulk(
    *,
    principal: Principal,
    webcast_id: str,
    ids: list[str],
    action: BulkAction,
    priority: int | None,
    context: RequestContext,
) -> BulkResult:
    """One action on many messages; the feed is rebuilt once at the end."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.moderation, write=True)
    done: list[str] = []
    missing: list[str] = []
    touches_feed = False
    changed: set[str] = set()
    for message_id in dict.fromkeys(ids):
        try:
            if action == "delete":
                message = _message(webcast, message_id)
                messages.delete(
                    tenant_id=webcast.tenant_id, item_id=message_id, partition_key=webcast.id
                )
                touches_feed = touches_feed or message.published
            else:
                update = (
                    MessageUpdate(priority=priority if priority is not None else 0)
                    if action == "priority"
                    else _BULK[action]
                )
                outcome = _update_one(webcast, message_id, update)
                touches_feed = touches_feed or outcome.touches_feed
                changed.update(outcome.changed)
        except DomainError as error:
            if error.status != 404:
                raise
            missing.append(message_id)
            continue
        done.append(message_id)
    if touches_feed:
        feed.rebuild(webcast)
    operations.record_bulk(
        tenant_id=webcast.tenant_id,
        actor=principal.actor,
        action=f"message.bulk_{action}",
        entity_type="message",
        entity_ids=done,
        changed_fields=sorted(changed),
        context=context,
    )
    return BulkResult(done=done, missing=missing)
