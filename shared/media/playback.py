"""Protected, cacheable HLS playback: playlists come from the API, segments straight from Blob.

Nothing under `media/` (or `live/`) is public. The API serves the playlists to viewers with a
grant; every segment, init section, caption and poster URL in them is a read-only SAS URL
signed for a time window of W = `media_signing_window_seconds`. All viewers of a webcast
within one window get byte-identical URLs, so the CDN and browsers cache the segments once.

Windows: a window starts at floor(moment / W) * W and its URLs expire at start + 2W, so a URL
handed out at the very end of a window still works for at least W. VOD playlists are read
once per playback (players do not reload a playlist with #EXT-X-ENDLIST), so their URLs also
hold for the video's duration rounded up to whole windows: a viewer who starts late in a
window can watch to the end without a reload. Playlists may be cached until their window
ends (`fresh_seconds`), when the next window's URLs take over.

Live media playlists change every segment and every viewer reloads them every 2 s, so they
are public instead: the grant-checked master playlist names each rung at a URL signed for
the window (`live_playlist_url`), the same for every viewer, which the CDN caches for a
second. Such a URL works until its window's expiry (at most 2W after it was handed out);
the player then loads the master again through the grant check (web/player/src/player.ts).
"""

import hashlib
import hmac
import math
import posixpath
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Protocol
from urllib.parse import quote, unquote

from azure.core.exceptions import ResourceNotFoundError
from pydantic import BaseModel

from shared.auth.models import Principal
from shared.blob_sas import read_url
from shared.clients import blob_container_name, blob_service
from shared.config import get_settings
from shared.errors import conflict, forbidden, not_found
from shared.ids import lookup_hash
from shared.media.hls import frame_rate_attribute, in_start_order
from shared.media.models import MEDIA, Asset, AssetStatus, Caption, Rendition, media_prefix
from shared.media.repository import assets, published_asset_cached
from shared.participants.access import require_grant
from shared.participants.models import ParticipantSession
from shared.webcasts.service import MEMBER, admin_webcast, viewer_webcast

MPEGURL = "application/vnd.apple.mpegurl"
SUBTITLE_GROUP = "subs"
_MAP_URI = re.compile(r'(?<![A-Z-])URI="([^"]*)"')
_RENDERED_MAX_ENTRIES = 1024
# A two-hour VOD rung of 4 s segments renders to about 0.5 MB; keep a few dozen of them.
_RENDERED_MAX_CHARS = 32 * 1024 * 1024
_SIGNED_URLS_MAX = 8192


class CaptionTrack(BaseModel):
    language: str
    label: str
    playlist: str


class VodSummary(BaseModel):
    """What the viewer page needs to offer the published VOD."""

    asset_id: str
    title: str
    duration_seconds: float | None
    master_playlist: str
    poster_url: str | None
    download_url: str | None
    captions: list[CaptionTrack]
    urls_expire_at: datetime


@dataclass(frozen=True)
class Playlist:
    """A rendered playlist and a strong validator of its bytes (the API's ETag)."""

    text: str
    digest: str

    @classmethod
    def of(cls, text: str) -> "Playlist":
        return cls(text=text, digest=hashlib.sha256(text.encode()).hexdigest()[:32])


class _Rendered:
    """LRU of rendered playlists, bounded in entries and characters, shared by the request
    threads of a process."""

    def __init__(self, *, max_entries: int, max_chars: int) -> None:
        self._entries: OrderedDict[tuple[str, ...], Playlist] = OrderedDict()
        self._rendering: dict[tuple[str, ...], threading.Lock] = {}
        self._chars = 0
        self._lock = threading.Lock()
        self._max_entries = max_entries
        self._max_chars = max_chars

    def _cached(self, key: tuple[str, ...]) -> Playlist | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def get(self, key: tuple[str, ...], render: Callable[[], str]) -> Playlist:
        found = self._cached(key)
        if found is not None:
            return found
        # One render per key: at a window's start every viewer's request misses at once, and
        # signing a long VOD playlist takes a good part of a second.
        with self._lock:
            rendering = self._rendering.setdefault(key, threading.Lock())
        with rendering:
            found = self._cached(key)
            if found is not None:
                return found
            try:
                playlist = Playlist.of(render())
                self._store(key, playlist)
            finally:
                with self._lock:
                    self._rendering.pop(key, None)
        return playlist

    def _store(self, key: tuple[str, ...], playlist: Playlist) -> None:
        with self._lock:
            previous = self._entries.pop(key, None)
            self._chars += len(playlist.text) - (len(previous.text) if previous else 0)
            self._entries[key] = playlist
            while len(self._entries) > self._max_entries or self._chars > self._max_chars:
                _, evicted = self._entries.popitem(last=False)
                self._chars -= len(evicted.text)


