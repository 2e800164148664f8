"""Handouts per webcast (P37) behind the malware gate (P38), through Azurite, the Cosmos
emulator and the trigger runner, with Defender's scan result simulated as a blob index tag."""

import io
import struct
import zipfile
import zlib
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from shared.clients import blob_container_name, blob_service
from shared.malware import record_scan_result
from tests import helpers

CONTAINER = "downloads"
TRIGGERS = helpers.Triggers({"blob_created"}, watch=(CONTAINER,))


pytestmark = pytest.mark.usefixtures("defender_gate")


@pytest.fixture(scope="module")
def owner(stack: Any) -> helpers.Admin:
    admin = helpers.new_owner("handouts")
    return admin


def pdf_bytes() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff\x00\x00" * 2 + b"\x00" + b"\x00\x00\xff" * 2)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def zip_bytes(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def create(
    owner: helpers.Admin, webcast_id: str, filename: str, content_type: str, size: int
) -> httpx.Response:
    return owner.post(
        f"/api/webcasts/{webcast_id}/handouts",
        json={
            "title": filename.rsplit(".", 1)[0],
            "filename": filename,
            "content_type": content_type,
            "size": size,
        },
    )


def upload(
    owner: helpers.Admin, webcast_id: str, filename: str, content_type: str, content: bytes
) -> dict[str, Any]:
    """Create the handout and PUT the file to its upload URL, as a browser does."""
    created = create(owner, webcast_id, filename, content_type, len(content))
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    assert body["handout"]["status"] == "awaiting_upload"
    ticket = body["upload"]
    put = httpx.put(ticket["url"], content=content, headers=ticket["headers"], timeout=30)
    assert put.status_code == 201, put.text
    return body


def handout(owner: helpers.Admin, webcast_id: str, handout_id: str) -> dict[str, Any]:
    response = owner.get(f"/api/webcasts/{webcast_id}/handouts/{handout_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def blob_names(tenant_id: str, webcast_id: str, handout_id: str) -> list[str]:
    container = blob_service().get_container_client(blob_container_name(CONTAINER))
    prefix = f"{tenant_id}/{webcast_id}/{handout_id}/"
    return [b.name for b in container.list_blobs(name_starts_with=prefix)]


def scanned(owner: helpers.Admin, created: dict[str, Any], *, clean: bool) -> dict[str, Any]:
    """Defender's result for the uploaded file, then the events run to the end."""
    webcast_id, handout_id = created["handout"]["webcast_id"], created["handout"]["id"]
    (name,) = blob_names(owner.tenant_id, webcast_id, handout_id)
    record_scan_result(container=CONTAINER, blob_name=name, clean=clean)
    TRIGGERS.drain()
    return handout(owner, webcast_id, handout_id)


@pytest.mark.claim("P37")
def test_file_name_type_and_size_are_checked_before_any_upload(owner, defender_gate):
    webcast_id = helpers.new_webcast(owner)
    defender_gate.downloads_max_bytes = 10_000
    cases = [
        (("setup.exe", "application/octet-stream", 100), "filename"),
        (("agenda.pdf", "image/png", 100), "content_type"),
        (("agenda.pdf", "application/pdf", 10_001), "size"),
    ]
    for (filename, content_type, size), wrong in cases:
        refused = create(owner, webcast_id, filename, content_type, size)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in refused.json()["errors"]] == [wrong]
    assert owner.get(f"/api/webcasts/{webcast_id}/handouts").json() == []
    allowed = create(
        owner,
        webcast_id,
        "Folien.PPTX",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation; charset=binary",
        10_000,
    )
    assert allowed.status_code == 201, allowed.text
    ticket = allowed.json()["upload"]
    assert ticket["method"] == "PUT" and "sp=cw" in ticket["url"], "write-only, one blob"
    assert ticket["max_bytes"] == 10_000


