"""What every upload passes before anything reads it (P38): the size the browser declared,
the limits, and the malware gate; a file that fails is deleted and its item says why."""

from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import pytest

from shared.clients import blob_container_name, blob_service, queue_client
from shared.malware import (
    CLEAN_RESULT,
    RESULT_TAG,
    SCAN_QUEUE,
    SEAL_TAG,
    TIME_TAG,
    record_scan_result,
    scan_result_event,
)
from tests import helpers

TRIGGERS = helpers.Triggers(
    {"blob_created", "participant_import"}, watch=("uploads", "imports", "downloads")
)
CSV = b"E-Mail;Vorname\nerika@example.org;Erika\n"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


pytestmark = pytest.mark.usefixtures("defender_gate")


@pytest.fixture(scope="module")
def owner(stack: Any) -> helpers.Admin:
    return helpers.new_owner("uploads")


def _put(ticket: dict[str, Any], content: bytes) -> None:
    response = httpx.put(ticket["url"], content=content, headers=ticket["headers"], timeout=30)
    assert response.status_code == 201, response.text


def _exists(container: str, name: str) -> bool:
    return bool(blob_service().get_blob_client(blob_container_name(container), name).exists())


def _scanned_clean(container: str, name: str) -> None:
    """Defender finds nothing: without the size check each file would now be processed."""
    record_scan_result(container=container, blob_name=name, clean=True)


@pytest.mark.claim("P38")
def test_a_file_larger_or_smaller_than_declared_is_refused_unread(owner: helpers.Admin) -> None:
    webcast_id = helpers.new_webcast(owner)
    base = f"/api/webcasts/{webcast_id}"
    video = owner.post(
        f"{base}/media", json={"title": "Talk", "filename": "talk.mp4", "size": 100}
    ).json()
    asset_id = video["asset"]["id"]
    video_blob = f"{owner.tenant_id}/{webcast_id}/{asset_id}/source"
    handout = owner.post(
        f"{base}/handouts",
        json={
            "title": "Slides",
            "filename": "slides.pdf",
            "content_type": "application/pdf",
            "size": len(PDF) + 1,
        },
    ).json()
    handout_id = handout["handout"]["id"]
    imported = owner.post(
        f"{base}/imports", json={"filename": "liste.csv", "size": len(CSV) * 2}
    ).json()
    import_id = imported["job"]["id"]
    import_blob = f"{owner.tenant_id}/{webcast_id}/{import_id}/source"

    _put(video["upload"], b"\0" * 157_000)
    _put(handout["upload"], PDF)
    _put(imported["upload"], CSV)
    handout_blob = None
    _scanned_clean("uploads", video_blob)
    _scanned_clean("imports", import_blob)
    for blob in (
        blob_service()
        .get_container_client(blob_container_name("downloads"))
        .list_blobs(name_starts_with=f"{owner.tenant_id}/{webcast_id}/{handout_id}/")
    ):
        handout_blob = blob.name
        _scanned_clean("downloads", blob.name)
    TRIGGERS.drain()

    asset = owner.get(f"{base}/media/{asset_id}").json()
    assert (asset["status"], asset["failure_code"]) == ("failed", "size_mismatch")
    assert asset["failure_reason"] == "The file has 157000 bytes, not the 100 announced"
    assert not _exists("uploads", video_blob)

    refused = owner.get(f"{base}/handouts/{handout_id}").json()
    assert refused["status"] == "rejected"
    assert refused["rejection"] == {
        "code": "size-mismatch",
        "reason": f"the file has {len(PDF)} bytes, not the {len(PDF) + 1} announced",
    }
    assert handout_blob is not None and not _exists("downloads", handout_blob)

    job = owner.get(f"{base}/imports/{import_id}").json()
    assert job["status"] == "failed"
    assert job["failure"] == {
        "code": "size-mismatch",
        "reason": f"the file has {len(CSV)} bytes, not the {len(CSV) * 2} announced",
    }
    assert job["columns"] is None, "nothing of the file was read"
    assert job["source_deleted"] and not _exists("imports", import_blob)


