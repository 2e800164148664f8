"""Protected, cacheable VOD playback (P20): playlists through the API, segments signed in Blob.

A real two-rung fMP4 ladder made by ffmpeg goes into the private `media` container; viewers
with a grant read playlists from the API and fetch every segment straight from Azurite."""

import functools
import re
import subprocess
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from azure.storage.blob import ContentSettings
from fastapi.testclient import TestClient

from shared.clients import blob_container_name, blob_service
from shared.clock import utc_iso
from shared.media.models import (
    MEDIA,
    Asset,
    AssetKind,
    AssetStatus,
    Caption,
    Publication,
    Rendition,
    media_prefix,
)
from shared.media.repository import PUBLICATION_ID, assets, forget_published, publications
from tests import helpers

MPEGURL = "application/vnd.apple.mpegurl"
VTT = b"WEBVTT\n\n00:00.000 --> 00:01.500\nHallo und willkommen\n"
CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".mp4": "video/mp4",
    ".m4s": "video/iso.segment",
    ".jpg": "image/jpeg",
    ".vtt": "text/vtt; charset=utf-8",
}
_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


@pytest.fixture(scope="module")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s clip as a two-rung fMP4 HLS ladder (one ffmpeg process) and a poster."""
    out = tmp_path_factory.mktemp("ladder")
    (out / "180p").mkdir()
    (out / "90p").mkdir()
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error",
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", "2",
            "-filter_complex", "[0:v]split=2[hi][lo0];[lo0]scale=160:90[lo]",
            "-map", "[hi]", "-map", "[lo]", "-map", "1:a", "-map", "1:a",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-sc_threshold", "0",
            "-b:v:0", "300k", "-b:v:1", "100k", "-c:a", "aac", "-b:a", "64k",
            "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
            "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
            "-hls_segment_filename", str(out / "%v" / "seg_%05d.m4s"),
            "-master_pl_name", "master.m3u8",
            "-var_stream_map", "v:0,a:0,name:180p v:1,a:1,name:90p",
            str(out / "%v" / "index.m3u8"),
        ],
        check=True,
        timeout=60,
    )  # fmt: skip
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
            "-i", "testsrc2=size=320x180:rate=30", "-frames:v", "1", str(out / "poster.jpg"),
        ],
        check=True,
        timeout=60,
    )  # fmt: skip
    (out / "captions").mkdir()
    (out / "captions" / "de.vtt").write_bytes(VTT)
    return out


def _renditions(ladder: Path) -> list[Rendition]:
    """The rungs as ffmpeg wrote them into the master playlist."""
    lines = (ladder / "master.m3u8").read_text().splitlines()
    renditions = []
    for index, line in enumerate(lines):
        if not line.startswith("#EXT-X-STREAM-INF:"):
            continue
        attributes = {k: v.strip('"') for k, v in _ATTRIBUTE.findall(line.split(":", 1)[1])}
        width, height = (int(n) for n in attributes["RESOLUTION"].split("x"))
        playlist = lines[index + 1]
        renditions.append(
            Rendition(
                name=playlist.split("/")[0],
                width=width,
                height=height,
                video_bitrate=0,
                audio_bitrate=64_000,
                bandwidth=int(attributes["BANDWIDTH"]),
                codecs=attributes["CODECS"],
                playlist=playlist,
            )
        )
    return renditions


def _ready_asset(ladder: Path, *, tenant_id: str, webcast_id: str) -> Asset:
    """A ready asset whose ladder, poster and German captions sit in the media container."""
    asset_id = uuid.uuid4().hex
    prefix = media_prefix(tenant_id=tenant_id, webcast_id=webcast_id, asset_id=asset_id)
    container = blob_service().get_container_client(blob_container_name(MEDIA))
    for path in sorted(ladder.rglob("*")):
        if path.is_file():
            container.upload_blob(
                prefix + path.relative_to(ladder).as_posix(),
                path.read_bytes(),
                overwrite=True,
                content_settings=ContentSettings(content_type=CONTENT_TYPES[path.suffix]),
            )
    moment = utc_iso()
    return assets.create(
        tenant_id=tenant_id,
        item=Asset(
            id=asset_id,
            tenant_id=tenant_id,
            webcast_id=webcast_id,
            title="Town hall",
            kind=AssetKind.upload,
            status=AssetStatus.ready,
            source_blob=f"{prefix}source",
            duration_seconds=2.0,
            width=320,
            height=180,
            renditions=_renditions(ladder),
            poster="poster.jpg",
            captions=[
                Caption(language="de", label="Deutsch", blob="captions/de.vtt", created_at=moment)
            ],
            created_at=moment,
            updated_at=moment,
            ready_at=moment,
        ),
    )


def _publish(asset: Asset) -> None:
    """What `service.publish` stores, and its cache reset in this process."""
    publications.upsert(
        tenant_id=asset.tenant_id,
        item=Publication(
            id=PUBLICATION_ID,
            tenant_id=asset.tenant_id,
            webcast_id=asset.webcast_id,
            asset_id=asset.id,
            published_at=utc_iso(),
        ),
    )
    forget_published(asset.webcast_id)


_webcast = functools.partial(
    helpers.new_webcast, access_mode="registration", admit_before_confirmation=True
)


def _uris(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


def _map_uri(playlist: str) -> str:
    found = re.search(r'#EXT-X-MAP:URI="([^"]+)"', playlist)
    assert found is not None, playlist
    return found.group(1)


def _playlist(http: TestClient, path: str) -> httpx.Response:
    response = http.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MPEGURL
    assert re.fullmatch(r"private, max-age=\d+", response.headers["cache-control"])
    return response


@pytest.fixture
def published(stack, ladder):
    owner = helpers.new_owner("vod")
    webcast_id = _webcast(owner, "vod")
    asset = _ready_asset(ladder, tenant_id=owner.tenant_id, webcast_id=webcast_id)
    _publish(asset)
    return owner, webcast_id, asset


@pytest.mark.claim("P20")
def test_a_viewer_plays_the_published_vod_through_playlists_and_signed_segments(published, ladder):
    _owner, webcast_id, asset = published
    viewer = helpers.Viewer.register(webcast_id).client
    base = f"/api/w/{webcast_id}/vod/{asset.id}"

    summary = viewer.get(f"/api/w/{webcast_id}/vod")
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert body["asset_id"] == asset.id and body["master_playlist"] == f"{base}/master.m3u8"
    assert body["captions"] == [
        {"language": "de", "label": "Deutsch", "playlist": f"{base}/captions/de.m3u8"}
    ]
    poster = httpx.get(body["poster_url"], timeout=10)
    assert poster.status_code == 200 and poster.content == (ladder / "poster.jpg").read_bytes()

    master = _playlist(viewer, body["master_playlist"]).text
    # The start variant (lowest peak) first, whatever order the ladder has.
    assert _uris(master) == [f"{base}/90p/index.m3u8", f"{base}/180p/index.m3u8"]
    assert (
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Deutsch",LANGUAGE="de",'
        f'DEFAULT=NO,AUTOSELECT=YES,URI="{base}/captions/de.m3u8"'
    ) in master.splitlines()
    stream_infs = [line for line in master.splitlines() if line.startswith("#EXT-X-STREAM-INF")]
    assert len(stream_infs) == 2 and all('SUBTITLES="subs"' in s for s in stream_infs)

    for rung in ("180p", "90p"):
        response = _playlist(viewer, f"{base}/{rung}/index.m3u8")
        stored = (ladder / rung / "index.m3u8").read_text()
        segment_names = _uris(stored)
        urls = _uris(response.text)
        assert len(urls) == len(segment_names) >= 2
        fetched = [(url, name) for url, name in zip(urls, segment_names, strict=True)]
        fetched.append((_map_uri(response.text), _map_uri(stored)))
        for url, name in fetched:
            segment = httpx.get(url, timeout=10)
            assert segment.status_code == 200, (name, segment.text)
            assert segment.content == (ladder / rung / name).read_bytes()
        # Conditional GET: the same rendition in the same window is unchanged.
        etag = response.headers["etag"]
        again = viewer.get(f"{base}/{rung}/index.m3u8", headers={"If-None-Match": etag})
        assert again.status_code == 304

    captions = _playlist(viewer, f"{base}/captions/de.m3u8").text
    assert "#EXT-X-TARGETDURATION:2" in captions and captions.endswith("#EXT-X-ENDLIST\n")
    (vtt_url,) = _uris(captions)
    vtt = httpx.get(vtt_url, timeout=10)
    assert vtt.status_code == 200 and vtt.content == VTT


@pytest.mark.claim("P20")
def test_viewers_share_segment_urls_and_nothing_plays_without_grant_or_signature(published):
    owner, webcast_id, asset = published
    base = f"/api/w/{webcast_id}/vod/{asset.id}"
    first, second = (helpers.Viewer.register(webcast_id).client for _ in range(2))
    # The two reads of the first viewer bracket the second's: were a window boundary crossed
    # in between, the second viewer's URLs equal one of them; per-viewer URLs equal neither.
    before = _playlist(first, f"{base}/180p/index.m3u8").text
    other = _playlist(second, f"{base}/180p/index.m3u8").text
    after = _playlist(first, f"{base}/180p/index.m3u8").text
    assert other in (before, after)
    assert "sig=" in _uris(other)[0]

    stranger = helpers.client()
    for path in (
        f"/api/w/{webcast_id}/vod",
        f"{base}/master.m3u8",
        f"{base}/180p/index.m3u8",
        f"{base}/captions/de.m3u8",
    ):
        refused = stranger.get(path)
        assert refused.status_code in (401, 403), path
        assert refused.headers["content-type"].startswith("application/problem+json")
    elsewhere = helpers.Viewer.register(_webcast(owner, "elsewhere")).client
    assert elsewhere.get(f"{base}/master.m3u8").status_code == 403

    segment_url = _uris(other)[0]
    parts = urlsplit(segment_url)
    query = dict(parse_qsl(parts.query))
    query["sig"] = ("A" if query["sig"][0] != "A" else "B") + query["sig"][1:]
    tampered = httpx.get(urlunsplit(parts._replace(query=urlencode(query))), timeout=10)
    assert tampered.status_code == 403
    assert httpx.get(segment_url, timeout=10).status_code == 200

    # Nothing under media/ is public: the container allows no anonymous reads at all.
    anonymous = httpx.get(urlunsplit(parts._replace(query="")), timeout=10)
    assert anonymous.status_code in (401, 403, 404, 409), anonymous.status_code
    container = blob_service().get_container_client(blob_container_name(MEDIA))
    assert container.get_container_access_policy()["public_access"] is None


@pytest.mark.claim("P20")
def test_only_the_published_asset_plays_and_a_republish_changes_the_urls(published, ladder):
    owner, webcast_id, asset = published
    viewer = helpers.Viewer.register(webcast_id).client
    other = _ready_asset(ladder, tenant_id=owner.tenant_id, webcast_id=webcast_id)
    unpublished = viewer.get(f"/api/w/{webcast_id}/vod/{other.id}/master.m3u8")
    assert unpublished.status_code == 404
    assert unpublished.headers["content-type"].startswith("application/problem+json")
    assert viewer.get(f"/api/w/{webcast_id}/vod/{other.id}/180p/index.m3u8").status_code == 404
    assert viewer.get(f"/api/w/{webcast_id}/vod/{asset.id}/720p/index.m3u8").status_code == 404

    _publish(other)
    assert viewer.get(f"/api/w/{webcast_id}/vod").json()["asset_id"] == other.id
    assert viewer.get(f"/api/w/{webcast_id}/vod/{asset.id}/master.m3u8").status_code == 404
    _playlist(viewer, f"/api/w/{webcast_id}/vod/{other.id}/master.m3u8")

    # Unpublished: in this process at once, in others within PUBLISHED_CACHE_SECONDS.
    publications.delete(tenant_id=owner.tenant_id, item_id=PUBLICATION_ID, partition_key=webcast_id)
    forget_published(webcast_id)
    gone = viewer.get(f"/api/w/{webcast_id}/vod")
    assert gone.status_code == 404
    assert gone.headers["content-type"].startswith("application/problem+json")
    assert viewer.get(f"/api/w/{webcast_id}/vod/{other.id}/master.m3u8").status_code == 404


def test_the_admin_previews_any_ready_asset_of_the_own_tenant(published, ladder):
    owner, webcast_id, _asset = published
    draft = _ready_asset(ladder, tenant_id=owner.tenant_id, webcast_id=webcast_id)
    base = f"/api/webcasts/{webcast_id}/media/{draft.id}/preview"
    master = _playlist(owner.client, f"{base}/master.m3u8").text
    assert _uris(master) == [f"{base}/90p/index.m3u8", f"{base}/180p/index.m3u8"]
    assert f'URI="{base}/captions/de.m3u8"' in master
    media = _playlist(owner.client, f"{base}/90p/index.m3u8").text
    first_segment = _uris((ladder / "90p" / "index.m3u8").read_text())[0]
    fetched = httpx.get(_uris(media)[0], timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == (ladder / "90p" / first_segment).read_bytes()
    assert "sig=" in _uris(_playlist(owner.client, f"{base}/captions/de.m3u8").text)[0]

    sub = helpers.new_subaccount(owner, [])
    _playlist(sub.client, f"{base}/master.m3u8")

    stranger = helpers.new_owner("vod-other")
    assert stranger.get(f"{base}/master.m3u8").status_code == 404
    assert helpers.client().get(f"{base}/master.m3u8").status_code == 401

    assets.replace(
        tenant_id=owner.tenant_id, item=draft.model_copy(update={"status": AssetStatus.processing})
    )
    assert owner.get(f"{base}/master.m3u8").status_code == 409