@pytest.mark.claim("P37")
@pytest.mark.claim("P38")
def test_a_handout_is_offered_only_after_a_clean_scan_and_downloads_as_attachment(owner):
    webcast_id = helpers.new_webcast(owner)
    viewer = helpers.Viewer.enter(webcast_id)
    content = pdf_bytes()
    created = upload(owner, webcast_id, "Präsentation Über „Q3“.pdf", "application/pdf", content)
    handout_id = created["handout"]["id"]
    TRIGGERS.passes(3)
    waiting = handout(owner, webcast_id, handout_id)
    assert waiting["status"] == "scanning", "no scan result yet: not offered"
    assert viewer.get(f"/api/w/{webcast_id}/handouts").json() == []
    assert viewer.get(f"/api/w/{webcast_id}/handouts/{handout_id}").status_code == 404

    available = scanned(owner, created, clean=True)
    assert available["status"] == "available" and available["size"] == len(content)
    listed = viewer.get(f"/api/w/{webcast_id}/handouts")
    assert listed.status_code == 200
    assert listed.json() == [
        {
            "id": handout_id,
            "title": "Präsentation Über „Q3“",
            "filename": "Präsentation Über „Q3“.pdf",
            "content_type": "application/pdf",
            "size": len(content),
        }
    ]
    redirect = viewer.get(f"/api/w/{webcast_id}/handouts/{handout_id}", follow_redirects=False)
    assert redirect.status_code == 303, redirect.text
    assert redirect.headers["cache-control"] == "no-store"
    fetched = httpx.get(redirect.headers["location"], timeout=30)
    assert fetched.status_code == 200
    assert fetched.content == content
    assert fetched.headers["content-type"] == "application/pdf"
    disposition = fetched.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Prasentation Uber _Q3_.pdf"')
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == "Präsentation Über „Q3“.pdf"
    tampered = redirect.headers["location"].replace("sp=r", "sp=rw")
    assert httpx.get(tampered, timeout=30).status_code == 403
    actions = {e.action: e for e in helpers.audit_entries(owner.tenant_id, entity_id=handout_id)}
    assert {"handout.create", "handout.scan"} <= set(actions)
    assert actions["handout.scan"].actor_kind == "system"
    assert actions["handout.scan"].outcome == "success"


@pytest.mark.claim("P38")
def test_a_malicious_file_is_rejected_deleted_and_never_offered(owner):
    webcast_id = helpers.new_webcast(owner)
    viewer = helpers.Viewer.enter(webcast_id)
    created = upload(owner, webcast_id, "bild.png", "image/png", png_bytes())
    handout_id = created["handout"]["id"]
    rejected = scanned(owner, created, clean=False)
    assert rejected["status"] == "rejected"
    assert rejected["rejection"] == {
        "code": "malware",
        "reason": "the malware scan found a threat in the file",
    }
    assert blob_names(owner.tenant_id, webcast_id, handout_id) == []
    assert viewer.get(f"/api/w/{webcast_id}/handouts").json() == []
    assert viewer.get(f"/api/w/{webcast_id}/handouts/{handout_id}").status_code == 404
    listed = owner.get(f"/api/webcasts/{webcast_id}/handouts").json()
    assert [(h["id"], h["status"]) for h in listed] == [(handout_id, "rejected")]
    scans = helpers.audit_entries(owner.tenant_id, entity_id=handout_id, action="handout.scan")
    assert [e.outcome for e in scans] == ["failure"]


@pytest.mark.claim("P38")
def test_a_file_without_a_scan_result_in_time_is_rejected(owner, defender_gate):
    webcast_id = helpers.new_webcast(owner)
    created = upload(owner, webcast_id, "bild.png", "image/png", png_bytes())
    TRIGGERS.passes(2)
    assert handout(owner, webcast_id, created["handout"]["id"])["status"] == "scanning"
    defender_gate.malware_scan_wait_seconds = 0
    TRIGGERS.drain()
    found = handout(owner, webcast_id, created["handout"]["id"])
    assert found["status"] == "rejected" and found["rejection"]["code"] == "unscanned"
    assert blob_names(owner.tenant_id, webcast_id, found["id"]) == []


@pytest.mark.claim("P37")
def test_content_that_is_not_the_declared_kind_is_rejected(owner):
    webcast_id = helpers.new_webcast(owner)
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 2000
    renamed = scanned(
        owner, upload(owner, webcast_id, "agenda.pdf", "application/pdf", exe), clean=True
    )
    assert renamed["status"] == "rejected"
    assert renamed["rejection"] == {
        "code": "wrong-type",
        "reason": "the file's content is not a PDF document",
    }
    assert blob_names(owner.tenant_id, webcast_id, renamed["id"]) == []
    archive = zip_bytes({"readme.txt": "not a document", "tool.exe": "MZ"})
    fake = scanned(owner, upload(owner, webcast_id, "bericht.docx", DOCX, archive), clean=True)
    assert fake["status"] == "rejected" and fake["rejection"]["code"] == "wrong-type"
    document = zip_bytes(
        {
            "[Content_Types].xml": "<Types/>",
            "_rels/.rels": "<Relationships/>",
            "word/document.xml": "<document/>",
        }
    )
    real = scanned(owner, upload(owner, webcast_id, "bericht.docx", DOCX, document), clean=True)
    assert real["status"] == "available", real


@pytest.mark.claim("P37")
def test_a_file_larger_than_the_limit_is_rejected(owner, defender_gate):
    webcast_id = helpers.new_webcast(owner)
    defender_gate.downloads_max_bytes = 1000
    created = create(owner, webcast_id, "plan.png", "image/png", 500)
    assert created.status_code == 201
    ticket = created.json()["upload"]
    big = png_bytes() + b"\x00" * 1000
    assert httpx.put(ticket["url"], content=big, headers=ticket["headers"]).status_code == 201
    TRIGGERS.drain()  # refused on its size before it waits for a scan result
    found = handout(owner, webcast_id, created.json()["handout"]["id"])
    assert found["status"] == "rejected"
    assert found["rejection"] == {
        "code": "too-large",
        "reason": "the file is larger than 1000 bytes",
    }
    assert blob_names(owner.tenant_id, webcast_id, found["id"]) == []


