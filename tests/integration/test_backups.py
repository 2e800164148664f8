"""Manual backups of a webcast project (P32): the owner's ZIP holds the project's documents
as JSON Lines, its media files and a manifest with the SHA-256 of every member; it is built
by a queued job, downloaded by a short-lived URL and removed after 24 hours."""

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared import clock
from shared.auth.models import Permission
from shared.clients import blob_container_name, blob_service
from shared.composition import backups
from tests import helpers
from tests.integration.test_isolation import _make_ready
from tests.integration.test_subject_requests import _participant

BACKUPS = helpers.Triggers({"backup_run"})


def _ready_video(owner: helpers.Admin, webcast_id: str) -> str:
    created = owner.post(
        f"/api/webcasts/{webcast_id}/media",
        json={"title": "Keynote", "filename": "keynote.mp4", "size": 1000},
    )
    assert created.status_code == 201, created.text
    asset_id: str = created.json()["asset"]["id"]
    _make_ready(owner.tenant_id, webcast_id, asset_id)
    return asset_id


def _backup(owner: helpers.Admin, webcast_id: str) -> dict[str, Any]:
    asked = owner.post(f"/api/webcasts/{webcast_id}/backups")
    assert asked.status_code == 202, asked.text
    assert asked.json()["status"] == "queued"
    BACKUPS.drain()
    read = owner.get(f"/api/webcasts/{webcast_id}/backups/{asked.json()['id']}")
    assert read.status_code == 200, read.text
    found: dict[str, Any] = read.json()
    return found


@pytest.mark.claim("P32")
def test_the_owner_downloads_a_backup_whose_manifest_holds_every_members_checksum(stack):
    owner = helpers.new_owner("backup")
    webcast_id = helpers.new_webcast(owner, "backed-up", title="Backed up", access_mode="login")
    kept = _participant(owner, webcast_id, email=helpers.unique_email("kept"))
    held_address = helpers.unique_email("held")
    held = _participant(owner, webcast_id, email=held_address)
    until = (datetime.fromtimestamp(clock.now(), UTC).date() + timedelta(days=30)).isoformat()
    hold = {"email": held_address, "reason": "Court order", "until": until}
    assert owner.post("/api/people/blocking", json=hold).status_code == 200
    asset_id = _ready_video(owner, webcast_id)
    embed = {"enabled": True, "allowed_origins": ["https://customer.example"]}
    base = f"/api/webcasts/{webcast_id}"
    assert owner.request("PUT", f"{base}/embed", json=embed).status_code == 200
    embed_secret = owner.post(f"{base}/embed/secret").json()["secret"]
    channel = owner.post(f"{base}/live", json={"record": True})
    assert channel.status_code == 201, channel.text

    job = _backup(owner, webcast_id)
    assert job["status"] == "ready", job
    assert job["counts"]["cosmos:participants"] >= 2 and job["counts"]["blob:media"] == 2
    download = httpx.get(job["download_url"], timeout=30)
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment")
    assert hashlib.sha256(download.content).hexdigest() == job["sha256"]
    assert len(download.content) == job["size"]

    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        names = set(archive.namelist()) - {"manifest.json"}
        assert {m["name"] for m in manifest["members"]} == names, "every member is listed"
        for member in manifest["members"]:
            data = archive.read(member["name"])
            assert hashlib.sha256(data).hexdigest() == member["sha256"], member["name"]
            assert len(data) == member["size"]
        people = [
            json.loads(line) for line in archive.read("documents/participants.jsonl").splitlines()
        ]
        webcasts = [
            json.loads(line) for line in archive.read("documents/webcasts.jsonl").splitlines()
        ]
        playlist = archive.read(f"blobs/media/{asset_id}/720p/index.m3u8")
    assert manifest["webcast_id"] == webcast_id and manifest["format"] == backups.FORMAT
    ids = {p["id"] for p in people if p["type"] == "participant"}
    assert kept["id"] in ids and held["id"] not in ids, "blocked records stay out (P24)"
    assert not any(key.startswith("_") for person in people for key in person)
    assert any(w["id"] == webcast_id and w["title"] == "Backed up" for w in webcasts)
    assert playlist.startswith(b"#EXTM3U")
    everything = download.content + b"".join(
        zipfile.ZipFile(io.BytesIO(download.content)).read(name)
        for name in zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    )
    assert embed_secret.encode() not in everything
    assert b'"type": "embed-keys"' not in everything and b'"type": "live-channel"' not in everything

    # Only the owner; another tenant's owner finds nothing.
    manager = helpers.new_subaccount(owner, [Permission.participants])
    assert manager.post(f"/api/webcasts/{webcast_id}/backups").status_code == 403
    other = helpers.new_owner("backup-other")
    assert other.get(f"/api/webcasts/{webcast_id}/backups/{job['id']}").status_code == 404
    [asked] = helpers.audit_entries(owner.tenant_id, action="webcast.backup")
    assert asked.entity_id == job["id"]

    # A redelivered message does nothing; after 24 hours the ZIP is gone.
    assert not backups.run_backup(
        message=backups.BackupMessage(tenant_id=owner.tenant_id, backup_id=job["id"])
    )
    backups.expire_backups()
    still = owner.get(f"/api/webcasts/{webcast_id}/backups/{job['id']}").json()
    assert still["status"] == "ready", "kept for its 24 hours"
    clock.advance(backups.KEPT_SECONDS + 60)
    assert backups.expire_backups() >= 1
    owner = helpers.sign_in(owner.email, owner.password, owner.secret)  # a day later
    expired = owner.get(f"/api/webcasts/{webcast_id}/backups/{job['id']}").json()
    assert expired["status"] == "expired" and expired["download_url"] is None
    blob = blob_service().get_blob_client(
        blob_container_name("exports"), f"{owner.tenant_id}/{webcast_id}/backups/{job['id']}.zip"
    )
    assert not blob.exists()


@pytest.mark.claim("P32")
def test_a_backup_that_keeps_failing_ends_failed_with_its_reason_and_no_file(stack, monkeypatch):
    owner = helpers.new_owner("backup-fails")
    webcast_id = helpers.new_webcast(owner, "fails")
    asked = owner.post(f"/api/webcasts/{webcast_id}/backups")
    assert asked.status_code == 202, asked.text

    def broken(*_: object, **__: object) -> None:
        raise OSError("storage went away")

    monkeypatch.setattr(backups, "_write_zip", broken)
    message = backups.BackupMessage(tenant_id=owner.tenant_id, backup_id=asked.json()["id"])
    with pytest.raises(OSError):
        backups.run_backup(message=message)
    assert not backups.run_backup(message=message, final_attempt=True)
    failed = owner.get(f"/api/webcasts/{webcast_id}/backups/{asked.json()['id']}").json()
    assert failed["status"] == "failed" and failed["failure"] == "OSError"
    assert failed["download_url"] is None
    blob = blob_service().get_blob_client(
        blob_container_name("exports"),
        f"{owner.tenant_id}/{webcast_id}/backups/{asked.json()['id']}.zip",
    )
    assert not blob.exists(), "no partial file"