def test_an_import_announces_its_size(owner: helpers.Admin) -> None:
    webcast_id = helpers.new_webcast(owner)
    refused = owner.post(f"/api/webcasts/{webcast_id}/imports", json={"filename": "liste.csv"})
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["field"].endswith("size")


SCANS = helpers.Triggers({"blob_created", "malware_scan_result"}, watch=("uploads",))


def _video(owner: helpers.Admin, webcast_id: str, size: int) -> tuple[dict[str, Any], str]:
    created = owner.post(
        f"/api/webcasts/{webcast_id}/media",
        json={"title": "Talk", "filename": "talk.mp4", "size": size},
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body, f"{owner.tenant_id}/{webcast_id}/{body['asset']['id']}/source"


@pytest.mark.claim("P38")
def test_upload_urls_may_create_and_write_their_blob_and_nothing_else(
    owner: helpers.Admin,
) -> None:
    webcast_id = helpers.new_webcast(owner)
    base = f"/api/webcasts/{webcast_id}"
    tickets = [
        _video(owner, webcast_id, 10)[0]["upload"],
        owner.post(f"{base}/imports", json={"filename": "l.csv", "size": 10}).json()["upload"],
        owner.post(
            f"{base}/handouts",
            json={"title": "S", "filename": "s.pdf", "content_type": "application/pdf", "size": 9},
        ).json()["upload"],
    ]
    for ticket in tickets:
        query = parse_qs(urlsplit(ticket["url"]).query)
        assert query["sp"] == ["cw"], "no read, delete, tag or list permission"
        assert query["sr"] == ["b"], "one blob, not the container"
        _put(ticket, b"\0" * 9)
        tagging = httpx.put(
            ticket["url"] + "&comp=tags",
            content=f"<Tags><TagSet><Tag><Key>{RESULT_TAG}</Key><Value>{CLEAN_RESULT}"
            "</Value></Tag></TagSet></Tags>".encode(),
            headers={"x-ms-version": "2021-08-06"},
            timeout=30,
        )
        assert tagging.status_code == 403, tagging.text
        reading = httpx.get(ticket["url"], timeout=30)
        assert reading.status_code == 403, reading.text


@pytest.mark.claim("P38")
def test_a_file_that_arrives_carrying_a_scan_result_is_not_taken_as_scanned(
    owner: helpers.Admin,
) -> None:
    """Azurite lets the upload set index tags (Azure wants the SAS `t` permission for it):
    Defender's tags, even with the gate's own tag guessed, do not make the file clean. Only
    Defender's scan result event for this version, through the queue trigger, does."""
    webcast_id = helpers.new_webcast(owner)
    created, blob_name = _video(owner, webcast_id, 64)
    forged = {RESULT_TAG: CLEAN_RESULT, TIME_TAG: "2026-12-01 10:00:00", SEAL_TAG: "clean 00"}
    response = httpx.put(
        created["upload"]["url"],
        content=b"\0" * 64,
        headers={**created["upload"]["headers"], "x-ms-tags": urlencode(forged, quote_via=quote)},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    blob = blob_service().get_blob_client(blob_container_name("uploads"), blob_name)
    assert blob.get_blob_tags()[RESULT_TAG] == CLEAN_RESULT, "the emulator took the tags"
    SCANS.passes(3)
    asset_url = f"/api/webcasts/{webcast_id}/media/{created['asset']['id']}"
    assert owner.get(asset_url).json()["status"] == "uploaded", "waits for a real scan"

    # A verdict for an earlier version does not carry over to an overwrite.
    earlier = scan_result_event(container="uploads", blob_name=blob_name, clean=True)
    _put(created["upload"], b"\1" * 64)
    queue_client(SCAN_QUEUE).send_message(earlier.model_dump_json(by_alias=True).encode())
    SCANS.passes(3)
    assert owner.get(asset_url).json()["status"] == "uploaded"

    current = scan_result_event(container="uploads", blob_name=blob_name, clean=True)
    queue_client(SCAN_QUEUE).send_message(current.model_dump_json(by_alias=True).encode())
    SCANS.drain()
    assert owner.get(asset_url).json()["status"] == "queued"
