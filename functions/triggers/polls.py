"""Queue triggers of the polls feature (issue 4): one fold worker per vote queue."""

import json
import logging

import azure.functions as func

from shared.polls import worker
from shared.polls.queue import VOTE_QUEUES, FoldMessage

blueprint = func.Blueprint()
log = logging.getLogger("webcast.triggers.polls")
# The host moves a message to the poison queue after this many deliveries (host.json default).
MAX_DEQUEUE_COUNT = 5


def fold(message: func.QueueMessage) -> None:
    nudge = FoldMessage.model_validate(json.loads(message.get_body()))
    final = (message.dequeue_count or 1) >= MAX_DEQUEUE_COUNT
    added = worker.handle_message(message=nudge, final_attempt=final)
    log.info("poll %s shard %d: %d votes counted", nudge.poll_id, nudge.shard, added)


def _register(n: int) -> None:
    # One function per queue: the host scales and leases each queue on its own.
    def handler(message: func.QueueMessage) -> None:
        fold(message)

    handler.__name__ = f"poll_votes_{n}"
    blueprint.function_name(f"poll_votes_{n}")(
        blueprint.queue_trigger(
            arg_name="message", queue_name=f"poll-votes-{n}", connection="AzureWebJobsStorage"
        )(handler)
    )


for _n in range(VOTE_QUEUES):
    _register(_n)
