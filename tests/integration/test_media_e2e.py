"""Upload to VOD end to end (P20, P38): SAS upload, BlobCreated, malware gate, the real worker
with ffmpeg, results, an edit, captions, publishing and a viewer playing the ladder."""

import json
import math
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared import malware
from shared.clients import blob_container_name, blob_service, queue_client
from shared.media import service
from shared.media.models import MEDIA, TRANSCODE_QUEUE, MediaResult, media_prefix
from shared.media.repository import assets
from tests import helpers
from tests.media_pipeline import TRIGGERS, settle

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
        settle()

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
    settle()
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
    settle()  # the caption passes the malware gate (switched off here) before it is offered
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


# ---- what the served playlists say, against the files the worker wrote ----------------------


def _stream_inf(master: str) -> list[dict[str, str]]:
    """Each variant's attributes (quotes removed) and its URI, in the order listed."""
    lines = master.splitlines()
    variants = []
    for index, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            found = re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1])
            variants.append({k: v.strip('"') for k, v in found} | {"URI": lines[index + 1]})
    return variants


def _blobs(prefix: str) -> dict[str, bytes]:
    media = blob_service().get_container_client(blob_container_name(MEDIA))
    return {
        blob.name[len(prefix) :]: bytes(media.download_blob(blob.name).readall())
        for blob in media.list_blobs(name_starts_with=prefix)
    }


def _rates(playlist: str, files: dict[str, bytes], rung: str) -> tuple[int, int]:
    """RFC 8216's peak (fastest contiguous run of 0.5 to 1.5 target durations) and average
    segment bit rate, from the segment files and their EXTINF durations."""
    target = int(playlist.split("#EXT-X-TARGETDURATION:", 1)[1].split()[0])
    lines = [line for line in playlist.splitlines() if line]
    segments = [
        (float(line[8:].rstrip(",")), len(files[f"{rung}/{lines[index + 1]}"]) * 8)
        for index, line in enumerate(lines)
        if line.startswith("#EXTINF:")
    ]
    runs = [
        (sum(s for s, _ in segments[i:j]), sum(b for _, b in segments[i:j]))
        for i in range(len(segments))
        for j in range(i + 1, len(segments) + 1)
    ]
    peak = max(bits / seconds for seconds, bits in runs if 0.5 * target <= seconds <= 1.5 * target)
    whole_seconds, whole_bits = runs[len(segments) - 1]
    return math.ceil(peak), math.ceil(whole_bits / whole_seconds)


def _first_pts_90khz(init: bytes, segment: bytes, folder: Path) -> int:
    """The first video frame's presentation time on the player's clock: fragments are placed
    by their own timestamps, not by the init segment's edit list."""
    joined = folder / "first.mp4"
    joined.write_bytes(init + segment)
    command = ["ffprobe", "-v", "error", "-of", "json", "-ignore_editlist", "1"]
    command += ["-select_streams", "v:0", "-show_streams", str(joined)]
    stream = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
    numerator, denominator = (int(n) for n in stream["streams"][0]["time_base"].split("/"))
    return round(int(stream["streams"][0]["start_pts"]) * numerator * 90_000 / denominator)


def _served_caption(viewer: httpx.Client, playlist: str) -> str:
    caption_playlist = viewer.get(playlist)
    assert caption_playlist.status_code == 200, caption_playlist.text
    (url,) = [line for line in caption_playlist.text.splitlines() if line.startswith("http")]
    vtt = httpx.get(url, timeout=30)
    assert vtt.status_code == 200, vtt.text
    return vtt.text


def _caption(owner: helpers.Admin, language: str, path: str) -> None:
    put = owner.request(
        "PUT", f"{path}/captions/{language}", params={"label": language}, content=VTT
    )
    assert put.status_code == 200, put.text


