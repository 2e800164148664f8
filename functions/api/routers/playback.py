"""HTTP adapter for playback: playlists through the API, segments signed straight from Blob.

Viewer routes live under /api/w/{webcast_id}/vod and /live (viewer session grant, the
published asset only). A live rung's playlist is public at the window-signed URL that the
live master names (/api/live/...), so that the CDN caches it for every viewer. The admin
preview of any ready asset is under /api/webcasts/{webcast_id}/media/{asset_id}/preview
(any account of the tenant)."""

import math
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from functions.api import problems
from functions.api.deps import CurrentPrincipal
from functions.api.etags import UNCHANGED, conditional_json, matches, quoted
from functions.api.routing import DeferredAPIRoute
from functions.api.viewer_deps import ViewerSession
from shared.live.models import LivePlayback, LiveSummary
from shared.live.service import session_playback, viewer_playback
from shared.media import playback
from shared.media.models import Asset

router = APIRouter(tags=["playback"], route_class=DeferredAPIRoute)
VIEWER = "/api/w/{webcast_id}/vod"
PREVIEW = "/api/webcasts/{webcast_id}/media/{asset_id}/preview"
LIVE = "/api/w/{webcast_id}/live"

IfNoneMatch = Annotated[str | None, Header()]


class PlaylistResponse(Response):
    """As a route's `response_class`, documents its answer as an HLS playlist."""

    media_type = playback.MPEGURL


# The admin preview plays only an asset that is ready.
PREVIEW_ANSWERS = UNCHANGED | problems.responses(409)


def _viewer_base(webcast_id: str, asset_id: str) -> str:
    return f"/api/w/{webcast_id}/vod/{asset_id}"


def _preview_base(webcast_id: str, asset_id: str) -> str:
    return f"/api/webcasts/{webcast_id}/media/{asset_id}/preview"


def _cache_control(moment: datetime) -> str:
    # Private: the routes need a grant. Cached until the window's URLs are due for renewal.
    return f"private, max-age={playback.fresh_seconds(moment)}"


def _playlist(rendered: playback.Playlist, moment: datetime, if_none_match: str | None) -> Response:
    etag = quoted(rendered.digest)
    headers = {"ETag": etag, "Cache-Control": _cache_control(moment), "Vary": "Cookie"}
    if matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(rendered.text, media_type=playback.MPEGURL, headers=headers)


def _published(session: ViewerSession, webcast_id: str, asset_id: str | None = None) -> Asset:
    return playback.published_vod(session=session, webcast_id=webcast_id, asset_id=asset_id)


# ---- viewer side ----


@router.get(VIEWER, response_model=playback.VodSummary, responses=UNCHANGED)
def vod_summary(
    webcast_id: str, session: ViewerSession, if_none_match: IfNoneMatch = None
) -> Response:
    """The published VOD: 404 while nothing is published."""
    asset = _published(session, webcast_id)
    moment = datetime.now(UTC)
    summary = playback.vod_summary(
        asset, base_path=_viewer_base(webcast_id, asset.id), moment=moment
    )
    return conditional_json(summary, if_none_match, cache_control=_cache_control(moment))


@router.get(
    f"{VIEWER}/{{asset_id}}/master.m3u8", response_class=PlaylistResponse, responses=UNCHANGED
)
def master_playlist(
    webcast_id: str, asset_id: str, session: ViewerSession, if_none_match: IfNoneMatch = None
) -> Response:
    asset = _published(session, webcast_id, asset_id)
    rendered = playback.vod_master_playlist(asset, base_path=_viewer_base(webcast_id, asset_id))
    return _playlist(rendered, datetime.now(UTC), if_none_match)


@router.get(
    f"{VIEWER}/{{asset_id}}/captions/{{language}}.m3u8",
    response_class=PlaylistResponse,
    responses=UNCHANGED,
)
def caption_playlist(
    webcast_id: str,
    asset_id: str,
    language: str,
    session: ViewerSession,
    if_none_match: IfNoneMatch = None,
) -> Response:
    asset = _published(session, webcast_id, asset_id)
    moment = datetime.now(UTC)
    return _playlist(
        playback.caption_playlist(asset, language, moment=moment), moment, if_none_match
    )


@router.get(
    f"{VIEWER}/{{asset_id}}/{{rung}}/index.m3u8",
    response_class=PlaylistResponse,
    responses=UNCHANGED,
)
def media_playlist(
    webcast_id: str,
    asset_id: str,
    rung: str,
    session: ViewerSession,
    if_none_match: IfNoneMatch = None,
) -> Response:
    asset = _published(session, webcast_id, asset_id)
    moment = datetime.now(UTC)
    return _playlist(playback.vod_media_playlist(asset, rung, moment=moment), moment, if_none_match)


