"""Fold nudges: small messages on sharded queues that ask a worker to fold one vote shard.

Votes themselves are written by the API (the create is the idempotency check); a queue
message only says "shard s of poll p has new votes". Each API instance sends at most one
nudge per shard and second, delayed so that the fold runs after that second's votes.
"""

import re
import threading

from pydantic import BaseModel

from shared.clients import queue_client
from shared.clock import now
from shared.polls.repository import VOTE_SHARDS
from shared.stores import QUEUES

# The vote queues are the `poll-votes-{n}` queues of the store catalogue.
VOTE_QUEUES = sum(1 for spec in QUEUES if re.fullmatch(r"poll-votes-\d+", spec.name))
NUDGE_DELAY_SECONDS = 2
NUDGE_WINDOW_SECONDS = 1
_sent: dict[tuple[str, int], int] = {}
_sent_lock = threading.Lock()


class FoldMessage(BaseModel):
    """Ids only: which shard of which poll to fold."""

    tenant_id: str
    webcast_id: str
    poll_id: str
    shard: int


def queue_for(shard: int) -> str:
    """A shard always uses the same queue: its folds meet at one queue, not all of them."""
    return f"poll-votes-{shard % VOTE_QUEUES}"


def queue_names() -> list[str]:
    return [f"poll-votes-{n}" for n in range(VOTE_QUEUES)]


def send(message: FoldMessage, *, delay: int = 0) -> None:
    queue_client(queue_for(message.shard)).send_message(
        message.model_dump_json().encode(), visibility_timeout=delay or None
    )


def nudge(message: FoldMessage) -> bool:
    """Send a delayed nudge unless this process sent one for the shard in this window."""
    if not 0 <= message.shard < VOTE_SHARDS:
        raise ValueError("no such shard")
    window = int(now() / NUDGE_WINDOW_SECONDS)
    key = (message.poll_id, message.shard)
    with _sent_lock:
        if _sent.get(key) == window:
            return False
        _sent[key] = window
        if len(_sent) > 10_000:
            _sent.clear()  # bounded memory; at worst one extra nudge per shard
    send(message, delay=NUDGE_DELAY_SECONDS)
    return True


def reset() -> None:
    """Forget sent nudges (tests)."""
    with _sent_lock:
        _sent.clear()