_rendered = _Rendered(max_entries=_RENDERED_MAX_ENTRIES, max_chars=_RENDERED_MAX_CHARS)


# ---- windows ----


def _window_seconds() -> int:
    return get_settings().media_signing_window_seconds


def window_of(moment: datetime, *, hold_seconds: int = 0) -> tuple[datetime, datetime]:
    """The signing window of a moment: (start, expiry) with start = floor(moment / W) * W and
    expiry = start + 2W (+ `hold_seconds` for URLs that must outlive the window's end)."""
    width = _window_seconds()
    start_seconds = math.floor(moment.timestamp() / width) * width
    start = datetime.fromtimestamp(start_seconds, tz=UTC)
    return start, start + timedelta(seconds=2 * width + hold_seconds)


def _window_key(start: datetime) -> str:
    """A window in a cache key: its start and its width (a changed width is another window)."""
    return f"{start.isoformat()}/{_window_seconds()}"


def fresh_seconds(moment: datetime) -> int:
    """How long a playlist rendered at `moment` may be cached: until its window ends, when
    its URLs have less than W (plus their hold) left and the next window's take over."""
    start, _ = window_of(moment)
    remaining = start + timedelta(seconds=_window_seconds()) - moment
    return max(0, int(remaining.total_seconds()))


def _vod_hold(asset: Asset) -> int:
    """The asset's duration rounded up to whole windows (the same for every viewer)."""
    width = _window_seconds()
    return math.ceil((asset.duration_seconds or 0) / width) * width


# ---- signing ----


@lru_cache(maxsize=_SIGNED_URLS_MAX)
def _signed_url(container: str, blob_name: str, start: datetime, expiry: datetime) -> str:
    return read_url(container=container, blob_name=blob_name, start=start, expiry=expiry)


def _blob_beside(playlist_blob: str, uri: str) -> str:
    """The blob a playlist URI names, resolved relative to the playlist's blob path."""
    target = unquote(uri.strip())
    if not target or "://" in target or target.startswith("/"):
        raise ValueError(f"playlist {playlist_blob} names {uri!r}, not a blob beside it")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(playlist_blob), target))
    if resolved == ".." or resolved.startswith("../"):
        raise ValueError(f"playlist {playlist_blob} names {uri!r} outside its container")
    return resolved


def signed_media_playlist(
    text: str, *, container: str, playlist_blob: str, moment: datetime, hold_seconds: int = 0
) -> str:
    """An HLS media playlist with every URI line and #EXT-X-MAP URI replaced by the absolute
    signed URL of the blob it names; every other byte stays as it was (VOD and live)."""
    start, expiry = window_of(moment, hold_seconds=hold_seconds)

    def signed(uri: str) -> str:
        return _signed_url(container, _blob_beside(playlist_blob, uri), start, expiry)

    lines: list[str] = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        if body.startswith("#EXT-X-MAP:"):
            body = _MAP_URI.sub(lambda found: f'URI="{signed(found.group(1))}"', body, count=1)
        elif body.strip() and not body.startswith("#"):
            body = signed(body)
        lines.append(body + ending)
    return "".join(lines)


# ---- which asset ----


