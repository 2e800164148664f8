"""Heartbeats: validated and queued by the API, folded into viewing documents by a worker."""

import logging
import math

from shared.clients import queue_client
from shared.clock import now
from shared.errors import DomainError, forbidden
from shared.ids import lookup_hash
from shared.participants.access import require_grant
from shared.participants.models import ParticipantSession
from shared.tracking import slots
from shared.tracking.models import Heartbeat, HeartbeatAccepted, HeartbeatMessage, Mode, Viewing
from shared.tracking.repository import shard_of, shard_partition, viewing_id, viewings
from shared.tracking.settings import SLOT_SECONDS, queue_for, tracking_settings
from shared.webcasts.models import Module
from shared.webcasts.service import find_public, viewer_webcast

log = logging.getLogger("webcast.tracking")
# Replace conflicts are rare (one viewer's heartbeats are 30 s apart); past this many the
# message fails and the queue delivers it again.
MAX_WRITE_ATTEMPTS = 5


def pseudonymous_viewer(*, webcast_id: str, session_id: str) -> str:
    """A per-session viewer id that only the server's lookup key links to the session."""
    return lookup_hash("tracking-viewer", f"{webcast_id}:{session_id}")


def accept_heartbeat(
    *, webcast_id: str, session: ParticipantSession | None, heartbeat: Heartbeat
) -> HeartbeatAccepted:
    """Check the grant and the webcast and queue the heartbeat (no database write here)."""
    participant_id = require_grant(session, webcast_id)
    if session is None:  # require_grant refused already; this narrows the type
        raise forbidden("Register or sign in for this webcast first")
    webcast = viewer_webcast(webcast_id, Module.tracking)
    interval = tracking_settings().heartbeat_seconds
    viewer_id = pseudonymous_viewer(webcast_id=webcast.id, session_id=session.id)
    # P19: the participant id travels and is stored only while the customer ties attendance
    # to participants (P17); otherwise the per-session pseudonym is all there is.
    tied = participant_id if webcast.privacy.attendance_tied_to_participant else None
    # One participant's sessions share a shard, so per-participant sums need one partition.
    shard = shard_of(tied or viewer_id)
    moment = now()
    message = HeartbeatMessage(
        tenant_id=webcast.tenant_id,
        webcast_id=webcast.id,
        viewer_id=viewer_id,
        participant_id=tied,
        shard=shard,
        mode=heartbeat.mode,
        at=moment,
        slot=math.floor(moment / SLOT_SECONDS),
        slot_count=interval // SLOT_SECONDS,
        position=heartbeat.position,
        asset_id=heartbeat.asset_id,
    )
    queue_client(queue_for(shard)).send_message(message.model_dump_json().encode())
    return HeartbeatAccepted(interval_seconds=interval)


def _apply(viewing: Viewing, message: HeartbeatMessage) -> bool:
    """Fold the heartbeat in; False when it adds nothing (a repeated message)."""
    changed = False
    merged = slots.add(viewing.slots, message.slot, message.slot_count)
    if merged != viewing.slots:
        viewing.slots = merged
        changed = True
    # A strictly later heartbeat's position wins, so a repeated message changes nothing.
    if message.mode == Mode.vod and (
        viewing.position_at is None or message.at > viewing.position_at
    ):
        viewing.position = message.position
        viewing.asset_id = message.asset_id
        viewing.position_at = message.at
        changed = True
    if message.participant_id and viewing.participant_id != message.participant_id:
        viewing.participant_id = message.participant_id
        changed = True
    return changed


def record_heartbeat(*, message: HeartbeatMessage) -> bool:
    """Idempotent: the same message handled again finds its slots present and writes nothing.

    A message whose webcast is gone or is not the tenant's writes nothing (P30)."""
    # The cached lookup (as on the API side) keeps the hot path off the tenant's partition;
    # the webcast's own tenant must be the message's, or its partition would get a stranger.
    webcast = find_public(message.webcast_id)
    if webcast is None or webcast.tenant_id != message.tenant_id:
        log.warning("heartbeat for webcast %s outside its tenant: dropped", message.webcast_id)
        return False
    partition = shard_partition(message.webcast_id, message.shard)
    item_id = viewing_id(message.viewer_id, message.mode.value)
    for _ in range(MAX_WRITE_ATTEMPTS):
        current = viewings.get(
            tenant_id=message.tenant_id, item_id=item_id, partition_key=partition
        )
        try:
            if current is None:
                fresh = Viewing(
                    id=item_id,
                    tenant_id=message.tenant_id,
                    webcast_id=message.webcast_id,
                    partition=partition,
                    viewer_id=message.viewer_id,
                    mode=message.mode,
                )
                _apply(fresh, message)
                viewings.create(tenant_id=message.tenant_id, item=fresh)
                return True
            if not _apply(current, message):
                return False
            viewings.replace(tenant_id=message.tenant_id, item=current)
            return True
        except DomainError as error:
            if error.status not in (409, 412):
                raise
            log.info("viewing %s changed meanwhile; again", item_id)
    raise RuntimeError(f"viewing {item_id} kept changing; the queue will deliver it again")


def rehomed(viewing: Viewing) -> Viewing:
    """A viewing restored under new ids, in the shard that its participant (or viewer) keys
    now, where the participant's erasure and sums look for it."""
    shard = shard_of(viewing.participant_id or viewing.viewer_id)
    return viewing.model_copy(update={"partition": shard_partition(viewing.webcast_id, shard)})
