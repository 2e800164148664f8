"""Restoring a manual backup into a new webcast (P32): the ZIP passes the malware gate and
every check before anything is written; the restored webcast serves the same video and the
same participants, minus people erased since, and a tampered ZIP is refused whole."""

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.auth.models import Permission
from shared.clients import blob_container_name, blob_service, cosmos_container
from shared.composition import restores
from shared.deletions import sweep
from shared.malware import record_scan_result
from shared.webcasts.service import webcast_id_by_slug
from tests import helpers
from tests import webcast_with_everything as everything

# `downloads` too: a restored handout's file passes the upload checks again.
RESTORES = helpers.Triggers({"blob_created", "restore_run"}, watch=("restores", "downloads"))
Members = dict[str, bytes]


@dataclass
class Backed:
    built: everything.Built
    archive: bytes


@pytest.fixture(scope="module")
def backed_up(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Backed:
    clips = everything.clips(Path(tmp_path_factory.mktemp("restore")))
    built = everything.webcast_with_everything(helpers.new_owner("restore"), clips)
    owner = built.owner
    job = owner.get(f"/api/webcasts/{built.webcast_id}/backups/{built.ids['backup_id']}").json()
    assert job["status"] == "ready", job
    return Backed(built=built, archive=httpx.get(job["download_url"], timeout=30).content)


def _restore(owner: helpers.Admin, archive: bytes, slug: str, **extra: Any) -> dict[str, Any]:
    """Ask for a restore and upload the ZIP as a browser does; the job as created."""
    asked = owner.post("/api/restores", json={"size": len(archive), "slug": slug, **extra})
    assert asked.status_code == 201, asked.text
    job: dict[str, Any] = asked.json()
    everything.put_blob(job["upload"], archive)
    return job


def _state(owner: helpers.Admin, job: dict[str, Any]) -> dict[str, Any]:
    read = owner.get(f"/api/restores/{job['id']}")
    assert read.status_code == 200, read.text
    found: dict[str, Any] = read.json()
    return found


def _emails(owner: helpers.Admin, webcast_id: str) -> set[str]:
    listed = owner.get(f"/api/webcasts/{webcast_id}/participants")
    assert listed.status_code == 200, listed.text
    return {p["email"] for p in listed.json()["items"] if p["email"]}


def _first_segment(viewer: helpers.Viewer) -> str:
    summary = everything.ok(viewer.get(f"/api/w/{viewer.webcast_id}/vod"))
    master = viewer.get(summary["master_playlist"])
    variant = next(line for line in master.text.splitlines() if line.endswith(".m3u8"))
    media = viewer.get(variant)
    return next(line for line in media.text.splitlines() if line.startswith("http"))


@pytest.mark.claim("P32")
def test_a_restored_backup_serves_the_same_video_and_participants_minus_those_erased_since(
    backed_up: Backed, defender_gate: Any
) -> None:
    built, owner = backed_up.built, backed_up.built.owner
    before = _emails(owner, built.webcast_id)
    asker = built.viewers[0]
    erased = everything.ok(
        owner.get(f"/api/webcasts/{built.webcast_id}/participants/{asker.participant_id}")
    )["email"]
    assert owner.post("/api/people/erasure", json={"email": erased}).status_code == 200

    # Only the owner restores, only into a free slug, only a ZIP of a size allowed.
    manager = helpers.new_subaccount(owner, [Permission.participants])
    body = {"size": len(backed_up.archive), "slug": "restored"}
    assert manager.post("/api/restores", json=body).status_code == 403
    taken = owner.post("/api/restores", json={**body, "slug": built.slug})
    assert taken.status_code == 409 and taken.json()["errors"][0]["field"] == "slug"
    too_large = owner.post("/api/restores", json={**body, "size": restores.MAX_BYTES + 1})
    assert too_large.status_code == 422

    job = _restore(owner, backed_up.archive, "restored", title="Restored")
    blob = f"{owner.tenant_id}/{job['webcast_id']}/restore/{job['id']}.zip"
    RESTORES.passes(1)
    assert _state(owner, job)["status"] == "awaiting_upload", "waits for the malware scan"
    record_scan_result(container="restores", blob_name=blob, clean=True)
    # Passes, not a drain: the restored handout's file then waits for its own scan.
    RESTORES.passes(4)
    done = _state(owner, job)
    assert done["status"] == "ready", done
    assert done["source_webcast_id"] == built.webcast_id and done["counts"]["erased"] == 1
    new_id = job["webcast_id"]

    webcast = everything.ok(owner.get(f"/api/webcasts/{new_id}"))
    original = everything.ok(owner.get(f"/api/webcasts/{built.webcast_id}"))
    assert webcast["title"] == "Restored" and webcast["slug"] == "restored"
    for setting in ("modules", "privacy", "access_mode", "retention_days", "language"):
        assert webcast[setting] == original[setting], setting
    assert erased not in _emails(owner, built.webcast_id), "the erasure went through"
    assert _emails(owner, new_id) == before - {erased}, "the same people, minus the erased"
    address = next(iter(before - {erased}))
    found = owner.post("/api/people/search", json={"email": address})
    webcasts_found = {record["webcast_id"] for record in found.json()["records"]}
    assert {built.webcast_id, new_id} <= webcasts_found, "login keys computed for the new id"

    # The same video, from the new webcast's own files.
    viewer = helpers.Viewer.register(new_id, answers=everything.ANSWERS)
    restored_segment = _first_segment(viewer)
    original_segment = _first_segment(built.viewers[1])
    assert f"/{new_id}/" in restored_segment and built.webcast_id not in restored_segment
    assert (
        httpx.get(restored_segment, timeout=30).content
        == httpx.get(original_segment, timeout=30).content
    )

    # Handouts are offered again once their files pass the malware gate.
    [restored_handout] = everything.ok(owner.get(f"/api/webcasts/{new_id}/handouts"))
    assert restored_handout["status"] == "scanning"
    assert viewer.get(f"/api/w/{new_id}/handouts").json() == []
    downloads = blob_service().get_container_client(blob_container_name("downloads"))
    [handout_file] = downloads.list_blobs(name_starts_with=f"{owner.tenant_id}/{new_id}/")
    record_scan_result(container="downloads", blob_name=handout_file.name, clean=True)
    RESTORES.passes(3)

    def handout_bytes(reader: helpers.Viewer) -> bytes:
        [offered] = everything.ok(reader.get(f"/api/w/{reader.webcast_id}/handouts"))
        path = f"/api/w/{reader.webcast_id}/handouts/{offered['id']}"
        redirect = reader.get(path, follow_redirects=False)
        assert redirect.status_code == 303, redirect.text
        return httpx.get(redirect.headers["location"], timeout=30).content

    assert handout_bytes(viewer) == handout_bytes(built.viewers[1])

    # The same published messages as the original has after the erasure.
    def texts(reader: helpers.Viewer) -> list[str]:
        published = everything.ok(reader.get(f"/api/w/{reader.webcast_id}/messages/published"))
        return [item["text"] for item in published["items"]]

    assert texts(viewer) == texts(built.viewers[1])

    # No key, secret or credential came along; new ones are issued as for any webcast.
    secrets = cosmos_container("webcasts").query_items(
        "SELECT c.type FROM c WHERE c.tenant_id = @t AND c.webcast_id = @w "
        "AND ARRAY_CONTAINS(@kinds, c.type)",
        parameters=[
            {"name": "@t", "value": owner.tenant_id},
            {"name": "@w", "value": new_id},
            {"name": "@kinds", "value": ["embed-keys", "server-credential", "live-channel"]},
        ],
        partition_key=owner.tenant_id,
    )
    assert list(secrets) == []
    issued = owner.post(f"/api/webcasts/{new_id}/embed/secret")
    assert issued.status_code == 201 and issued.json()["secret"] != built.secrets["embed"]
    [audited] = helpers.audit_entries(owner.tenant_id, action="webcast.restore")
    assert audited.entity_id == new_id
    uploaded = blob_service().get_blob_client(blob_container_name("restores"), blob)
    assert not uploaded.exists(), "the uploaded ZIP goes once restored"
    # A redelivered message does nothing.
    message = restores.RestoreMessage(tenant_id=owner.tenant_id, restore_id=job["id"])
    assert not restores.run_restore(message=message)


def _members(archive: bytes) -> Members:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return {name: opened.read(name) for name in opened.namelist()}


def _zipped(members: Members, *, listed: bool = True) -> bytes:
    """The members as a ZIP; `listed`: with the manifest's sizes and sums made to match, as
    a careful forger would."""
    if listed:
        manifest = json.loads(members["manifest.json"])
        manifest["members"] = [
            {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in members.items()
            if name != "manifest.json"
        ]
        members = members | {"manifest.json": json.dumps(manifest).encode()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _lines(members: Members, store: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in members[f"documents/{store}.jsonl"].splitlines()]


def _with_lines(members: Members, store: str, rows: list[dict[str, Any]]) -> Members:
    text = b"".join(json.dumps(row).encode() + b"\n" for row in rows)
    return members | {f"documents/{store}.jsonl": text}


def _changed(store: str, kind: str, change: Callable[[dict[str, Any]], None]) -> Any:
    def tamper(members: Members) -> bytes:
        rows = _lines(members, store)
        change(next(row for row in rows if row["type"] == kind))
        return _zipped(_with_lines(members, store, rows))

    return tamper


def _one_byte_changed(members: Members) -> bytes:
    rows = members["documents/participants.jsonl"].replace(b"Petra", b"Petro", 1)
    return _zipped(members | {"documents/participants.jsonl": rows}, listed=False)


def _secret_added(members: Members) -> bytes:
    rows = _lines(members, "webcasts")
    webcast = next(row for row in rows if row["type"] == "webcast")
    planted = {"id": "planted", "type": "embed-keys", "tenant_id": webcast["tenant_id"]}
    return _zipped(_with_lines(members, "webcasts", [*rows, planted | {"keys": []}]))


def _lone_surrogate(members: Members) -> bytes:
    text = members["documents/participants.jsonl"].replace(b'"Petra"', b'"\\ud800"', 1)
    return _zipped(members | {"documents/participants.jsonl": text})


def _playlist_elsewhere(members: Members) -> bytes:
    name = next(n for n in members if n.startswith("blobs/media/") and n.endswith("index.m3u8"))
    lines = members[name].decode().splitlines()
    segment = next(i for i, line in enumerate(lines) if line and not line.startswith("#"))
    lines[segment] = f"../../../{'f' * 32}/{'e' * 32}/720p/seg_00001.m4s"
    return _zipped(members | {name: "\n".join(lines).encode()})


def _bomb(members: Members) -> bytes:
    name = next(n for n in members if n.startswith("blobs/media/") and n.endswith(".m4s"))
    return _zipped(members | {name.rsplit("/", 1)[0] + "/seg_99999.m4s": b"\0" * (64 << 20)})


TAMPERED: dict[str, tuple[Callable[[Members], bytes], str]] = {
    "a changed byte": (_one_byte_changed, "SHA-256"),
    "a member outside the backup's folders": (
        lambda m: _zipped(m | {"blobs/media/../../../etc/passwd": b"root"}),
        "name or path refused",
    ),
    "a member the manifest does not list": (
        lambda m: _zipped(m | {"blobs/media/extra/file.bin": b"x"}, listed=False),
        "does not list exactly",
    ),
    "a document of another account": (
        _changed("webcasts", "form", lambda row: row.update(tenant_id="f" * 32)),
        "another account",
    ),
    "a secret's document": (_secret_added, "not restored"),
    "a lone surrogate": (_lone_surrogate, "not a JSON document"),
    "a playlist naming another webcast's segments": (_playlist_elsewhere, "outside its asset"),
    "a member compressed a thousandfold": (_bomb, "compressed more than"),
    "a backtracking pattern": (
        _changed(
            "webcasts",
            "form",
            lambda row: row["fields"][0].update(pattern="(a+)+\\1"),
        ),
        "fields.0.pattern",
    ),
    "a retention of ten thousand years": (
        _changed("webcasts", "webcast", lambda row: row.update(retention_days=3_650_000)),
        "retention_days",
    ),
    "a handout naming another webcast's file": (
        _changed(
            "downloads",
            "handout",
            lambda row: row.update(blob_name=f"{row['tenant_id']}/{'e' * 32}/x/slides.pdf"),
        ),
        "outside the webcast's folders",
    ),
    "not a ZIP": (lambda m: b"PK\x03\x04" + b"\0" * 4000, "not a readable ZIP"),
}


@pytest.mark.claim("P32")
def test_a_tampered_backup_is_refused_whole_with_a_report_and_nothing_written(
    backed_up: Backed,
) -> None:
    owner = backed_up.built.owner
    members = _members(backed_up.archive)
    jobs = {}
    for index, (case, (tamper, _)) in enumerate(TAMPERED.items()):
        jobs[case] = _restore(owner, tamper(dict(members)), f"tampered-{index}")
    RESTORES.drain()
    for case, (_, reason) in TAMPERED.items():
        job = _state(owner, jobs[case])
        assert job["status"] == "failed", (case, job)
        assert any(reason in problem["reason"] for problem in job["problems"]), (case, job)
        new_id = job["webcast_id"]
        assert owner.get(f"/api/webcasts/{new_id}").status_code == 404, case
        assert webcast_id_by_slug(tenant_id=owner.tenant_id, slug=job["slug"]) is None, case
        left = sweep.remaining(tenant_id=owner.tenant_id, webcast_id=new_id)
        # Only the job itself and the upload event's done-marker (ids only) name the id.
        written = {
            store: count.remaining
            for store, count in left.items()
            if count.remaining and store not in ("cosmos:backups", "cosmos:jobs")
        }
        assert written == {}, (case, written)


@pytest.mark.claim("P32")
def test_a_restore_that_keeps_failing_removes_what_it_wrote_and_ends_failed(
    backed_up: Backed, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = backed_up.built.owner
    job = _restore(owner, backed_up.archive, "keeps-failing")

    def broken(*_: object, **__: object) -> None:
        raise OSError("storage went away")

    monkeypatch.setattr(restores, "_copy_blobs", broken)  # after every document is written
    RESTORES.drain()  # five deliveries, the last one final
    assert helpers.audit_entries(
        owner.tenant_id, action="participant.restore", entity_id=job["id"]
    ), "the attempts wrote participants"
    failed = _state(owner, job)
    assert failed["status"] == "failed" and failed["failure"] == "OSError"
    left = sweep.remaining(tenant_id=owner.tenant_id, webcast_id=job["webcast_id"])
    assert {s: c.remaining for s, c in left.items() if c.remaining} == {"cosmos:backups": 1}
    assert webcast_id_by_slug(tenant_id=owner.tenant_id, slug="keeps-failing") is None
