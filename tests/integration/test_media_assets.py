"""Media assets through the API, Azurite and the trigger runner: upload, gate, results, edits,
captions, publishing (P20, P38). The transcode itself is in test_media_worker/test_media_e2e."""

import base64
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from shared import malware
from shared.clients import blob_container_name, blob_service, queue_client
from shared.composition.privacy_handlers import BLOB_HANDLERS
from shared.config import get_settings
from shared.media import service
from shared.media.models import (
    TRANSCODE_QUEUE,
    MediaResult,
    Rendition,
    TranscodeJob,
    media_prefix,
)
from shared.media.repository import assets, published_asset
from shared.privacy.models import DataSubject, NotYet
from tests import helpers

VTT = b"WEBVTT\n\n00:00.000 --> 00:01.500\nHallo und willkommen\n"
TRIGGERS = helpers.Triggers({"blob_created", "media_result"}, watch=("uploads",))


def take_jobs(webcast_id: str) -> list[TranscodeJob]:
    """The webcast's queued transcode jobs; every job is removed, so that no worker sees
    these or what earlier tests left (their recordings are evented here too)."""
    queue = queue_client(TRANSCODE_QUEUE)
    jobs = []
    for message in queue.receive_messages(messages_per_page=32, visibility_timeout=5):
        jobs.append(TranscodeJob.model_validate_json(message.content))
        queue.delete_message(message)
    return [job for job in jobs if job.webcast_id == webcast_id]


@pytest.fixture
def owner(stack: Any) -> helpers.Admin:
    return helpers.new_owner("media")


@pytest.fixture
def gate() -> Iterator[None]:
    """The malware gate on, as in Azure; scan results are written by the test."""
    with helpers.changed_settings(malware_gate="defender", malware_recheck_seconds=1):
        yield


def _create(owner: helpers.Admin, webcast_id: str, size: int, name: str = "talk.mp4") -> Any:
    response = owner.post(
        f"/api/webcasts/{webcast_id}/media",
        json={"title": "Keynote", "filename": name, "size": size},
    )
    assert response.status_code == 201, response.text
    return response.json()


def _put(ticket: dict[str, Any], content: bytes) -> None:
    response = httpx.put(ticket["url"], content=content, headers=ticket["headers"], timeout=30)
    assert response.status_code == 201, response.text


