"""The media pipeline in the test process: blob events, the real worker and its results."""

import subprocess
from pathlib import Path

import httpx

from media_pipelines import worker
from tests import helpers

CLIP_SECONDS = 8
# Two cues over the whole clip: whenever the track is selected, one of them is on screen.
VTT = b"WEBVTT\n\n00:00.000 --> 00:04.000\nGuten Tag\n\n00:04.000 --> 00:08.000\nAuf Wiedersehen\n"
CUES = {"Guten Tag", "Auf Wiedersehen"}

OPTIONS = worker.WorkerOptions(visibility_seconds=60, retry_seconds=0)
TRIGGERS = helpers.Triggers({"blob_created", "media_result"}, watch=("uploads",))


def settle() -> None:
    """Run events, the worker and the results until nothing is left to do."""
    for _ in range(30):
        events = TRIGGERS.runner.run_once().did_work
        encoded = worker.poll_once(OPTIONS)
        if not events and not encoded:
            return
    raise AssertionError("the pipeline kept finding work")


def make_clip(path: Path, seconds: int = CLIP_SECONDS) -> bytes:
    """Test picture and tone (8 s unless told), H.264 with a keyframe every second."""
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    command += ["-f", "lavfi", "-i", "testsrc2=size=480x270:rate=30"]
    command += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    command += ["-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast"]
    command += ["-pix_fmt", "yuv420p", "-g", "30", "-c:a", "aac", str(path)]
    subprocess.run(command, check=True)
    return path.read_bytes()


def publish_clip(owner: helpers.Admin, webcast_id: str, clip: bytes) -> str:
    """Uploads the clip as the webcast's video, lets the real worker make two rungs of the
    tiny ladder, adds German captions and publishes it; the asset's id."""
    created = owner.post(
        f"/api/webcasts/{webcast_id}/media",
        json={"title": "Keynote", "filename": "talk.mp4", "size": len(clip)},
    )
    assert created.status_code == 201, created.text
    asset_id = str(created.json()["asset"]["id"])
    ticket = created.json()["upload"]
    put = httpx.put(ticket["url"], content=clip, headers=ticket["headers"], timeout=30)
    assert put.status_code == 201, put.text
    settle()
    captions = owner.request(
        "PUT",
        f"/api/webcasts/{webcast_id}/media/{asset_id}/captions/de",
        params={"label": "Deutsch"},
        content=VTT,
    )
    assert captions.status_code == 200, captions.text
    settle()
    asset = owner.get(f"/api/webcasts/{webcast_id}/media/{asset_id}").json()
    assert asset["status"] == "ready" and len(asset["renditions"]) == 2, asset
    published = owner.post(f"/api/webcasts/{webcast_id}/media/{asset_id}/publish")
    assert published.status_code == 200, published.text
    return asset_id
