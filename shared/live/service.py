"""Live channels: admin operations (with audit), the ingest's hooks, and viewer playback.

The ingest (media_pipelines.live) asks `start_session` on every publish: a wrong or rotated
stream key, or a channel that is live already, is refused, and nginx-rtmp drops the
publisher. While live, the ingest reports health on each uploaded segment, asks for the
recording's target (an asset of the VOD pipeline) when the first recorded bytes are ready,
and ends the session with `end_session` when the publisher stops or drops.
"""

import hmac
import secrets
from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel

from shared.audit import operations
from shared.audit.models import SYSTEM_ACTOR, RequestContext
from shared.auth.models import Principal
from shared.cache import ShortCache
from shared.clock import now, utc_iso
from shared.config import get_settings
from shared.errors import DomainError, conflict, forbidden, not_found
from shared.ids import lookup_hash, new_id
from shared.live.models import (
    CHANNEL_ID,
    LIVE_APP,
    LIVE_CONTAINER,
    MASTER_PLAYLIST,
    RUNNING_STATES,
    STREAM_KEY_KIND,
    ChannelState,
    IngestDone,
    IngestGrant,
    IngestHealth,
    IngestHealthReport,
    IngestSessionRef,
    IssuedStreamKey,
    LiveChannel,
    LiveChannelCreate,
    LiveChannelUpdate,
    LiveChannelView,
    LivePlayback,
    LiveSession,
    LiveSessionView,
    RecordingTarget,
    SessionEnd,
    StreamKey,
)
from shared.live.repository import channels, sessions, stream_keys
from shared.participants.access import require_grant
from shared.participants.models import ParticipantSession
from shared.privacy.blobs import delete_prefix
from shared.webcasts.service import MANAGER, admin_webcast, find_public, is_gone

# A live channel without a health report (or state change) for this long has lost its
# ingest (a crashed container): a new publish may take over instead of being refused.
LIVE_STALE_SECONDS = 60
_MAX_ATTEMPTS = 5
_KEY_BYTES = 32
_KEY_MAX_CHARS = 200


def ingest_url() -> str:
    """Where encoders push: RTMPS in Azure (TLS in front of nginx-rtmp), RTMP locally."""
    settings = get_settings()
    scheme = "rtmps" if settings.is_azure else "rtmp"
    return f"{scheme}://{settings.live_rtmp_host}:{settings.live_rtmp_port}/{LIVE_APP}"


def _new_key() -> tuple[str, str]:
    key = secrets.token_urlsafe(_KEY_BYTES)
    return key, lookup_hash(STREAM_KEY_KIND, key)


def _age_seconds(moment: str) -> float:
    return now() - datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()


def _is_stale(channel: LiveChannel) -> bool:
    seen = channel.health.reported_at or channel.updated_at
    return _age_seconds(seen) > LIVE_STALE_SECONDS


def _channel(tenant_id: str, webcast_id: str) -> LiveChannel | None:
    return channels.get(tenant_id=tenant_id, item_id=CHANNEL_ID, partition_key=webcast_id)


def _required_channel(tenant_id: str, webcast_id: str) -> LiveChannel:
    channel = _channel(tenant_id, webcast_id)
    if channel is None:
        raise not_found("Live channel")
    return channel


def _session(tenant_id: str, webcast_id: str, session_id: str | None) -> LiveSession | None:
    if session_id is None:
        return None
    return sessions.get(tenant_id=tenant_id, item_id=session_id, partition_key=webcast_id)


class SessionsEnd(BaseModel):
    """When the webcast's last live session ended, and whether one is running now."""

    last_ended_at: str | None
    running: bool


def sessions_end(*, tenant_id: str, webcast_id: str) -> SessionsEnd:
    """The end of the webcast's live sessions, for its retention (counted from its end)."""
    last: str | None = None
    running = False
    for session in sessions.iterate(tenant_id=tenant_id, partition_key=webcast_id):
        if session.ended_at is None:
            running = True
        elif last is None or session.ended_at > last:
            last = session.ended_at
    return SessionsEnd(last_ended_at=last, running=running)


