"""Upload to VOD end to end (P20, P38): SAS upload, BlobCreated, malware gate, the real worker
with ffmpeg, results, an edit, captions, publishing and a viewer playing the ladder."""

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from media_pipelines import worker
from shared import malware
from shared.clients import queue_client
from shared.media.models import TRANSCODE_QUEUE
from tests import helpers

OPTIONS = worker.WorkerOptions(visibility_seconds=60, retry_seconds=0)
VTT = b"WEBVTT\n\n00:00.000 --> 00:01.000\nGuten Tag\n"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """4 s of test picture and tone, H.264 with a keyframe every second, as a camera gives."""
    path = tmp_path_factory.mktemp("e2e") / "talk.mp4"
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    command += ["-f", "lavfi", "-i", "testsrc2=size=480x270:rate=30"]
    command += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "4"]
    command += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30"]
    subprocess.run(
        [*command, "-c:a", "aac", str(path)],
        check=True,
    )
    return Path(path).read_bytes()


TRIGGERS = helpers.Triggers({"blob_created", "media_result"}, watch=("uploads",))


def _settle() -> None:
    """Run events, the worker and the results until nothing is left to do."""
    for _ in range(30):
        events = TRIGGERS.runner.run_once().did_work
        encoded = worker.poll_once(OPTIONS)
        if not events and not encoded:
            return
    raise AssertionError("the pipeline kept finding work")


def _asset(owner: helpers.Admin, webcast_id: str, asset_id: str) -> dict[str, Any]:
    response = owner.get(f"/api/webcasts/{webcast_id}/media/{asset_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.claim("P20")
@pytest.mark.claim("P38")
def test_an_uploaded_video_becomes_a_published_vod(stack: Any, clip: bytes) -> None:
    owner = helpers.new_owner("vod-e2e")
    with helpers.changed_settings(malware_gate="defender", malware_recheck_seconds=0):
        webcast_id = helpers.new_webcast(
            owner, "vod", title="VOD", access_mode="registration", admit_before_confirmation=True
        )
        created = owner.post(
            f"/api/webcasts/{webcast_id}/media",
            json={"title": "Keynote", "filename": "talk.mp4", "size": len(clip)},
        ).json()
        asset_id = created["asset"]["id"]
        ticket = created["upload"]
        put = httpx.put(ticket["url"], content=clip, headers=ticket["headers"], timeout=30)
        assert put.status_code == 201, put.text
        TRIGGERS.runner.run_once()
        assert _asset(owner, webcast_id, asset_id)["status"] == "uploaded"
        queued = queue_client(TRANSCODE_QUEUE).peek_messages(max_messages=32)
        assert asset_id not in str([m.content for m in queued]), "no job before the scan"
        malware.record_scan_result(
            container="uploads",
            blob_name=f"{owner.tenant_id}/{webcast_id}/{asset_id}/source",
            clean=True,
        )
        _settle()

    asset = _asset(owner, webcast_id, asset_id)
    assert asset["status"] == "ready", asset
    assert asset["duration_seconds"] == pytest.approx(4.0, abs=0.1)
    assert [r["name"] for r in asset["renditions"]] and asset["poster"]
    assert asset["width"] == 480 and asset["height"] == 270

    edit = owner.post(
        f"/api/webcasts/{webcast_id}/media/{asset_id}/edits",
        json={
            "title": "Keynote (cut)",
            "edit": {"trim_start": 0.5, "cuts": [{"start": 2, "end": 3}]},
        },
    )
    assert edit.status_code == 201, edit.text
    _settle()
    version = _asset(owner, webcast_id, edit.json()["id"])
    assert version["status"] == "ready", version
    # 4 s - 0.5 s - 1 s, within one GOP (2 s) of the ladder.
    assert abs(version["duration_seconds"] - 2.5) <= 2.0
    assert version["duration_seconds"] < asset["duration_seconds"]
    assert _asset(owner, webcast_id, asset_id)["status"] == "ready", "the original stays"

    captions = owner.request(
        "PUT",
        f"/api/webcasts/{webcast_id}/media/{version['id']}/captions/de",
        params={"label": "Deutsch"},
        content=VTT,
    )
    assert captions.status_code == 200, captions.text
    _settle()  # the caption passes the malware gate (switched off here) before it is offered
    published = owner.post(f"/api/webcasts/{webcast_id}/media/{version['id']}/publish")
    assert published.status_code == 200, published.text

    viewer = helpers.Viewer.register(webcast_id).client
    summary = viewer.get(f"/api/w/{webcast_id}/vod")
    assert summary.status_code == 200, summary.text
    master = viewer.get(summary.json()["master_playlist"])
    assert master.status_code == 200, master.text
    assert "TYPE=SUBTITLES" in master.text and 'LANGUAGE="de"' in master.text
    variant = next(line for line in master.text.splitlines() if line.endswith(".m3u8"))
    media = viewer.get(variant)
    assert media.status_code == 200, media.text
    segments = [line for line in media.text.splitlines() if line.startswith("http")]
    assert segments, media.text
    fetched = httpx.get(segments[0], timeout=30)
    assert fetched.status_code == 200 and len(fetched.content) > 0
    stranger = helpers.client()
    assert stranger.get(variant).status_code in (401, 403)
