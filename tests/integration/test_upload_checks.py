"""What every upload passes before anything reads it (P38): the size the browser declared,
the limits, and the malware gate; a file that fails is deleted and its item says why."""

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.clients import blob_container_name, blob_service
from shared.malware import record_scan_result
from tests import helpers

TRIGGERS = helpers.Triggers(
    {"blob_created", "participant_import"}, watch=("uploads", "imports", "downloads")
)
CSV = b"E-Mail;Vorname\nerika@example.org;Erika\n"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def defender_gate(stack: Any) -> Iterator[None]:
    with helpers.changed_settings(malware_gate="defender", malware_recheck_seconds=0):
        yield


@pytest.fixture(scope="module")
def owner(stack: Any) -> helpers.Admin:
    return helpers.new_owner("uploads")


def _webcast(owner: helpers.Admin) -> str:
    slug = f"u-{uuid.uuid4().hex[:10]}"
    response = owner.post("/api/webcasts", json={"title": "Uploads", "slug": slug})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


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
    webcast_id = _webcast(owner)
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
    webcast_id = _webcast(owner)
    refused = owner.post(f"/api/webcasts/{webcast_id}/imports", json={"filename": "liste.csv"})
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["field"].endswith("size")