def _change_channel(
    tenant_id: str, webcast_id: str, change: Callable[[LiveChannel], bool]
) -> LiveChannel | None:
    """Read, change and replace the channel (etag-guarded), again on a concurrent write;
    `change` returns False to leave the channel as it is."""
    for _ in range(_MAX_ATTEMPTS):
        channel = _channel(tenant_id, webcast_id)
        if channel is None or not change(channel):
            return channel
        try:
            return channels.replace(tenant_id=tenant_id, item=channel)
        except DomainError as error:
            if error.status != 412:
                raise
    raise conflict("The live channel changed concurrently; try again")


def view(channel: LiveChannel) -> LiveChannelView:
    current = _session(channel.tenant_id, channel.webcast_id, channel.current_session_id)
    last = _session(channel.tenant_id, channel.webcast_id, channel.last_session_id)
    latest = current or last
    return LiveChannelView(
        channel_id=channel.id,
        webcast_id=channel.webcast_id,
        state=channel.state,
        record=channel.record,
        recording=channel.recording,
        ingest_url=ingest_url(),
        health=channel.health,
        current_session=LiveSessionView.of(current) if current else None,
        last_session=LiveSessionView.of(last) if last else None,
        recording_asset_id=latest.recording_asset_id if latest else None,
        created_at=channel.created_at,
        updated_at=channel.updated_at,
    )


def _issued(key: str, channel: LiveChannel) -> IssuedStreamKey:
    url = ingest_url()
    return IssuedStreamKey(
        stream_key=key, ingest_url=url, stream_url=f"{url}/{key}", channel=view(channel)
    )


# ---- admin ----


def create_channel(
    *,
    principal: Principal,
    webcast_id: str,
    data: LiveChannelCreate,
    context: RequestContext,
) -> IssuedStreamKey:
    """The webcast's live channel and its first stream key (returned this once)."""
    tenant_id = admin_webcast(principal, webcast_id, needs=MANAGER, write=True).tenant_id
    if _channel(tenant_id, webcast_id) is not None:
        raise conflict("This webcast has a live channel already")
    key, key_hash = _new_key()
    moment = utc_iso()
    stream_keys.create(
        StreamKey(
            id=key_hash,
            tenant_id=tenant_id,
            webcast_id=webcast_id,
            channel_id=CHANNEL_ID,
            created_at=moment,
        )
    )
    try:
        channel = channels.create(
            tenant_id=tenant_id,
            item=LiveChannel(
                id=CHANNEL_ID,
                tenant_id=tenant_id,
                webcast_id=webcast_id,
                record=data.record,
                key_hash=key_hash,
                key_created_at=moment,
                created_by=principal.account_id,
                created_at=moment,
                updated_at=moment,
            ),
        )
    except DomainError:
        stream_keys.delete(key_hash)
        raise conflict("This webcast has a live channel already") from None
    operations.record_write(
        tenant_id=tenant_id,
        actor=principal.actor,
        action="live.channel.create",
        entity_type="live-channel",
        entity_id=webcast_id,
        changed_fields=["record", "stream_key"],
        context=context,
    )
    return _issued(key, channel)


def get_channel(*, principal: Principal, webcast_id: str) -> LiveChannelView:
    tenant_id = admin_webcast(principal, webcast_id, needs=MANAGER, write=False).tenant_id
    return view(_required_channel(tenant_id, webcast_id))


def update_channel(
    *,
    principal: Principal,
    webcast_id: str,
    data: LiveChannelUpdate,
    context: RequestContext,
) -> LiveChannelView:
    """Switch recording on or off; a running session keeps its setting, the next one uses it."""
    tenant_id = admin_webcast(principal, webcast_id, needs=MANAGER, write=True).tenant_id
    _required_channel(tenant_id, webcast_id)

    def change(channel: LiveChannel) -> bool:
        if channel.record == data.record:
            return False
        channel.record = data.record
        channel.updated_at = utc_iso()
        return True

    channel = _change_channel(tenant_id, webcast_id, change)
    if channel is None:
        raise not_found("Live channel")
    operations.record_write(
        tenant_id=tenant_id,
        actor=principal.actor,
        action="live.channel.update",
        entity_type="live-channel",
        entity_id=webcast_id,
        changed_fields=["record"],
        context=context,
    )
    return view(channel)