@pytest.mark.claim("P20")
def test_the_served_master_and_captions_carry_what_the_worker_measured(
    stack: Any, clip: bytes, tmp_path: Path
) -> None:
    owner = helpers.new_owner("vod-authoring")
    # veryfast, as in production: x264's B-frames start the encoded video two frames late.
    with helpers.changed_settings(
        malware_gate="defender", malware_recheck_seconds=0, media_x264_preset="veryfast"
    ):
        webcast_id = helpers.new_webcast(
            owner, "vod", title="VOD", access_mode="registration", admit_before_confirmation=True
        )
        created = owner.post(
            f"/api/webcasts/{webcast_id}/media",
            json={"title": "Keynote", "filename": "talk.mp4", "size": len(clip)},
        ).json()
        asset_id = created["asset"]["id"]
        path = f"/api/webcasts/{webcast_id}/media/{asset_id}"
        ticket = created["upload"]
        assert httpx.put(ticket["url"], content=clip, headers=ticket["headers"]).status_code == 201
        TRIGGERS.runner.run_once()
        # German captions before the transcode: offered while the video still waits for its scan.
        _caption(owner, "de", path)
        uploads = f"{owner.tenant_id}/{webcast_id}/{asset_id}"
        malware.record_scan_result(
            container="uploads", blob_name=f"{uploads}/captions/de.vtt", clean=True
        )
        TRIGGERS.passes(2)
        waiting = _asset(owner, webcast_id, asset_id)
        assert waiting["status"] == "uploaded"
        assert [(c["language"], c["status"]) for c in waiting["captions"]] == [("de", "available")]
        assert waiting["captions"][0]["mapped_pts_90khz"] is None  # nothing measured yet
        malware.record_scan_result(container="uploads", blob_name=f"{uploads}/source", clean=True)
        settle()
    assert _asset(owner, webcast_id, asset_id)["status"] == "ready"
    _caption(owner, "en", path)  # English after it (the malware gate is off again)
    settle()
    assert owner.post(f"{path}/publish").status_code == 200

    files = _blobs(
        media_prefix(tenant_id=owner.tenant_id, webcast_id=webcast_id, asset_id=asset_id)
    )
    viewer = helpers.Viewer.register(webcast_id).client
    summary = viewer.get(f"/api/w/{webcast_id}/vod").json()
    master = viewer.get(summary["master_playlist"]).text
    assert master.splitlines()[:3] == ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    variants = _stream_inf(master)
    # The start variant first: the lowest peak, on any network.
    assert [v["URI"].split("/")[-2] for v in variants] == ["144p", "240p"]
    assert int(variants[0]["BANDWIDTH"]) < int(variants[1]["BANDWIDTH"])
    starts = set()
    for variant in variants:
        rung = variant["URI"].split("/")[-2]
        playlist = files[f"{rung}/index.m3u8"].decode()
        assert (int(variant["BANDWIDTH"]), int(variant["AVERAGE-BANDWIDTH"])) == _rates(
            playlist, files, rung
        )
        assert variant["FRAME-RATE"] == "30.000"
        first = re.search(r"^seg_\d+\.m4s$", playlist, re.MULTILINE)
        assert first is not None
        starts.add(
            _first_pts_90khz(files[f"{rung}/init.mp4"], files[f"{rung}/{first[0]}"], tmp_path)
        )
    (start,) = starts  # the same frames in every rung
    assert start == 6000  # two frames of 30 fps: 66.7 ms

    mapped = f"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{start},LOCAL:00:00:00.000\n\n"
    captions = {c["language"]: c["playlist"] for c in summary["captions"]}
    assert _served_caption(viewer, captions["de"]).startswith(mapped)
    assert _served_caption(viewer, captions["en"]).startswith(mapped)

    # A new encode of the asset (here: its result with a later start) maps both anew.
    stored = assets.get(tenant_id=owner.tenant_id, item_id=asset_id, partition_key=webcast_id)
    assert stored is not None
    later = start + 3003
    assert service.apply_result(
        MediaResult(
            tenant_id=owner.tenant_id,
            webcast_id=webcast_id,
            asset_id=asset_id,
            outcome="ready",
            duration_seconds=stored.duration_seconds,
            width=stored.width,
            height=stored.height,
            renditions=stored.renditions,
            start_pts_90khz=later,
            poster=stored.poster,
        )
    )
    summary = viewer.get(f"/api/w/{webcast_id}/vod").json()
    for caption in summary["captions"]:
        vtt = _served_caption(viewer, caption["playlist"])
        assert (
            vtt
            == f"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{later},LOCAL:00:00:00.000\n\n"
            + (VTT.decode()[len("WEBVTT\n\n") :])
        )