def published_vod(
    *, session: ParticipantSession | None, webcast_id: str, asset_id: str | None = None
) -> Asset:
    """The webcast's published, ready VOD asset (and, when named, only that one), for a
    viewer with a grant. A republish changes the asset id and so every URL."""
    require_grant(session, webcast_id)
    webcast = viewer_webcast(webcast_id)
    asset = published_asset_cached(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
    if asset is None or (asset_id is not None and asset.id != asset_id):
        raise not_found("Video")
    return asset


def preview_asset(*, principal: Principal, webcast_id: str, asset_id: str) -> Asset:
    """Any ready asset of the principal's tenant, published or not (admin preview)."""
    tenant_id = admin_webcast(principal, webcast_id, needs=MEMBER, write=False).tenant_id
    asset = assets.get(tenant_id=tenant_id, item_id=asset_id, partition_key=webcast_id)
    if asset is None:
        raise not_found("Asset")
    if asset.status != AssetStatus.ready:
        raise conflict("The asset is not ready yet")
    return asset


# ---- playlists ----


def _prefix(asset: Asset) -> str:
    return media_prefix(tenant_id=asset.tenant_id, webcast_id=asset.webcast_id, asset_id=asset.id)


def _version(asset: Asset) -> str:
    # The etag changes with every write of the asset (captions, a re-transcode, ...).
    return asset.etag or asset.updated_at


def _quoted(value: str) -> str:
    """A value for an HLS quoted-string, which cannot hold quotes or line breaks."""
    return re.sub(r'["\r\n]', "'", value)


def _rendition(asset: Asset, rung: str) -> Rendition:
    found = next((r for r in asset.renditions if r.name == rung), None)
    if found is None:
        raise not_found("Rendition")
    return found


def _caption(asset: Asset, language: str) -> Caption:
    found = next((c for c in asset.offered_captions if c.language == language), None)
    if found is None:
        raise not_found("Caption")
    return found


def _caption_path(base_path: str, caption: Caption) -> str:
    return f"{base_path}/captions/{quote(caption.language, safe='')}.m3u8"


def vod_master_playlist(asset: Asset, *, base_path: str) -> Playlist:
    """The master playlist as the API serves it: variants point at the API's media playlist
    routes under `base_path`, captions are a subtitle group. Built from the renditions the
    worker reported (bit rates and frame rate it measured, codecs as ffmpeg wrote them),
    the start variant first; it holds no signed URL."""
    return _rendered.get(
        ("master", asset.id, _version(asset), base_path), lambda: _master(asset, base_path)
    )


def _master(asset: Asset, base_path: str) -> str:
    # Every rung is cut from closed GOPs at segment boundaries, since the first transcode.
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for caption in asset.offered_captions:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="{SUBTITLE_GROUP}",'
            f'NAME="{_quoted(caption.label)}",LANGUAGE="{_quoted(caption.language)}",'
            f'DEFAULT=NO,AUTOSELECT=YES,URI="{_caption_path(base_path, caption)}"'
        )
    for rendition in in_start_order(asset.renditions, lambda r: r.bandwidth):
        attributes = [f"BANDWIDTH={rendition.bandwidth}"]
        if rendition.average_bandwidth:
            attributes.append(f"AVERAGE-BANDWIDTH={rendition.average_bandwidth}")
        if rendition.width and rendition.height:
            attributes.append(f"RESOLUTION={rendition.width}x{rendition.height}")
        if rendition.frame_rate:
            attributes.append(f"FRAME-RATE={frame_rate_attribute(rendition.frame_rate)}")
        if rendition.codecs:
            attributes.append(f'CODECS="{_quoted(rendition.codecs)}"')
        if asset.offered_captions:
            attributes.append(f'SUBTITLES="{SUBTITLE_GROUP}"')
        lines.append("#EXT-X-STREAM-INF:" + ",".join(attributes))
        lines.append(f"{base_path}/{quote(rendition.name, safe='')}/index.m3u8")
    return "\n".join(lines) + "\n"


def _download_text(container: str, blob_name: str) -> str:
    blob = blob_service().get_blob_client(blob_container_name(container), blob_name)
    try:
        return bytes(blob.download_blob().readall()).decode("utf-8")
    except ResourceNotFoundError:
        raise not_found("Playlist") from None


def vod_media_playlist(asset: Asset, rung: str, *, moment: datetime) -> Playlist:
    """One rung's stored media playlist with signed segment URLs, rendered once per process
    and window."""
    playlist_blob = _prefix(asset) + _rendition(asset, rung).playlist
    hold = _vod_hold(asset)
    start, _ = window_of(moment)
    return _rendered.get(
        ("media", asset.id, _version(asset), playlist_blob, _window_key(start)),
        lambda: signed_media_playlist(
            _download_text(MEDIA, playlist_blob),
            container=MEDIA,
            playlist_blob=playlist_blob,
            moment=moment,
            hold_seconds=hold,
        ),
    )


def caption_playlist(asset: Asset, language: str, *, moment: datetime) -> Playlist:
    """A one-segment WebVTT media playlist for one caption language."""
    caption = _caption(asset, language)
    start, expiry = window_of(moment, hold_seconds=_vod_hold(asset))

    def render() -> str:
        duration = asset.duration_seconds or 0.0
        url = _signed_url(MEDIA, _prefix(asset) + caption.blob, start, expiry)
        return (
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            f"#EXT-X-TARGETDURATION:{max(1, math.ceil(duration))}\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-PLAYLIST-TYPE:VOD\n"
            f"#EXTINF:{duration:.3f},\n"
            f"{url}\n"
            "#EXT-X-ENDLIST\n"
        )

    return _rendered.get(
        ("captions", asset.id, _version(asset), caption.language, _window_key(start)), render
    )


def _attachment(title: str) -> str:
    """Content-Disposition for the download: an ASCII file name plus the exact one (RFC 6266)."""
    plain = re.sub(r"[^A-Za-z0-9._ -]+", "_", title).strip(" ._") or "video"
    return f"attachment; filename=\"{plain}.mp4\"; filename*=UTF-8''{quote(title + '.mp4')}"