@pytest.mark.claim("P37")
def test_only_viewers_with_a_grant_and_the_tenants_managers_reach_handouts(owner):
    webcast_id = helpers.new_webcast(owner)
    created = upload(owner, webcast_id, "plan.png", "image/png", png_bytes())
    handout_id = created["handout"]["id"]
    assert scanned(owner, created, clean=True)["status"] == "available"
    assert helpers.Viewer.enter(webcast_id).get(f"/api/w/{webcast_id}/handouts").status_code == 200

    stranger = helpers.client()
    elsewhere = helpers.Viewer.enter(helpers.new_webcast(owner))  # a grant for another webcast
    for http in (stranger, elsewhere):
        for url in (f"/api/w/{webcast_id}/handouts", f"/api/w/{webcast_id}/handouts/{handout_id}"):
            response = http.get(url, follow_redirects=False)
            assert response.status_code in (401, 403), (url, response.status_code)

    other = helpers.new_owner("other-tenant")
    base = f"/api/webcasts/{webcast_id}/handouts"
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", base, None),
        ("GET", f"{base}/{handout_id}", None),
        (
            "POST",
            base,
            {"title": "x", "filename": "x.pdf", "content_type": "application/pdf", "size": 1},
        ),
        ("PATCH", f"{base}/{handout_id}", {"title": "taken over"}),
        ("PUT", f"{base}/order", {"ids": [handout_id]}),
        ("DELETE", f"{base}/{handout_id}", None),
    ]
    for method, url, body in calls:
        response = other.request(method, url, json=body)
        assert response.status_code == 404, (method, url, response.status_code)
    still = handout(owner, webcast_id, handout_id)
    assert still["title"] == "plan" and still["status"] == "available"


@pytest.mark.claim("P37")
def test_rename_reorder_and_delete(owner):
    webcast_id = helpers.new_webcast(owner)
    ids = []
    for name in ("eins.pdf", "zwei.pdf", "drei.pdf"):
        response = create(owner, webcast_id, name, "application/pdf", 100)
        assert response.status_code == 201
        ids.append(response.json()["handout"]["id"])
    base = f"/api/webcasts/{webcast_id}/handouts"
    assert [h["position"] for h in owner.get(base).json()] == [0, 1, 2]

    reordered = owner.request("PUT", f"{base}/order", json={"ids": [ids[2], ids[0]]})
    assert reordered.status_code == 200, reordered.text
    assert [h["id"] for h in reordered.json()] == [ids[2], ids[0], ids[1]]
    assert [h["id"] for h in owner.get(base).json()] == [ids[2], ids[0], ids[1]]
    wrong = owner.request("PUT", f"{base}/order", json={"ids": [ids[0], "nope", ids[0]]})
    assert wrong.status_code == 422
    assert [e["field"] for e in wrong.json()["errors"]] == ["ids[1]", "ids[2]"]

    renamed = owner.patch(f"{base}/{ids[0]}", json={"title": "Agenda", "filename": "Agenda.PDF"})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["title"], renamed.json()["filename"]) == ("Agenda", "Agenda.PDF")
    refused = owner.patch(f"{base}/{ids[0]}", json={"filename": "Agenda.exe"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "filename"

    content = pdf_bytes()
    created = upload(owner, webcast_id, "weg.pdf", "application/pdf", content)
    gone_id = created["handout"]["id"]
    assert scanned(owner, created, clean=True)["status"] == "available"
    assert owner.delete(f"{base}/{gone_id}").status_code == 204
    assert owner.get(f"{base}/{gone_id}").status_code == 404
    assert blob_names(owner.tenant_id, webcast_id, gone_id) == []
    # The upload URL still works for a while: a file arriving for a deleted handout is removed.
    put = httpx.put(created["upload"]["url"], content=content, headers=created["upload"]["headers"])
    assert put.status_code == 201
    TRIGGERS.drain()
    assert blob_names(owner.tenant_id, webcast_id, gone_id) == []

    actions = [e.action for e in helpers.audit_entries(owner.tenant_id, action="handout.reorder")]
    assert actions, "reordering is audited"
    changes = helpers.audit_entries(owner.tenant_id, entity_id=ids[0], action="handout.update")
    assert [sorted(e.changed_fields or []) for e in changes] == [["filename", "title"]]
    deletions = helpers.audit_entries(owner.tenant_id, entity_id=gone_id, action="handout.delete")
    assert len(deletions) == 1
