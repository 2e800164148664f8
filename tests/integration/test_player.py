"""A real player (hls.js in Chromium, tests/browser.py) plays what the worker made (P20): a VOD to
the end with captions and a level switch, a paused VOD after its signed URLs expired, and the
Blob CORS rule that lets the page's origin read and upload while it refuses any other."""

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest

from devtools.emulators import Emulators
from media_pipelines.probe import probe, video_frames
from media_pipelines.tools import find_tools
from shared.clients import blob_service
from tests import browser, helpers, media_pipeline
from tests.live_ingest import Ingest, running_ingest

CLIP_SECONDS = media_pipeline.CLIP_SECONDS
CUES = media_pipeline.CUES
EXPIRY_WAIT_SECONDS = 60


@dataclass(frozen=True)
class Vod:
    owner: helpers.Admin
    webcast_id: str
    asset_id: str


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return media_pipeline.make_clip(tmp_path_factory.mktemp("player") / "talk.mp4")


def _published_vod(clip: bytes, name: str) -> Vod:
    """A public webcast whose published VOD the real worker made from the clip."""
    owner = helpers.new_owner(name)
    webcast_id = helpers.new_webcast(owner, title="Player")
    asset_id = media_pipeline.publish_clip(owner, webcast_id, clip)
    return Vod(owner=owner, webcast_id=webcast_id, asset_id=asset_id)


@pytest.fixture(scope="module")
def vod(stack: Emulators, clip: bytes) -> Vod:
    return _published_vod(clip, "player")


def _main_fragments(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in state["fragments"] if f["type"] == "main" and f["sn"] != "initSegment"]