def rotate_key(
    *, principal: Principal, webcast_id: str, context: RequestContext
) -> IssuedStreamKey:
    """A new stream key (returned this once); the old one is refused from now on."""
    tenant_id = admin_webcast(principal, webcast_id, needs=MANAGER, write=True).tenant_id
    channel = _required_channel(tenant_id, webcast_id)
    key, key_hash = _new_key()
    moment = utc_iso()
    stream_keys.create(
        StreamKey(
            id=key_hash,
            tenant_id=tenant_id,
            webcast_id=webcast_id,
            channel_id=channel.id,
            created_at=moment,
        )
    )
    old_hash = channel.key_hash
    channel.key_hash, channel.key_created_at, channel.updated_at = key_hash, moment, moment
    try:
        channel = channels.replace(tenant_id=tenant_id, item=channel)
    except DomainError:
        stream_keys.delete(key_hash)
        raise
    # The channel names its key too, so a lookup left behind by a crash here is refused.
    stream_keys.delete(old_hash)
    operations.record_write(
        tenant_id=tenant_id,
        actor=principal.actor,
        action="live.key.rotate",
        entity_type="live-channel",
        entity_id=webcast_id,
        changed_fields=["stream_key"],
        context=context,
    )
    return _issued(key, channel)


def delete_channel(*, principal: Principal, webcast_id: str, context: RequestContext) -> None:
    """Remove the channel, its stream key and its live output; sessions stay as history
    and recordings stay as assets. Refused while a stream is running."""
    tenant_id = admin_webcast(principal, webcast_id, needs=MANAGER, write=True).tenant_id
    channel = _required_channel(tenant_id, webcast_id)
    if channel.state in RUNNING_STATES and not _is_stale(channel):
        raise conflict("The channel is live; stop the stream first")
    stream_keys.delete(channel.key_hash)
    channels.delete(tenant_id=tenant_id, item_id=channel.id, partition_key=webcast_id)
    delete_prefix(LIVE_CONTAINER, f"{tenant_id}/{webcast_id}/")
    forget_playback(webcast_id)
    operations.record_write(
        tenant_id=tenant_id,
        actor=principal.actor,
        action="live.channel.delete",
        entity_type="live-channel",
        entity_id=webcast_id,
        context=context,
    )


# ---- ingest hooks ----


def verify_ingest_secret(*, supplied: str | None) -> None:
    """The ingest proves itself with the shared secret; anything else gets 403."""
    expected = get_settings().live_ingest_secret.get_secret_value().encode()
    if supplied is None or not hmac.compare_digest(supplied.encode(), expected):
        raise forbidden("Only the live ingest may call this")


def _end(session: LiveSession, reason: SessionEnd, segments_uploaded: int) -> LiveSession:
    session.ended_at = utc_iso()
    session.end_reason = reason
    session.segments_uploaded = max(session.segments_uploaded, segments_uploaded)
    saved = operations.replace(
        sessions,
        tenant_id=session.tenant_id,
        item=session,
        actor=SYSTEM_ACTOR,
        action=f"live.session.{reason.value}",
        entity_type="live-session",
        changed_fields=["ended_at", "end_reason"],
    )
    return saved


def _wrong_key() -> DomainError:
    return forbidden("This stream key is not valid")


