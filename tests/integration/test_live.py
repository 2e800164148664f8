"""Live channels (P20): real nginx-rtmp, the ingest process, ffmpeg, the API over HTTP.

The API runs under uvicorn in a thread, the ingest (`python -m media_pipelines.live`) as a
child process whose hooks reach that API; a generated test source is pushed over RTMP.
"""

import dataclasses
import json
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from media_pipelines import worker
from media_pipelines.live.hls import parse_playlist
from shared.clients import blob_container_name, blob_service
from shared.ids import lookup_hash
from shared.live import service as live_service
from shared.live.repository import stream_keys
from shared.media import playback
from shared.media.models import AssetKind
from shared.media.repository import assets
from tests import helpers
from tests.live_ingest import Ingest

T = TypeVar("T")
RUNG = "240p"  # the tiny ladder's top rung (WEBCAST_MEDIA_LADDER=tiny in tests)


def _admin(live_app: FastAPI, name: str) -> helpers.Admin:
    """A signed-in owner whose client reaches the app with the live routes."""
    owner = helpers.new_owner(name)
    http = TestClient(
        live_app,
        base_url="https://testserver",
        raise_server_exceptions=False,
        cookies=owner.client.cookies,
    )
    return dataclasses.replace(owner, client=http)


def _push(url: str, *, seconds: float) -> "subprocess.Popen[bytes]":
    """A generated 640x360 source with sound, pushed in real time."""
    return subprocess.Popen(
        [
            *("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re"),
            *("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"),
            *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"),
            *(
                "-t",
                str(seconds),
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
            ),
            *("-g", "60", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv", url),
        ],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _until(
    probe: Callable[[], T | None],
    *,
    what: str,
    timeout: float = 30.0,
    ingest: Ingest | None = None,
) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}\n{ingest.output() if ingest else ''}")


def _live_blobs(tenant_id: str, webcast_id: str) -> list[str]:
    client = blob_service().get_container_client(blob_container_name("live"))
    return [b.name for b in client.list_blobs(name_starts_with=f"{tenant_id}/{webcast_id}/")]


def _blob_text(container: str, name: str) -> str | None:
    client = blob_service().get_blob_client(blob_container_name(container), name)
    if not client.exists():
        return None
    text: str = client.download_blob().readall().decode()
    return text


def _channel(owner: helpers.Admin, webcast_id: str) -> dict[str, Any]:
    response = owner.get(f"/api/webcasts/{webcast_id}/live")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _stopped(owner: helpers.Admin, webcast_id: str) -> dict[str, Any] | None:
    channel = _channel(owner, webcast_id)
    return channel if channel["state"] == "stopped" else None


def _epoch(moment: str) -> float:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()


def _probe_seconds(data: bytes) -> float:
    with tempfile.NamedTemporaryFile(suffix=".ts") as handle:
        handle.write(data)
        handle.flush()
        done = subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-show_entries",
                "format=duration",
                "-of",
                "json",
                handle.name,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    return float(json.loads(done.stdout)["format"]["duration"])


def _recording(owner: helpers.Admin, webcast_id: str, session: dict[str, Any]) -> float:
    """The session's recording asset and the seconds its blob in `uploads` lasts."""
    asset = assets.get(
        tenant_id=owner.tenant_id,
        item_id=session["recording_asset_id"],
        partition_key=webcast_id,
    )
    assert asset is not None
    assert asset.kind == AssetKind.recording and asset.live_session_id == session["id"]
    blob = blob_service().get_blob_client(blob_container_name("uploads"), asset.source_blob)
    return _probe_seconds(blob.download_blob().readall())


def test_channel_admin_and_ingest_hooks_guard_the_key(live_app: FastAPI):
    owner = _admin(live_app, "live-admin")
    webcast_id = helpers.new_webcast(owner, "live-admin")
    url = f"/api/webcasts/{webcast_id}/live"
    assert owner.get(url).status_code == 404

    created = owner.post(url, json={"record": True})
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    key = created.json()["stream_key"]
    assert len(key) >= 43 and created.json()["stream_url"].endswith(f"/live/{key}")
    assert owner.post(url, json={}).status_code == 409, "one channel per webcast"

    shown = owner.get(url)
    assert shown.json()["state"] == "idle" and shown.json()["record"] is True
    assert key not in shown.text
    changed = owner.patch(url, json={"record": False})
    assert changed.status_code == 200 and changed.json()["record"] is False
    assert owner.patch(url, json={"record": "maybe"}).status_code == 422

    ingest_client = TestClient(live_app, base_url="https://testserver")
    form = {"name": key, "app": "live", "addr": "127.0.0.1"}
    assert ingest_client.post("/api/live/ingest/publish", data=form).status_code == 403
    wrong = {"X-Ingest-Secret": "guess"}
    assert (
        ingest_client.post("/api/live/ingest/publish", data=form, headers=wrong).status_code == 403
    )

    rotated = owner.post(f"{url}/key")
    assert rotated.status_code == 200 and rotated.json()["stream_key"] != key
    new_key = rotated.json()["stream_key"]
    assert stream_keys.get(lookup_hash("stream-key", key)) is None, "the old key is forgotten"
    assert stream_keys.get(lookup_hash("stream-key", new_key)) is not None
    entries = helpers.audit_entries(owner.tenant_id, entity_type="live-channel")
    assert {e.action for e in entries} >= {
        "live.channel.create",
        "live.channel.update",
        "live.key.rotate",
    }
    assert all(
        key not in e.model_dump_json() and new_key not in e.model_dump_json() for e in entries
    )

    # A sub-account may not see or change the channel.
    sub = helpers.new_subaccount(owner, [])
    sub_http = TestClient(live_app, base_url="https://testserver", cookies=sub.client.cookies)
    assert sub_http.get(url).status_code == 403

    assert owner.delete(url).status_code == 204
    assert owner.get(url).status_code == 404
    assert stream_keys.get(lookup_hash("stream-key", new_key)) is None
    assert live_service.current_playback(webcast_id=webcast_id) is None


def test_wrong_and_rotated_keys_are_refused(live_app: FastAPI, ingest: Ingest):
    owner = _admin(live_app, "live-keys")
    webcast_id = helpers.new_webcast(owner, "live-keys")
    old_key = owner.post(f"/api/webcasts/{webcast_id}/live").json()["stream_key"]
    assert owner.post(f"/api/webcasts/{webcast_id}/live/key").status_code == 200

    for key in ("not-a-key", old_key):
        pusher = _push(ingest.url(key), seconds=4)
        _, errors = pusher.communicate(timeout=30)
        assert pusher.returncode != 0, f"the push with {key[:4]}... was accepted"
        assert errors
    assert _channel(owner, webcast_id)["state"] == "idle"
    assert _live_blobs(owner.tenant_id, webcast_id) == []


@pytest.mark.claim("P20")
def test_live_push_makes_a_growing_playlist_health_and_a_recording(
    live_app: FastAPI, ingest: Ingest
):
    owner = _admin(live_app, "live-push")
    webcast_id = helpers.new_webcast(owner, "live-push")
    key = owner.post(f"/api/webcasts/{webcast_id}/live").json()["stream_key"]
    pushed = 9
    push_started = time.time()
    pusher = _push(ingest.url(key), seconds=pushed)

    starting = _until(
        lambda: live_service.current_playback(webcast_id=webcast_id),
        what="the channel to start",
        ingest=ingest,
    )
    # A 2 s segment needs 2 s of the real-time push: until then no viewer gets a playlist.
    assert starting.state == "starting" and starting.record is True
    _a_viewer_waits(live_app, webcast_id, starting.session_id)
    live = _until(
        lambda: _in_state(webcast_id, "live"), what="the channel to go live", ingest=ingest
    )
    assert live.record is True, "the page shows a recording notice"
    assert live.prefix.startswith(f"{owner.tenant_id}/{webcast_id}/")
    # `live` only once the master and every rung's first segment are in Blob.
    master = _blob_text("live", live.master_playlist)
    assert master is not None and f"{RUNG}/index.m3u8" in master
    # Completed to Apple's authoring rules: the start variant (lowest) first, the average
    # from the ladder's rates (video + 64 kbit/s audio), the pushed 30 fps as measured.
    lines = master.splitlines()
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in lines
    assert [line for line in lines if line.endswith(".m3u8")] == [
        "144p/index.m3u8",
        f"{RUNG}/index.m3u8",
    ]
    variants = [line for line in lines if line.startswith("#EXT-X-STREAM-INF:")]
    assert ",AVERAGE-BANDWIDTH=214000," in variants[0]
    assert ",AVERAGE-BANDWIDTH=464000," in variants[1]
    assert all(variant.endswith(",FRAME-RATE=30.000") for variant in variants)
    rung_playlist = f"{live.prefix}{RUNG}/index.m3u8"
    first = parse_playlist(_blob_text("live", rung_playlist) or "")
    assert first is not None and first.segments and not first.ended
    assert "#EXT-X-PROGRAM-DATE-TIME:" in (_blob_text("live", rung_playlist) or "")
    for segment in first.segments:
        assert f"{live.prefix}{RUNG}/{segment}" in _live_blobs(owner.tenant_id, webcast_id)

    def grown() -> Any:
        later = parse_playlist(_blob_text("live", rung_playlist) or "")
        assert later is not None
        count = later.media_sequence + len(later.segments)
        return later if count > first.media_sequence + len(first.segments) else None

    _until(grown, what="the playlist to grow", ingest=ingest)
    _a_viewer_plays(live_app, webcast_id)
    health = _channel(owner, webcast_id)
    assert health["state"] == "live" and health["recording"] is True
    assert health["health"]["bitrate"] > 50_000
    assert health["health"]["segments_uploaded"] >= 2
    last_segment = health["health"]["last_segment_at"]
    assert abs(time.time() - _epoch(last_segment)) < 60

    assert pusher.wait(timeout=60) == 0
    stopped = _until(lambda: _stopped(owner, webcast_id), what="the channel to stop", ingest=ingest)
    session = stopped["last_session"]
    assert stopped["current_session"] is None and session["end_reason"] == "stopped"
    final = _blob_text("live", rung_playlist) or ""
    playlist = parse_playlist(final)
    assert playlist is not None and playlist.ended
    assert "#EXT-X-TARGETDURATION:2" in final
    durations = [
        float(line[8:].rstrip(",")) for line in final.splitlines() if line.startswith("#EXTINF:")
    ]
    assert all(d <= 2.1 for d in durations) and sum(d >= 1.9 for d in durations) >= 3
    # Program date-times count from the capture (the push's start), segment by segment.
    dates = [_epoch(line[25:]) for line in final.splitlines() if line.startswith("#EXT-X-PROG")]
    assert len(dates) == len(durations) and abs(dates[0] - push_started) < 1.0
    assert all(
        abs(later - earlier - duration) < 0.002
        for earlier, later, duration in zip(dates, dates[1:], durations, strict=False)
    )
    assert stopped["recording_asset_id"] == session["recording_asset_id"] is not None
    seconds = _recording(owner, webcast_id, session)
    assert pushed - 1.5 < seconds < pushed + 1.5
    ended = live_service.current_playback(webcast_id=webcast_id)
    assert ended is not None and ended.state == "stopped" and ended.prefix == live.prefix
    _recording_becomes_vod(owner, webcast_id, session["recording_asset_id"], pushed)


def _in_state(webcast_id: str, state: str) -> Any:
    live = live_service.current_playback(webcast_id=webcast_id)
    return live if live is not None and live.state == state else None


def _a_viewer_waits(live_app: FastAPI, webcast_id: str, session_id: str) -> None:
    """While the stream starts, the summary hands out no playlist and says when to ask again."""
    viewer = TestClient(live_app, base_url="https://testserver")
    assert viewer.post(f"/api/w/{webcast_id}/enter").status_code == 200
    summary = viewer.get(f"/api/w/{webcast_id}/live")
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert body["state"] == "starting" and body["master_playlist"] is None, body
    assert body["retry_after_seconds"] == 0.5 and summary.headers["retry-after"] == "1"
    master = viewer.get(f"/api/w/{webcast_id}/live/{session_id}/master.m3u8")
    assert master.status_code == 404, master.text


def _a_viewer_plays(live_app: FastAPI, webcast_id: str) -> None:
    """A viewer with a grant gets the master from the API; it names each rung at a public
    URL signed for the window, which opens without a session and with nothing else."""
    viewer = TestClient(live_app, base_url="https://testserver")
    assert viewer.get(f"/api/w/{webcast_id}/live").status_code in (401, 403)
    assert viewer.post(f"/api/w/{webcast_id}/enter").status_code == 200
    summary = viewer.get(f"/api/w/{webcast_id}/live")
    assert summary.status_code == 200, summary.text
    assert summary.json()["state"] == "live" and summary.json()["recorded"] is True
    master = viewer.get(summary.json()["master_playlist"])
    assert master.status_code == 200, master.text
    assert master.headers["cache-control"].startswith("private, ")
    variants = [line for line in master.text.splitlines() if ".m3u8?" in line]
    assert len(variants) == 2 and all(v.startswith("/api/live/") for v in variants), variants
    anyone = TestClient(live_app, base_url="https://testserver")
    media = anyone.get(variants[0])
    assert media.status_code == 200, media.text
    assert media.headers["cache-control"] == "public, max-age=1"
    assert "set-cookie" not in media.headers and "cookie" not in media.headers.get("vary", "")
    assert anyone.get(
        variants[0], headers={"If-None-Match": media.headers["etag"]}
    ).status_code in (
        200,  # a new segment came in between
        304,
    )
    # Every viewer of the window is handed the same URL: the CDN keeps one copy.
    other = TestClient(live_app, base_url="https://testserver")
    assert other.post(f"/api/w/{webcast_id}/enter").status_code == 200
    assert other.get(summary.json()["master_playlist"]).text == master.text
    segment = next(line for line in media.text.splitlines() if line.startswith("http"))
    fetched = httpx.get(segment, timeout=10)
    assert fetched.status_code == 200 and fetched.content[:1] == b"G", "an MPEG-TS segment"
    _no_other_url_opens_a_rung(anyone, variants)


def _no_other_url_opens_a_rung(anyone: TestClient, variants: list[str]) -> None:
    """A changed signature, rung, session or expiry, an expired window, or no signature at
    all: refused before anything is read."""
    path, _, query = variants[0].partition("?")
    fields = dict(part.split("=", 1) for part in query.split("&"))
    expires, signature = int(fields["expires"]), fields["sig"]
    other_rung = variants[1].partition("?")[0]
    parts = path.split("/")
    other_session = "/".join([*parts[:4], "0" * 32, *parts[5:]])
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    refused = {
        f"{path}?expires={expires}&sig={flipped}": 403,
        f"{other_rung}?expires={expires}&sig={signature}": 403,
        f"{other_session}?expires={expires}&sig={signature}": 403,
        f"{path}?expires={expires + 600}&sig={signature}": 403,
        f"{path}?expires={expires}&sig={signature.upper()}": 403,
        f"{path}?expires={expires}": 422,
        f"{path}?expires=99999999999999999999&sig={signature}": 422,
        path: 422,
    }
    for url, status in refused.items():
        answer = anyone.get(url)
        assert answer.status_code == status, (url, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    # A URL the API signed for a window that has run out.
    live = live_service.current_playback(webcast_id=parts[3])
    assert live is not None
    stale = playback.live_playlist_url(
        live, parts[5], moment=datetime.now(UTC) - timedelta(hours=1)
    )
    answer = anyone.get(stale)
    assert answer.status_code == 403 and "expired" in answer.json()["detail"], answer.text


def _recording_becomes_vod(
    owner: helpers.Admin, webcast_id: str, asset_id: str, pushed: float
) -> None:
    """The committed recording goes through the VOD pipeline like an upload (P20)."""
    runner = helpers.Triggers({"blob_created", "media_result"}, watch=("uploads",)).runner
    options = worker.WorkerOptions(visibility_seconds=60, retry_seconds=0)
    for _ in range(30):
        events = runner.run_once().did_work
        if not events and not worker.poll_once(options):
            break
    asset = owner.get(f"/api/webcasts/{webcast_id}/media/{asset_id}")
    assert asset.status_code == 200, asset.text
    body = asset.json()
    assert (body["kind"], body["status"]) == ("recording", "ready"), body
    assert pushed - 2 < body["duration_seconds"] < pushed + 2


@pytest.mark.claim("P20")
def test_dropped_connection_ends_the_session_and_keeps_the_recording(
    live_app: FastAPI, ingest: Ingest
):
    owner = _admin(live_app, "live-drop")
    webcast_id = helpers.new_webcast(owner, "live-drop")
    key = owner.post(f"/api/webcasts/{webcast_id}/live").json()["stream_key"]
    pusher = _push(ingest.url(key), seconds=60)
    started = time.monotonic()
    live = _until(
        lambda: live_service.current_playback(webcast_id=webcast_id), what="the channel to go live"
    )

    def two_segments() -> bool:
        playlist = parse_playlist(_blob_text("live", f"{live.prefix}{RUNG}/index.m3u8") or "")
        return playlist is not None and len(playlist.segments) >= 2

    _until(two_segments, what="two live segments", ingest=ingest)
    pusher.send_signal(signal.SIGKILL)
    pushed = time.monotonic() - started
    pusher.wait()

    stopped = _until(lambda: _stopped(owner, webcast_id), what="the channel to stop", ingest=ingest)
    session = stopped["last_session"]
    assert session["end_reason"] == "dropped"
    playlist = parse_playlist(_blob_text("live", f"{live.prefix}{RUNG}/index.m3u8") or "")
    assert playlist is not None and playlist.ended
    seconds = _recording(owner, webcast_id, session)
    assert 3 < seconds < pushed + 1.5

    # The channel takes the next publish at once.
    again = _push(ingest.url(key), seconds=3)
    _until(
        lambda: _channel(owner, webcast_id)["state"] in ("starting", "live"),
        what="the channel to start again",
    )
    assert again.wait(timeout=60) == 0
    _until(lambda: _stopped(owner, webcast_id), what="the second session to stop", ingest=ingest)


@pytest.mark.claim("P20")
def test_no_recording_when_the_channel_does_not_record(live_app: FastAPI, ingest: Ingest):
    owner = _admin(live_app, "live-norec")
    webcast_id = helpers.new_webcast(owner, "live-norec")
    url = f"/api/webcasts/{webcast_id}/live"
    key = owner.post(url, json={"record": False}).json()["stream_key"]
    pusher = _push(ingest.url(key), seconds=4)
    live = _until(
        lambda: live_service.current_playback(webcast_id=webcast_id), what="the channel to go live"
    )
    assert live.record is False, "no recording notice"
    assert pusher.wait(timeout=60) == 0
    stopped = _until(lambda: _stopped(owner, webcast_id), what="the channel to stop", ingest=ingest)
    assert stopped["last_session"]["record"] is False
    assert stopped["recording_asset_id"] is None
    assert _blob_text("live", f"{live.prefix}{RUNG}/index.m3u8")
    uploads = blob_service().get_container_client(blob_container_name("uploads"))
    assert list(uploads.list_blobs(name_starts_with=f"{owner.tenant_id}/{webcast_id}/")) == []
    recordings = [
        a
        for a in assets.query(tenant_id=owner.tenant_id, partition_key=webcast_id)
        if a.kind == AssetKind.recording
    ]
    assert recordings == []


@pytest.mark.claim("P22")
def test_deleting_a_live_webcast_drops_the_stream_and_its_live_output(
    live_app: FastAPI, ingest: Ingest
):
    owner = _admin(live_app, "live-delete")
    slug = "live-delete"
    webcast_id = helpers.new_webcast(owner, slug)
    key = owner.post(f"/api/webcasts/{webcast_id}/live", json={"record": True}).json()["stream_key"]
    pusher = _push(ingest.url(key), seconds=60)
    live = _until(
        lambda: live_service.current_playback(webcast_id=webcast_id), what="the channel to go live"
    )
    _until(
        lambda: _blob_text("live", f"{live.prefix}{RUNG}/index.m3u8"),
        what="a live playlist",
        ingest=ingest,
    )

    started = owner.post(f"/api/webcasts/{webcast_id}/deletion", json={"confirm_slug": slug})
    assert started.status_code == 202, started.text
    # The ingest learns it on its next report, stops, deletes its output and has nginx
    # drop the publisher (the deletion job itself does not run here).
    pusher.communicate(timeout=30)
    assert pusher.returncode != 0, "the publisher was dropped, not left to finish"
    _until(
        lambda: _live_blobs(owner.tenant_id, webcast_id) == [],
        what="the live output to be deleted",
        ingest=ingest,
    )
    uploads = blob_service().get_container_client(blob_container_name("uploads"))
    assert list(uploads.list_blobs(name_starts_with=f"{owner.tenant_id}/{webcast_id}/")) == []
    output = ingest.output()
    assert "dropping the stream" in output and "dropped: its webcast is gone" in output
    again = _push(ingest.url(key), seconds=3)
    again.communicate(timeout=30)
    assert again.returncode != 0, "a new publish is refused"