def _network_errors(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Failed loads and fatal errors hls.js reported (a stall on a busy machine is neither)."""
    return [e for e in state["errors"] if e.get("type") == "networkError" or e["fatal"]]


@pytest.mark.claim("P20")
def test_a_vod_plays_to_the_end_with_captions_and_a_level_switch(
    player: browser.PlayerPage, vod: Vod, stack: Emulators
) -> None:
    player.open(vod.webcast_id)
    state = player.wait_for("s.firstFrameAt !== null && s.subtitleTracks.length > 0")
    assert [level["height"] for level in sorted(state["levels"], key=lambda x: x["height"])] == [
        144,
        240,
    ]
    assert state["subtitleTracks"] == [{"name": "Deutsch", "lang": "de"}]

    player.run("(h) => { h.hls.subtitleDisplay = true; h.hls.subtitleTrack = 0; }")
    state = player.wait_for("s.cues.length > 0")
    assert set(state["cues"]) <= CUES

    playing = player.run("(h) => h.hls.currentLevel")
    other = 1 - playing
    height = state["levels"][other]["height"]
    player.run("(h, level) => { h.hls.currentLevel = level; }", other)
    state = player.wait_for(
        f"s.levelSwitches.some((x) => x.level === {other}) && s.videoHeight === {height}"
    )

    state = player.wait_for("s.ended", timeout=CLIP_SECONDS * 4)
    assert state["currentTime"] == pytest.approx(CLIP_SECONDS, abs=0.5)
    assert _network_errors(state) == []
    assert state["renewals"] == []
    blob = browser.blob_origin(stack.storage_connection_string)
    segments = _main_fragments(state)
    assert {f["level"] for f in segments} == {0, 1}, "both rungs played"
    assert all(f["loadedUrl"].startswith(blob) for f in segments), "straight from Blob"
    assert any(f["type"] == "subtitle" for f in state["fragments"])


@pytest.mark.claim("P20")
def test_a_paused_vod_resumes_after_its_urls_expired(
    player: browser.PlayerPage, stack: Emulators, clip: bytes
) -> None:
    # A webcast of its own: its playlists, signed for 10 s windows, are never served again.
    vod = _published_vod(clip, "player-expiry")
    with helpers.changed_settings(media_signing_window_seconds=10):
        # A buffer goal of 1 s: while paused early in the first 4 s segment, the player holds
        # that segment and has not loaded the next one.
        player.open(vod.webcast_id, hls_config={"maxBufferLength": 1, "maxMaxBufferLength": 1})
        state = player.wait_for("s.currentTime > 0.5")
        player.run("(h) => h.video.pause()")
        state = player.wait_for("s.paused")
        paused_at = state["currentTime"]
        # Only the first segment's position (in whichever rung), the next is needed after it.
        loaded = {f["sn"] for f in _main_fragments(state)}
        assert len(loaded) == 1, state["fragments"]
        first = _main_fragments(state)[0]

        expired = _wait_until_refused(first["url"])
        assert expired.status_code == 403, expired.text

        player.run("(h) => h.video.play()")
        state = player.wait_for(f"s.currentTime > {paused_at + 4}")

    assert state["renewals"], "the player reloaded its playlist"
    renewal = state["renewals"][0]
    assert renewal["status"] == 403 and renewal["urls"] > 0, renewal
    # hls.js saw no failed load: it did not fall back to another rung to get fresh URLs.
    assert _network_errors(state) == []
    later = [f for f in _main_fragments(state) if f["sn"] not in loaded]
    assert any(f["loadedUrl"] != f["url"] for f in later), "a renewed URL was loaded"


def _wait_until_refused(url: str) -> httpx.Response:
    """Fetches the URL once a second until Blob stops serving it (its SAS expired)."""
    deadline = time.monotonic() + EXPIRY_WAIT_SECONDS
    while True:
        answer = httpx.get(url, timeout=10)
        if answer.status_code != 200 or time.monotonic() > deadline:
            return answer
        time.sleep(1)


def _segment_url(vod: Vod) -> str:
    """A signed segment URL of the VOD, as a viewer's playlist names it."""
    viewer = helpers.Viewer.enter(vod.webcast_id)
    summary = viewer.get(f"/api/w/{vod.webcast_id}/vod").json()
    master = viewer.get(summary["master_playlist"]).text
    variant = next(line for line in master.splitlines() if line.endswith(".m3u8"))
    media = viewer.get(variant).text
    return next(line for line in media.splitlines() if line.startswith("http"))


def _upload_ticket(vod: Vod) -> dict[str, Any]:
    created = vod.owner.post(
        f"/api/webcasts/{vod.webcast_id}/media",
        json={"title": "Handout", "filename": "more.mp4", "size": 3},
    )
    assert created.status_code == 201, created.text
    ticket: dict[str, Any] = created.json()["upload"]
    return ticket


def _blob_exists(url: str) -> bool:
    _, container, name = unquote(urlsplit(url).path).lstrip("/").split("/", 2)
    return bool(blob_service().get_blob_client(container, name).exists())


# A SAS GET and a SAS PUT with the ticket's headers (a preflight), as the page's scripts send them.
GET_AND_PUT = """async ([get, put]) => {
  const out = {};
  try {
    const answer = await fetch(get);
    out.get = answer.status;
    out.bytes = (await answer.arrayBuffer()).byteLength;
  } catch (error) {
    out.get = String(error);
  }
  try {
    const body = new Uint8Array([1, 2, 3]);
    const answer = await fetch(put.url, { method: "PUT", headers: put.headers, body });
    out.put = answer.status;
  } catch (error) {
    out.put = String(error);
  }
  return out;
}"""


@pytest.mark.claim("P20")
def test_blob_serves_the_page_origin_and_refuses_any_other(
    player: browser.PlayerPage, vod: Vod, api_server: str
) -> None:
    segment = _segment_url(vod)
    for origin, allowed in ((api_server, True), ("https://elsewhere.example", False)):
        preflight = httpx.options(
            segment,
            headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
            timeout=10,
        )
        assert (preflight.status_code == 200) is allowed, (origin, preflight.text)
        if allowed:
            assert preflight.headers["access-control-allow-origin"] == origin

    ours, theirs = _upload_ticket(vod), _upload_ticket(vod)
    player.page.goto(f"{api_server}{browser.HARNESS_PATH}/blank.html")
    answers = player.page.evaluate(GET_AND_PUT, [segment, ours])
    assert answers["get"] == 200 and answers["bytes"] > 0, answers
    assert answers["put"] == 201, answers
    assert _blob_exists(ours["url"])

    foreign = api_server.replace("127.0.0.1", "localhost")
    player.page.goto(f"{foreign}{browser.HARNESS_PATH}/blank.html")
    answers = player.page.evaluate(GET_AND_PUT, [segment, theirs])
    assert answers == {"get": "TypeError: Failed to fetch", "put": "TypeError: Failed to fetch"}
    assert not _blob_exists(theirs["url"]), "the preflight stopped the PUT"


# Long enough for a rung's playlist URL, signed for 10 s windows, to run out while it plays.
LIVE_SECONDS = 30
LIVE_WINDOW_SECONDS = 10


@pytest.fixture(scope="module")
def player_ingest(api_server: str) -> Iterator[Ingest]:
    """The live ingest reporting to the API that serves the player page."""
    with running_ingest(api_server) as running:
        yield running


@pytest.mark.claim("P20")
def test_live_from_an_encoder_with_a_single_key_frame_plays(
    player: browser.PlayerPage, player_ingest: Ingest, tmp_path: Path
) -> None:
    owner = helpers.new_owner("player-live")
    webcast_id = helpers.new_webcast(owner, title="Live")
    key = owner.post(f"/api/webcasts/{webcast_id}/live").json()["stream_key"]
    source = tmp_path / "encoder.mkv"
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    command += ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"]
    command += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    command += ["-t", str(LIVE_SECONDS), "-c:v", "libx264", "-preset", "veryfast"]
    # A GOP longer than the stream: its only key frame is its first frame.
    command += ["-g", str(LIVE_SECONDS * 30 * 2), "-sc_threshold", "0"]
    command += ["-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "matroska", str(source)]
    subprocess.run(command, check=True)
    tools = find_tools()
    frames = video_frames(source, info=probe(source, tools=tools), tools=tools)
    assert [frame.key for frame in frames].count(True) == 1
    with helpers.changed_settings(media_signing_window_seconds=LIVE_WINDOW_SECONDS):
        # The page is open before the stream: it keeps asking until a playlist is handed out.
        player.open(webcast_id, mode="live")
        pusher = subprocess.Popen(
            [
                *("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re"),
                *("-i", str(source), "-c", "copy", "-f", "flv", player_ingest.url(key)),
            ],
            stdin=subprocess.DEVNULL,
        )
        try:
            # Had the ingest lost the first key frame, or waited for a second one, nothing
            # could ever play: the stream has no other.
            state = player.wait_for("s.firstFrameAt !== null && s.currentTime > 1")
            assert _network_errors(state) == [], player_ingest.output()
            # The rung's public URL runs out within two windows; the player takes a fresh one
            # from the master (through the grant check) and plays on.
            renewed = player.wait_for(
                "s.renewals.some((r) => r.playlist.endsWith('/master.m3u8'))",
                timeout=3 * LIVE_WINDOW_SECONDS,
            )
            renewal = next(r for r in renewed["renewals"] if r["playlist"].endswith("/master.m3u8"))
            assert renewal["status"] == 403 and renewal["urls"] >= 2, renewal
            later = player.wait_for(f"s.currentTime > {renewed['currentTime'] + 2}")
            assert _network_errors(later) == [], later["errors"]
            assert later["latency"] is not None and later["latency"] > 0
            assert pusher.wait(timeout=60) == 0
        finally:
            pusher.kill()