def start_session(*, stream_key: str, app: str) -> IngestGrant:
    """Accept a publish for a valid key of a channel not already live; refuse otherwise."""
    if app != LIVE_APP or not 0 < len(stream_key) <= _KEY_MAX_CHARS:
        raise _wrong_key()
    key_hash = lookup_hash(STREAM_KEY_KIND, stream_key)
    lookup = stream_keys.get(key_hash)
    if lookup is None:
        raise _wrong_key()
    channel = _channel(lookup.tenant_id, lookup.webcast_id)
    if channel is None or not hmac.compare_digest(channel.key_hash, key_hash):
        raise _wrong_key()
    if is_gone(tenant_id=channel.tenant_id, webcast_id=channel.webcast_id):
        raise _wrong_key()  # being deleted: its key and channel go with the sweep
    if channel.state in RUNNING_STATES:
        if not _is_stale(channel):
            raise forbidden("This channel is live already")
        abandoned = _session(channel.tenant_id, channel.webcast_id, channel.current_session_id)
        if abandoned is not None and abandoned.ended_at is None:
            _end(abandoned, SessionEnd.dropped, abandoned.segments_uploaded)
    moment = utc_iso()
    session_id = new_id()
    session = sessions.create(
        tenant_id=channel.tenant_id,
        item=LiveSession(
            id=session_id,
            tenant_id=channel.tenant_id,
            webcast_id=channel.webcast_id,
            channel_id=channel.id,
            record=channel.record,
            output_prefix=f"{channel.tenant_id}/{channel.webcast_id}/{session_id}/",
            started_at=moment,
        ),
    )
    previous = channel.current_session_id or channel.last_session_id
    # Viewers get a playlist once the ingest reports the first segments in Blob.
    channel.state = ChannelState.starting
    channel.current_session_id = session.id
    channel.last_session_id = previous
    channel.output_prefix = session.output_prefix
    channel.recording = session.record
    # What made the last attempt fail stays in view until this session's first report.
    channel.health = IngestHealth(problems=channel.health.problems)
    channel.updated_at = moment
    try:
        channels.replace(tenant_id=channel.tenant_id, item=channel)
    except DomainError as error:
        # Another publish (or an admin change) came first: this one is refused.
        sessions.delete(
            tenant_id=session.tenant_id, item_id=session.id, partition_key=session.webcast_id
        )
        raise forbidden("This channel is live already") from error
    forget_playback(channel.webcast_id)
    operations.record_write(
        tenant_id=channel.tenant_id,
        actor=SYSTEM_ACTOR,
        action="live.session.start",
        entity_type="live-session",
        entity_id=session.id,
        changed_fields=["state"],
    )
    return IngestGrant(
        tenant_id=channel.tenant_id,
        webcast_id=channel.webcast_id,
        channel_id=channel.id,
        session_id=session.id,
        output_prefix=session.output_prefix,
        record=session.record,
    )


def _ingest_session(ref: IngestSessionRef) -> LiveSession:
    """The session an ingest call names; 404 once it or its webcast is gone, which tells the
    ingest to drop the stream and delete what it uploaded (decision 0048)."""
    if is_gone(tenant_id=ref.tenant_id, webcast_id=ref.webcast_id):
        raise not_found("Webcast")
    session = _session(ref.tenant_id, ref.webcast_id, ref.session_id)
    if session is None:
        raise not_found("Live session")
    return session


def report_health(*, report: IngestHealthReport) -> None:
    """Store the current session's ingest health on its channel; the first report that the
    output is playable turns a `starting` channel `live`."""
    session = _ingest_session(report)
    if session.ended_at is not None:
        raise conflict("This live session has ended")
    went_live = False

    def change(channel: LiveChannel) -> bool:
        nonlocal went_live
        if channel.current_session_id != session.id:
            return False
        playable = report.playable or channel.health.playable
        channel.health = IngestHealth(
            bitrate=report.bitrate,
            last_segment_at=report.last_segment_at,
            segments_uploaded=report.segments_uploaded,
            playable=playable,
            input=report.input,
            problems=report.problems,
            reported_at=utc_iso(),
        )
        went_live = playable and channel.state == ChannelState.starting
        if went_live:
            channel.state = ChannelState.live
            channel.updated_at = utc_iso()
        return True

    channel = _change_channel(session.tenant_id, session.webcast_id, change)
    if channel is None or channel.current_session_id != session.id:
        raise conflict("This live session is not the channel's current one")
    if went_live:
        forget_playback(session.webcast_id)