def vod_summary(asset: Asset, *, base_path: str, moment: datetime) -> VodSummary:
    """The published VOD for the viewer page, its poster and download as signed URLs."""
    start, expiry = window_of(moment, hold_seconds=_vod_hold(asset))
    prefix = _prefix(asset)
    download_url = None
    if asset.download:
        download_url = read_url(
            container=MEDIA,
            blob_name=prefix + asset.download,
            start=start,
            expiry=expiry,
            content_disposition=_attachment(asset.title),
        )
    return VodSummary(
        asset_id=asset.id,
        title=asset.title,
        duration_seconds=asset.duration_seconds,
        master_playlist=f"{base_path}/master.m3u8",
        poster_url=_signed_url(MEDIA, prefix + asset.poster, start, expiry)
        if asset.poster
        else None,
        download_url=download_url,
        captions=[
            CaptionTrack(language=c.language, label=c.label, playlist=_caption_path(base_path, c))
            for c in asset.offered_captions
        ],
        urls_expire_at=expiry,
    )


# ---- live ----

_RUNG_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# Live playlists change every segment (2 s): a process renders each at most once a second.
LIVE_RENDER_SECONDS = 1
LIVE_PLAYLIST_PATH = "/api/live/{webcast_id}/{session_id}/{rung}/index.m3u8"
_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")


class LiveOutput(Protocol):
    """Where a live session's HLS output lies (the live feature's LivePlayback)."""

    @property
    def webcast_id(self) -> str: ...
    @property
    def session_id(self) -> str: ...
    @property
    def container(self) -> str: ...
    @property
    def prefix(self) -> str: ...
    @property
    def master_playlist(self) -> str: ...


def _live_signature(webcast_id: str, session_id: str, rung: str, expires: int) -> str:
    return lookup_hash("live-playlist", f"{webcast_id}/{session_id}/{rung}/{expires}")


def live_playlist_url(live: LiveOutput, rung: str, *, moment: datetime) -> str:
    """The public URL of one rung's live playlist for the window of `moment`: the same for
    every viewer of the window, so the CDN answers them all from one cached copy."""
    _, expiry = window_of(moment)
    expires = int(expiry.timestamp())
    path = LIVE_PLAYLIST_PATH.format(
        webcast_id=live.webcast_id, session_id=live.session_id, rung=rung
    )
    signature = _live_signature(live.webcast_id, live.session_id, rung, expires)
    return f"{path}?expires={expires}&sig={signature}"


def check_live_playlist_url(
    *, webcast_id: str, session_id: str, rung: str, expires: int, signature: str, moment: datetime
) -> None:
    """Forbidden unless the URL is one `live_playlist_url` made and its window has not run out."""
    if not _RUNG_NAME.match(rung) or not _SIGNATURE.match(signature):
        raise forbidden("This playlist URL is not valid")
    expected = _live_signature(webcast_id, session_id, rung, expires)
    if not hmac.compare_digest(expected, signature):
        raise forbidden("This playlist URL is not valid")
    if expires <= moment.timestamp():
        raise forbidden("This playlist URL has expired: load the master playlist again")


def live_master_playlist(live: LiveOutput, *, moment: datetime) -> Playlist:
    """The session's master playlist with each variant at its public, window-signed URL."""
    start, _ = window_of(moment)

    def variant(line: str) -> str:
        rung, _, name = line.strip().partition("/")
        if name != "index.m3u8" or not _RUNG_NAME.match(rung):
            raise ValueError(f"live master {live.master_playlist} names {line!r}, not a rung")
        return live_playlist_url(live, rung, moment=moment)

    def render() -> str:
        text = _download_text(live.container, live.master_playlist)
        lines = [
            line if not line.strip() or line.startswith("#") else variant(line)
            for line in text.splitlines()
        ]
        return "\n".join(lines) + "\n"

    return _rendered.get(("live-master", live.session_id, _window_key(start)), render)


def live_media_playlist(live: LiveOutput, rung: str, *, moment: datetime) -> Playlist:
    """One rung's current live playlist with signed segment URLs."""
    if not _RUNG_NAME.match(rung):
        raise not_found("Playlist")
    playlist_blob = f"{live.prefix}{rung}/index.m3u8"
    bucket = str(int(moment.timestamp()) // LIVE_RENDER_SECONDS)
    return _rendered.get(
        ("live", playlist_blob, bucket),
        lambda: signed_media_playlist(
            _download_text(live.container, playlist_blob),
            container=live.container,
            playlist_blob=playlist_blob,
            moment=moment,
        ),
    )
