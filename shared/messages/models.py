"""Message box (Q&A, P05): messages, their replies, the published feed and sharded votes."""

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.cosmos.repository import Document
from shared.text import LINE_BREAKS, InputModel

MESSAGE_MAX = 2000
MessageText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MESSAGE_MAX),
    LINE_BREAKS,
]
Priority = Annotated[int, Field(ge=0, le=3)]


class MessageStatus(StrEnum):
    new = "new"
    answered = "answered"
    archived = "archived"


class Reply(BaseModel):
    """A moderator's answer: private (only the sender sees it) or public (in the feed)."""

    id: str
    text: str
    public: bool
    created_at: str
    author_account_id: str


class Message(Document):
    """One viewer message, in the webcast's partition.

    The sender is known only by a keyed hash of the viewer session id; the participant id
    is stored only when a privacy switch that shows the sender was on when it was sent."""

    doc_type = "message"

    tenant_id: str
    webcast_id: str
    partition: str
    text: str
    created_at: str
    created_ts: float
    sender_hash: str
    participant_id: str | None = None
    anonymous: bool = False
    status: MessageStatus = MessageStatus.new
    priority: int = 0
    starred: bool = False
    published: bool = False
    published_at: str | None = None
    replies: list[Reply] = []
    updated_at: str = ""


class FeedItem(BaseModel):
    """A published message as every viewer sees it."""

    id: str
    text: str
    created_at: str
    published_at: str
    sender_name: str | None = None
    replies: list[str] = []
    votes: int = 0


class Feed(Document):
    """The webcast's published messages, rebuilt on moderator actions (rare writes), so that
    polling viewers read one document instead of querying all messages."""

    doc_type = "message-feed"

    tenant_id: str
    webcast_id: str
    partition: str
    version: int = 0
    items: list[FeedItem] = []
    updated_at: str = ""


class Vote(Document):
    """One upvote of one viewer session; its id makes a second vote a conflict."""

    doc_type = "message-vote"

    tenant_id: str
    webcast_id: str
    partition: str
    message_id: str
    counted: bool = False
    created_at: str


class VoteTally(Document):
    """Vote counts of one shard; `folded` lists the votes of its last fold, so that a fold
    cut short is finished without counting a vote twice."""

    doc_type = "message-tally"

    tenant_id: str
    webcast_id: str
    partition: str
    counts: dict[str, int] = {}
    folded: list[str] = []
    updated_at: str = ""


# ---- input and output of the API ----


class Strict(InputModel):
    model_config = ConfigDict(extra="forbid")


class MessageCreate(Strict):
    text: MessageText
    anonymous: bool = False


class MessageUpdate(Strict):
    priority: Priority | None = None
    starred: bool | None = None
    status: MessageStatus | None = None
    published: bool | None = None


class ReplyCreate(Strict):
    text: MessageText
    public: bool = False


BulkAction = Literal[
    "star", "unstar", "answer", "archive", "reopen", "publish", "unpublish", "delete", "priority"
]


class BulkRequest(Strict):
    ids: Annotated[
        list[Annotated[str, StringConstraints(max_length=64)]], Field(min_length=1, max_length=100)
    ]
    action: BulkAction
    priority: Priority | None = None


class BulkResult(BaseModel):
    done: list[str]
    missing: list[str]


QueueFilter = Literal["all", "new", "starred", "answered", "archived", "published"]
QueueSort = Literal["time", "priority", "status"]


class SenderView(BaseModel):
    participant_id: str
    name: str
    email: str | None


class ReplyView(BaseModel):
    id: str
    text: str
    public: bool
    created_at: str


class MessageView(BaseModel):
    """A message as moderators see it; `sender` only while the moderators switch is on."""

    id: str
    text: str
    created_at: str
    status: MessageStatus
    priority: int
    starred: bool
    published: bool
    published_at: str | None
    anonymous: bool
    replies: list[ReplyView]
    sender: SenderView | None = None


class MessagePage(BaseModel):
    items: list[MessageView]
    continuation: str | None


class OwnMessage(BaseModel):
    """A message as its sender sees it, with private and public replies."""

    id: str
    text: str
    created_at: str
    anonymous: bool
    published: bool
    answered: bool
    replies: list[ReplyView]


class PublishedFeed(BaseModel):
    webcast_id: str
    version: int
    items: list[FeedItem]


class VoteResult(BaseModel):
    message_id: str
    voted: bool
    new_vote: bool