def end_session(*, report: IngestDone) -> LiveSessionView:
    """End a session (idempotent) and put its channel into `stopped`."""
    session = _ingest_session(report)
    if session.ended_at is None:
        session = _end(session, report.reason, report.segments_uploaded)

    def change(channel: LiveChannel) -> bool:
        if channel.current_session_id != session.id:
            return False
        channel.state = ChannelState.stopped
        channel.current_session_id = None
        channel.last_session_id = session.id
        if report.problems:
            channel.health.problems = report.problems
        channel.updated_at = utc_iso()
        return True

    _change_channel(session.tenant_id, session.webcast_id, change)
    forget_playback(session.webcast_id)
    return LiveSessionView.of(session)


def recording_target(*, ref: IngestSessionRef) -> RecordingTarget:
    """The asset the session's recording becomes (created on the first call), and its blob."""
    # Imported here: the media service loads the storage SDK, which most API calls never need.
    from shared.media import service as media

    session = _ingest_session(ref)
    if not session.record:
        raise conflict("This live session is not recorded")
    if session.recording_asset_id is not None:
        asset = media.find_recording_asset(
            tenant_id=session.tenant_id,
            webcast_id=session.webcast_id,
            asset_id=session.recording_asset_id,
        )
        if asset is None:
            raise not_found("Recording asset")
    else:
        asset = media.create_recording_asset(
            tenant_id=session.tenant_id,
            webcast_id=session.webcast_id,
            live_session_id=session.id,
            title=f"Live recording {session.started_at[:16].replace('T', ' ')} UTC",
        )
        session.recording_asset_id = asset.id
        sessions.replace(tenant_id=session.tenant_id, item=session)
    return RecordingTarget(
        asset_id=asset.id, container=asset.source_container, blob=asset.source_blob
    )


# ---- viewers ----


# Every viewer's player reloads the live playlist every segment: at 100,000 viewers the
# channel would be read tens of thousands of times a second. A change made elsewhere reaches
# a process within this many seconds; one made in the process itself at once.
PLAYBACK_CACHE_SECONDS = 2.0
_playback_cache: ShortCache[LivePlayback | None] = ShortCache(seconds=PLAYBACK_CACHE_SECONDS)


def forget_playback(webcast_id: str) -> None:
    _playback_cache.forget(webcast_id)


def _read_playback(webcast_id: str) -> LivePlayback | None:
    webcast = find_public(webcast_id)
    if webcast is None:
        return None
    channel = _channel(webcast.tenant_id, webcast_id)
    if channel is None or channel.output_prefix is None:
        return None
    session_id = channel.current_session_id or channel.last_session_id
    if session_id is None:
        return None
    return LivePlayback(
        tenant_id=channel.tenant_id,
        webcast_id=webcast_id,
        session_id=session_id,
        prefix=channel.output_prefix,
        master_playlist=f"{channel.output_prefix}{MASTER_PLAYLIST}",
        state=channel.state,
        record=channel.recording,
    )


def current_playback(*, webcast_id: str) -> LivePlayback | None:
    """The live output of the webcast's current (or last) session, if it ever went live."""
    # The webcast first (cached, forgotten at once where it is tombstoned): a deleted
    # webcast's stream is not served from this cache for the rest of its time.
    if find_public(webcast_id) is None:
        return None
    return _playback_cache.get(webcast_id, lambda: _read_playback(webcast_id))


def viewer_playback(
    *, session: ParticipantSession | None, webcast_id: str, session_id: str | None = None
) -> LivePlayback:
    """`current_playback` for a viewer with a grant; 404 before the webcast ever went live,
    for a live session other than the current (or last) one, and for a session's playlists
    while it is still starting."""
    require_grant(session, webcast_id)
    return session_playback(webcast_id=webcast_id, session_id=session_id)


def session_playback(*, webcast_id: str, session_id: str | None = None) -> LivePlayback:
    """`current_playback`, with no grant check (the caller checked a grant or a signed URL);
    404 as `viewer_playback` says."""
    live = current_playback(webcast_id=webcast_id)
    if live is None or (session_id is not None and live.session_id != session_id):
        raise not_found("Live stream")
    if session_id is not None and live.state == ChannelState.starting:
        raise not_found("Live stream (starting: ask the summary again)")
    return live