# ---- live ----


def _live(session: ViewerSession, webcast_id: str, session_id: str | None = None) -> LivePlayback:
    return viewer_playback(session=session, webcast_id=webcast_id, session_id=session_id)


def _live_base(webcast_id: str, session_id: str) -> str:
    return f"/api/w/{webcast_id}/live/{session_id}"


@router.get(LIVE, response_model=LiveSummary)
def live_summary(webcast_id: str, session: ViewerSession) -> Response:
    """State and recording notice of the webcast's live stream; 404 before it ever ran."""
    live = _live(session, webcast_id)
    summary = LiveSummary.of(live, base_path=_live_base(webcast_id, live.session_id))
    headers = {"Cache-Control": "private, max-age=2", "Vary": "Cookie"}
    if summary.retry_after_seconds is not None:
        # Asked again in a second, and then the answer must be the new one: no cached copy.
        retry = str(max(1, math.ceil(summary.retry_after_seconds)))
        headers |= {"Cache-Control": "private, no-cache", "Retry-After": retry}
    return Response(summary.model_dump_json(), media_type="application/json", headers=headers)


@router.get(
    f"{LIVE}/{{session_id}}/master.m3u8", response_class=PlaylistResponse, responses=UNCHANGED
)
def live_master_playlist(
    webcast_id: str, session_id: str, session: ViewerSession, if_none_match: IfNoneMatch = None
) -> Response:
    """The variants are public playlist URLs signed for the current window."""
    live = _live(session, webcast_id, session_id)
    moment = datetime.now(UTC)
    return _playlist(playback.live_master_playlist(live, moment=moment), moment, if_none_match)


@router.get(
    playback.LIVE_PLAYLIST_PATH,
    response_class=PlaylistResponse,
    responses=UNCHANGED | problems.responses(403),
)
def live_media_playlist(
    webcast_id: str,
    session_id: str,
    rung: str,
    expires: Annotated[int, Query(ge=0, le=2**40)],
    sig: Annotated[str, Query(min_length=64, max_length=64)],
    if_none_match: IfNoneMatch = None,
) -> Response:
    """One rung's live playlist at the signed URL the master names: no session needed, so
    the CDN may answer every viewer of the window from one copy."""
    moment = datetime.now(UTC)
    playback.check_live_playlist_url(
        webcast_id=webcast_id,
        session_id=session_id,
        rung=rung,
        expires=expires,
        signature=sig,
        moment=moment,
    )
    live = session_playback(webcast_id=webcast_id, session_id=session_id)
    rendered = playback.live_media_playlist(live, rung, moment=moment)
    etag = quoted(rendered.digest)
    # A live playlist changes with every segment: a cached copy may answer for a second.
    headers = {"ETag": etag, "Cache-Control": "public, max-age=1"}
    if matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(rendered.text, media_type=playback.MPEGURL, headers=headers)


# ---- admin preview ----


@router.get(f"{PREVIEW}/master.m3u8", response_class=PlaylistResponse, responses=PREVIEW_ANSWERS)
def preview_master_playlist(
    webcast_id: str,
    asset_id: str,
    principal: CurrentPrincipal,
    if_none_match: IfNoneMatch = None,
) -> Response:
    asset = playback.preview_asset(principal=principal, webcast_id=webcast_id, asset_id=asset_id)
    rendered = playback.vod_master_playlist(asset, base_path=_preview_base(webcast_id, asset_id))
    return _playlist(rendered, datetime.now(UTC), if_none_match)


@router.get(
    f"{PREVIEW}/captions/{{language}}.m3u8",
    response_class=PlaylistResponse,
    responses=PREVIEW_ANSWERS,
)
def preview_caption_playlist(
    webcast_id: str,
    asset_id: str,
    language: str,
    principal: CurrentPrincipal,
    if_none_match: IfNoneMatch = None,
) -> Response:
    asset = playback.preview_asset(principal=principal, webcast_id=webcast_id, asset_id=asset_id)
    moment = datetime.now(UTC)
    return _playlist(
        playback.caption_playlist(asset, language, moment=moment), moment, if_none_match
    )


@router.get(
    f"{PREVIEW}/{{rung}}/index.m3u8", response_class=PlaylistResponse, responses=PREVIEW_ANSWERS
)
def preview_media_playlist(
    webcast_id: str,
    asset_id: str,
    rung: str,
    principal: CurrentPrincipal,
    if_none_match: IfNoneMatch = None,
) -> Response:
    asset = playback.preview_asset(principal=principal, webcast_id=webcast_id, asset_id=asset_id)
    moment = datetime.now(UTC)
    return _playlist(playback.vod_media_playlist(asset, rung, moment=moment), moment, if_none_match)