def _asset(owner: helpers.Admin, webcast_id: str, asset_id: str) -> dict[str, Any]:
    response = owner.get(f"/api/webcasts/{webcast_id}/media/{asset_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _ready(owner: helpers.Admin, webcast_id: str, duration: float = 10.0) -> str:
    """An uploaded asset the worker has reported ready (results applied as the trigger does)."""
    created = _create(owner, webcast_id, 64)
    _put(created["upload"], b"\0" * 64)
    TRIGGERS.drain()
    (job,) = take_jobs(webcast_id)
    service.apply_result(
        MediaResult(
            tenant_id=owner.tenant_id,
            webcast_id=webcast_id,
            asset_id=job.asset_id,
            outcome="ready",
            duration_seconds=duration,
            width=320,
            height=180,
            renditions=[
                Rendition(
                    name="180p",
                    width=320,
                    height=180,
                    video_bitrate=300_000,
                    audio_bitrate=64_000,
                    bandwidth=400_000,
                    codecs="avc1.64000d,mp4a.40.2",
                    playlist="180p/index.m3u8",
                )
            ],
            poster="poster.jpg",
        )
    )
    return job.asset_id


def _media_blobs(tenant_id: str, webcast_id: str, asset_id: str) -> list[str]:
    container = blob_service().get_container_client(blob_container_name("media"))
    prefix = media_prefix(tenant_id=tenant_id, webcast_id=webcast_id, asset_id=asset_id)
    return [blob.name for blob in container.list_blobs(name_starts_with=prefix)]


def _upload_exists(name: str) -> bool:
    return bool(blob_service().get_blob_client(blob_container_name("uploads"), name).exists())


def test_bad_uploads_are_refused_with_the_field(owner: helpers.Admin) -> None:
    webcast_id = helpers.new_webcast(owner)
    wrong = owner.post(
        f"/api/webcasts/{webcast_id}/media",
        json={"title": "Slides", "filename": "slides.pdf", "size": 10},
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "body.filename"
    huge = owner.post(
        f"/api/webcasts/{webcast_id}/media",
        json={"title": "Huge", "filename": "huge.mp4", "size": 10**15},
    )
    assert huge.status_code == 422
    assert huge.json()["errors"][0]["field"] == "body.size"


def test_a_large_upload_goes_in_blocks_and_resumes(owner: helpers.Admin) -> None:
    webcast_id = helpers.new_webcast(owner)
    parts = [bytes([n]) * 1000 for n in range(3)]
    created = _create(owner, webcast_id, 3000)
    asset_id = created["asset"]["id"]
    assert created["asset"]["status"] == "awaiting_upload"
    ticket = created["upload"]
    block_ids = [base64.b64encode(f"block-{n:05d}".encode()).decode() for n in range(3)]

    def put_block(index: int) -> None:
        block = quote(block_ids[index], safe="")
        response = httpx.put(
            f"{ticket['url']}&comp=block&blockid={block}", content=parts[index], timeout=30
        )
        assert response.status_code == 201, response.text

    put_block(0)
    put_block(1)
    progress = owner.get(f"/api/webcasts/{webcast_id}/media/{asset_id}/upload").json()
    assert progress["committed"] is False
    assert [block["id"] for block in progress["blocks"]] == block_ids[:2]
    assert progress["uploaded_bytes"] == 2000
    # The URL may have expired meanwhile: a fresh one continues the same upload.
    renewed = owner.post(f"/api/webcasts/{webcast_id}/media/{asset_id}/upload")
    assert renewed.status_code == 200, renewed.text
    ticket = renewed.json()
    put_block(2)
    block_list = "".join(f"<Latest>{block}</Latest>" for block in block_ids)
    committed = httpx.put(
        f"{ticket['url']}&comp=blocklist",
        content=f'<?xml version="1.0" encoding="utf-8"?><BlockList>{block_list}</BlockList>',
        timeout=30,
    )
    assert committed.status_code == 201, committed.text
    TRIGGERS.drain()
    asset = _asset(owner, webcast_id, asset_id)
    assert asset["status"] == "queued"
    assert asset["source_size"] == 3000
    (job,) = take_jobs(webcast_id)
    assert job.asset_id == asset_id
    assert job.output_prefix == f"{owner.tenant_id}/{webcast_id}/{asset_id}/"
    assert job.ladder == get_settings().media_ladder
    assert job.download_mp4 is False, "the MP4 download rendition is off by default"
    again = owner.post(f"/api/webcasts/{webcast_id}/media/{asset_id}/upload")
    assert again.status_code == 409


@pytest.mark.claim("P38")
def test_a_video_is_transcoded_only_after_a_clean_scan(owner: helpers.Admin, gate: None) -> None:
    webcast_id = helpers.new_webcast(owner)
    clean, infected = _create(owner, webcast_id, 10), _create(owner, webcast_id, 10)
    for created in (clean, infected):
        _put(created["upload"], b"0123456789")
    TRIGGERS.drain()
    for created in (clean, infected):
        assert _asset(owner, webcast_id, created["asset"]["id"])["status"] == "uploaded"
    assert take_jobs(webcast_id) == [], "nothing is processed before the scan result"
    source = f"{owner.tenant_id}/{webcast_id}/{{}}/source"
    malware.record_scan_result(
        container="uploads", blob_name=source.format(clean["asset"]["id"]), clean=True
    )
    malware.record_scan_result(
        container="uploads", blob_name=source.format(infected["asset"]["id"]), clean=False
    )
    time.sleep(1.2)  # the events come back after malware_recheck_seconds
    TRIGGERS.drain()
    assert _asset(owner, webcast_id, clean["asset"]["id"])["status"] == "queued"
    [job] = take_jobs(webcast_id)
    assert job.asset_id == clean["asset"]["id"]
    checked = blob_service().get_blob_client(blob_container_name("uploads"), job.source_blob)
    assert job.source_etag == checked.get_blob_properties().etag, "the version that passed"
    rejected = _asset(owner, webcast_id, infected["asset"]["id"])
    assert rejected["status"] == "rejected"
    assert rejected["failure_code"] == "malicious"
    assert "threat" in rejected["failure_reason"]
    assert not _upload_exists(source.format(infected["asset"]["id"]))


@pytest.mark.claim("P38")
def test_a_video_never_scanned_is_refused(owner: helpers.Admin, gate: None) -> None:
    with helpers.changed_settings(malware_scan_wait_seconds=1):
        webcast_id = helpers.new_webcast(owner)
        created = _create(owner, webcast_id, 10)
        _put(created["upload"], b"0123456789")
        TRIGGERS.drain()
        time.sleep(1.2)
        TRIGGERS.drain()
    asset = _asset(owner, webcast_id, created["asset"]["id"])
    assert (asset["status"], asset["failure_code"]) == ("rejected", "unscanned")
    assert take_jobs(webcast_id) == []


def test_a_file_nobody_asked_for_is_removed(owner: helpers.Admin) -> None:
    webcast_id = helpers.new_webcast(owner)
    name = f"{owner.tenant_id}/{webcast_id}/unknown/source"
    blob_service().get_blob_client(blob_container_name("uploads"), name).upload_blob(b"x")
    TRIGGERS.drain()
    assert not _upload_exists(name)


def test_worker_results_apply_once_and_never_downgrade(owner: helpers.Admin) -> None:
    webcast_id = helpers.new_webcast(owner)
    asset_id = _ready(owner, webcast_id)

    def result(outcome: str) -> MediaResult:
        return MediaResult.model_validate(
            {
                "tenant_id": owner.tenant_id,
                "webcast_id": webcast_id,
                "asset_id": asset_id,
                "outcome": outcome,
                "failure_reason": "late",
            }
        )

    assert not service.apply_result(result("processing"))
    assert not service.apply_result(result("failed"))
    asset = _asset(owner, webcast_id, asset_id)
    assert asset["status"] == "ready" and asset["duration_seconds"] == 10.0
    ready = [e for e in helpers.audit_entries(owner.tenant_id) if e.action == "media.asset.ready"]
    assert [e.entity_id for e in ready] == [asset_id]
    other = _create(owner, webcast_id, 5)
    _put(other["upload"], b"01234")
    TRIGGERS.drain()
    take_jobs(webcast_id)
    failed = result("failed").model_copy(update={"asset_id": other["asset"]["id"]})
    assert service.apply_result(failed)
    assert _asset(owner, webcast_id, other["asset"]["id"])["status"] == "failed"
    retried = result("ready").model_copy(
        update={"asset_id": other["asset"]["id"], "duration_seconds": 3.0}
    )
    assert service.apply_result(retried), "a retry that succeeds after a failure wins"
    assert _asset(owner, webcast_id, other["asset"]["id"])["status"] == "ready"


@pytest.mark.claim("P20")
def test_edits_are_new_versions_cut_from_the_source(owner: helpers.Admin) -> None:
    webcast_id = helpers.new_webcast(owner)
    asset_id = _ready(owner, webcast_id, duration=10.0)
    url = f"/api/webcasts/{webcast_id}/media/{asset_id}/edits"
    beyond = owner.post(url, json={"edit": {"trim_start": 12}})
    assert beyond.status_code == 422
    assert beyond.json()["errors"][0]["field"] == "body.edit.trim_start"
    nothing = owner.post(url, json={"edit": {"trim_start": 2, "trim_end": 2.2}})
    assert nothing.status_code == 422
    response = owner.post(
        url, json={"title": "Cut", "edit": {"trim_start": 2, "cuts": [{"start": 4, "end": 5}]}}
    )
    assert response.status_code == 201, response.text
    first = response.json()
    assert (first["kind"], first["status"], first["version"]) == ("edit", "queued", 2)
    assert first["parent_asset_id"] == asset_id
    (job,) = take_jobs(webcast_id)
    assert job.asset_id == first["id"]
    assert job.source_blob == f"{owner.tenant_id}/{webcast_id}/{asset_id}/source"
    assert job.edit is not None and job.edit.kept_ranges(10.0) == [(2.0, 4.0), (5.0, 10.0)]
    parent = _asset(owner, webcast_id, asset_id)
    assert parent["status"] == "ready", "the original stays as it was"
    queued = owner.post(
        f"/api/webcasts/{webcast_id}/media/{first['id']}/edits", json={"edit": {"trim_start": 1}}
    )
    assert queued.status_code == 409, "only a ready version can be edited"
    service.apply_result(
        MediaResult(
            tenant_id=owner.tenant_id,
            webcast_id=webcast_id,
            asset_id=first["id"],
            outcome="ready",
            duration_seconds=7.0,
        )
    )
    # An edit of the edit is in the edit's timeline: 1 s in and 3.5-4.5 s out of
    # [2-4] + [5-10] (edit time 0-2 and 2-7) keeps source [3-4] + [5-6.5] + [7.5-10].
    second = owner.post(
        f"/api/webcasts/{webcast_id}/media/{first['id']}/edits",
        json={"edit": {"trim_start": 1, "cuts": [{"start": 3.5, "end": 4.5}]}},
    )
    assert second.status_code == 201, second.text
    assert second.json()["version"] == 3
    (job,) = take_jobs(webcast_id)
    assert job.edit is not None
    assert job.edit.kept_ranges(10.0) == [(3.0, 4.0), (5.0, 6.5), (7.5, 10.0)]
    assert job.source_blob.endswith(f"/{asset_id}/source")


def test_captions_are_checked_stored_and_removed(owner: helpers.Admin) -> None:
    webcast_id = helpers.new_webcast(owner)
    asset_id = _ready(owner, webcast_id)
    url = f"/api/webcasts/{webcast_id}/media/{asset_id}/captions"
    bad = owner.request("PUT", f"{url}/de", content=b"1\n00:00 --> 00:01\nHallo\n")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body"
    bad_language = owner.request("PUT", f"{url}/Deutsch", content=VTT)
    assert bad_language.status_code == 422
    stored = owner.request(
        "PUT",
        f"{url}/de",
        params={"label": "Deutsch"},
        content=VTT,
        headers={"Content-Type": "text/vtt"},
    )
    assert stored.status_code == 200, stored.text
    assert [(c["language"], c["label"], c["status"]) for c in stored.json()["captions"]] == [
        ("de", "Deutsch", "scanning")
    ]
    blob = blob_service().get_blob_client(
        blob_container_name("media"), f"{owner.tenant_id}/{webcast_id}/{asset_id}/captions/de.vtt"
    )
    assert not blob.exists(), "offered only after the malware gate"
    TRIGGERS.drain()
    assert [c["status"] for c in _asset(owner, webcast_id, asset_id)["captions"]] == ["available"]
    assert blob.download_blob().readall() == VTT
    assert str(blob.get_blob_properties().content_settings.content_type).startswith("text/vtt")
    owner.request("PUT", f"{url}/en", content=VTT)
    removed = owner.delete(f"{url}/de")
    assert [c["language"] for c in removed.json()["captions"]] == ["en"]
    assert not blob.exists()
    assert owner.delete(f"{url}/de").status_code == 404


@pytest.mark.claim("P38")
def test_captions_pass_the_malware_gate_before_they_are_offered(owner: helpers.Admin) -> None:
    webcast_id = helpers.new_webcast(owner)
    asset_id = _ready(owner, webcast_id)
    url = f"/api/webcasts/{webcast_id}/media/{asset_id}/captions/de"
    waiting = f"{owner.tenant_id}/{webcast_id}/{asset_id}/captions/de.vtt"
    offered = blob_service().get_blob_client(blob_container_name("media"), waiting)
    with helpers.changed_settings(malware_gate="defender", malware_recheck_seconds=0):
        assert owner.request("PUT", url, content=VTT).status_code == 200
        TRIGGERS.passes(2)
        captions = _asset(owner, webcast_id, asset_id)["captions"]
        assert [c["status"] for c in captions] == ["scanning"]
        stored = assets.get(tenant_id=owner.tenant_id, item_id=asset_id, partition_key=webcast_id)
        assert stored is not None and stored.offered_captions == []
        malware.record_scan_result(container="uploads", blob_name=waiting, clean=False)
        TRIGGERS.drain()
        [refused] = _asset(owner, webcast_id, asset_id)["captions"]
        assert (refused["status"], refused["rejection"]) == (
            "rejected",
            "the malware scan found a threat in the file",
        )
        assert not _upload_exists(waiting) and not offered.exists()
        assert owner.request("PUT", url, content=VTT).status_code == 200
        malware.record_scan_result(container="uploads", blob_name=waiting, clean=True)
        TRIGGERS.drain()
    assert [c["status"] for c in _asset(owner, webcast_id, asset_id)["captions"]] == ["available"]
    assert offered.download_blob().readall() == VTT and not _upload_exists(waiting)


@pytest.mark.claim("P20")
def test_publishing_offers_one_ready_asset_and_guards_deletion(owner: helpers.Admin) -> None:
    webcast_id = helpers.new_webcast(owner)
    asset_id = _ready(owner, webcast_id)
    pending = _create(owner, webcast_id, 5)
    base = f"/api/webcasts/{webcast_id}/media"
    assert owner.post(f"{base}/{pending['asset']['id']}/publish").status_code == 409
    published = owner.post(f"{base}/{asset_id}/publish")
    assert published.status_code == 200 and published.json()["published"] is True
    assert published_asset(tenant_id=owner.tenant_id, webcast_id=webcast_id) is not None
    listed = {a["id"]: a["published"] for a in owner.get(base).json()}
    assert listed == {asset_id: True, pending["asset"]["id"]: False}
    assert owner.delete(f"{base}/{asset_id}").status_code == 409
    assert owner.delete(f"{base}/publication/vod").status_code == 204
    assert published_asset(tenant_id=owner.tenant_id, webcast_id=webcast_id) is None
    actions = [e.action for e in helpers.audit_entries(owner.tenant_id)]
    assert "media.publish" in actions and "media.unpublish" in actions


def test_deleting_an_asset_removes_its_files_but_not_a_source_still_used(
    owner: helpers.Admin,
) -> None:
    webcast_id = helpers.new_webcast(owner)
    asset_id = _ready(owner, webcast_id)
    owner.request("PUT", f"/api/webcasts/{webcast_id}/media/{asset_id}/captions/de", content=VTT)
    TRIGGERS.drain()
    edit = owner.post(
        f"/api/webcasts/{webcast_id}/media/{asset_id}/edits", json={"edit": {"trim_start": 1}}
    ).json()
    take_jobs(webcast_id)
    source = f"{owner.tenant_id}/{webcast_id}/{asset_id}/source"
    assert _media_blobs(owner.tenant_id, webcast_id, asset_id)
    assert owner.delete(f"/api/webcasts/{webcast_id}/media/{asset_id}").status_code == 204
    assert _media_blobs(owner.tenant_id, webcast_id, asset_id) == []
    assert _upload_exists(source), "the edit still needs the source"
    assert owner.delete(f"/api/webcasts/{webcast_id}/media/{edit['id']}").status_code == 204
    assert not _upload_exists(source)
    assert assets.get(tenant_id=owner.tenant_id, item_id=asset_id, partition_key=webcast_id) is None


def test_media_prefixes_are_exported_and_erased_with_the_webcast(owner: helpers.Admin) -> None:
    webcast_id = helpers.new_webcast(owner)
    asset_id = _ready(owner, webcast_id)
    owner.request("PUT", f"/api/webcasts/{webcast_id}/media/{asset_id}/captions/de", content=VTT)
    TRIGGERS.drain()
    export, erase = BLOB_HANDLERS["media"].exporter, BLOB_HANDLERS["media"].eraser
    assert not isinstance(export, NotYet) and not isinstance(erase, NotYet)
    whole = DataSubject(tenant_id=owner.tenant_id, webcast_id=webcast_id)
    person = DataSubject(tenant_id=owner.tenant_id, webcast_id=webcast_id, participant_id="p1")
    files = [item["file"] for item in export(subject=whole)]
    assert files == [f"{owner.tenant_id}/{webcast_id}/{asset_id}/captions/de.vtt"]
    assert export(subject=person), "a participant learns what the webcast holds"
    assert erase(subject=person) == 0, "one viewer's request does not erase the webcast's video"
    assert erase(subject=whole) == 1
    assert _media_blobs(owner.tenant_id, webcast_id, asset_id) == []
    uploads = BLOB_HANDLERS["uploads"].eraser
    assert not isinstance(uploads, NotYet)
    assert uploads(subject=whole) == 1
    assert not _upload_exists(f"{owner.tenant_id}/{webcast_id}/{asset_id}/source")


def test_the_mp4_download_rendition_follows_the_webcast_setting(owner: helpers.Admin) -> None:
    webcast_id = helpers.new_webcast(owner)
    switched = owner.patch(f"/api/webcasts/{webcast_id}", json={"vod_download": True})
    assert switched.status_code == 200 and switched.json()["vod_download"] is True
    created = _create(owner, webcast_id, 5)
    _put(created["upload"], b"01234")
    TRIGGERS.drain()
    (job,) = take_jobs(webcast_id)
    assert job.download_mp4 is True
