"""subject_requests: one person's access export across a tenant with 50 webcasts, and a
project's manual backup and its restore into a new webcast, each against the raw SDK reading
or writing the same documents in the same run.

Seed (through the services, as the API writes them): a customer with WEBCASTS webcasts; the
person is a participant of each, beside OTHERS other participants per webcast; in the first
webcast BACKUP_PEOPLE participants and BACKUP_FILES media files of 256 KiB.

- export, ours: `subject_requests.export` (person key query, a point read per record, every
  store's exporter, the ZIP with JSON and CSV, the audit entry);
  baseline: the raw SDK, the same reads: the person-key query on the login keys, a point read
  of each record, then per record one query each on the stores the exporters read (messages,
  tracking, tokens, sessions and the audit log, by participant id), and a ZIP of the JSON.
- backup, ours: `backups.run_backup` (streamed ZIP into Blob, manifest with SHA-256 sums);
  baseline: the raw SDK, one cross-partition query per store of the webcast's documents and a
  download of each media file, zipped in memory and uploaded as one blob.
- restore, ours: `restores.run_restore` on that backup's ZIP in the `restores` container (the
  first pass reads and checks every member, the second writes every document under new ids,
  the login keys and the people index, copies the files, creates the webcast);
  baseline: the raw SDK, the ZIP downloaded whole, every document upserted under the new
  webcast id by the same 16 threads and every file uploaded: no checks, no new ids.
Rounds alternate which side runs first; the ratio is the median of per-round ratios.
"""

import io
import json
import os
import time
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

from bench.common import Result, Row, Stopwatch, median, paired_ratio, seed_owner_and_webcast, stack

WEBCASTS = int(os.environ.get("BENCH_SUBJECT_WEBCASTS", "50"))
OTHERS = 5
BACKUP_PEOPLE = int(os.environ.get("BENCH_BACKUP_PEOPLE", "1000"))
BACKUP_FILES = 20
ROUNDS = 5


def _seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _seed() -> dict[str, Any]:
    from shared.clients import blob_container_name, blob_service
    from shared.participants.models import ParticipantInput
    from shared.participants.service import create_participant
    from shared.webcasts.models import WebcastCreate
    from shared.webcasts.service import create_webcast

    principal, context, first = seed_owner_and_webcast(
        {"title": "Bench 0", "slug": "bench-0", "access_mode": "login"}
    )
    webcasts = [first] + [
        create_webcast(
            principal=principal,
            data=WebcastCreate.model_validate(
                {"title": f"Bench {n}", "slug": f"bench-{n}", "access_mode": "login"}
            ),
            context=context,
        )
        for n in range(1, WEBCASTS)
    ]
    address = f"person-{uuid.uuid4().hex[:8]}@example.org"
    for webcast in webcasts:
        for number in range(OTHERS + 1):
            email = address if number == 0 else f"other-{number}-{uuid.uuid4().hex[:6]}@example.org"
            create_participant(
                principal=principal,
                webcast_id=webcast.id,
                data=ParticipantInput(email=email, answers={}),
                context=context,
            )
    for number in range(BACKUP_PEOPLE):
        create_participant(
            principal=principal,
            webcast_id=first.id,
            data=ParticipantInput(email=f"crowd-{number}@example.org", answers={}),
            context=context,
        )
    media = blob_service().get_container_client(blob_container_name("media"))
    payload = os.urandom(256 * 1024)
    for number in range(BACKUP_FILES):
        media.upload_blob(f"{first.tenant_id}/{first.id}/asset/720p/seg_{number:05d}.m4s", payload)
    return {"principal": principal, "context": context, "address": address, "first": first}


def _raw_export(tenant_id: str, address: str) -> int:
    from shared.clients import cosmos_container
    from shared.participants.repository import person_key

    participants = cosmos_container("participants")
    key = person_key(tenant_id=tenant_id, kind="email", value=address)
    logins = list(
        participants.query_items(
            "SELECT * FROM c WHERE c.tenant_id = @t AND c.type = 'participant-login' "
            "AND c.person = @p",
            parameters=[{"name": "@t", "value": tenant_id}, {"name": "@p", "value": key}],
            enable_cross_partition_query=True,
        )
    )
    records: list[dict[str, Any]] = []
    for login in logins:
        record = participants.read_item(login["participant_id"], partition_key=login["webcast_id"])
        tied: dict[str, list[Any]] = {}
        for store, field in (
            ("messages", "participant_id"),
            ("tracking", "participant_id"),
            ("tokens", "account_id"),
            ("sessions", "participant_ids"),
            ("audit", "entity_id"),
        ):
            value = record["id"] if store != "tokens" else f"{record['webcast_id']}/{record['id']}"
            clause = f"ARRAY_CONTAINS(c.{field}, @v)" if store == "sessions" else f"c.{field} = @v"
            tied[store] = list(
                cosmos_container(store).query_items(
                    f"SELECT * FROM c WHERE {clause}",  # noqa: S608 - fixed names
                    parameters=[{"name": "@v", "value": value}],
                    enable_cross_partition_query=True,
                )
            )
        records.append({"participant": record, **tied})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("person.json", json.dumps(records, default=str))
    return len(records)


def _raw_backup(tenant_id: str, webcast_id: str) -> int:
    from shared.clients import blob_container_name, blob_service, cosmos_container
    from shared.composition.backups import BLOB_STORES, DOCUMENT_STORES

    buffer = io.BytesIO()
    members = 0
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for store in DOCUMENT_STORES:
            rows = cosmos_container(store).query_items(
                "SELECT * FROM c WHERE c.tenant_id = @t AND (c.webcast_id = @w OR c.id = @w)",
                parameters=[
                    {"name": "@t", "value": tenant_id},
                    {"name": "@w", "value": webcast_id},
                ],
                enable_cross_partition_query=True,
            )
            archive.writestr(f"{store}.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
            members += 1
        for store in BLOB_STORES:
            container = blob_service().get_container_client(blob_container_name(store))
            for blob in container.list_blobs(name_starts_with=f"{tenant_id}/{webcast_id}/"):
                archive.writestr(blob.name, container.download_blob(blob.name).readall())
                members += 1
    exports = blob_service().get_container_client(blob_container_name("exports"))
    exports.upload_blob(f"{tenant_id}/{webcast_id}/raw-{uuid.uuid4().hex}.zip", buffer.getvalue())
    return members


def _raw_restore(tenant_id: str, archive: bytes) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from shared.clients import blob_container_name, blob_service, cosmos_container

    webcast_id = uuid.uuid4().hex
    written = 0
    with zipfile.ZipFile(io.BytesIO(archive)) as opened, ThreadPoolExecutor(16) as pool:
        manifest = json.loads(opened.read("manifest.json"))
        old = manifest["webcast_id"]
        for name in opened.namelist():
            if name.startswith("documents/"):
                container = cosmos_container(name.removeprefix("documents/").removesuffix(".jsonl"))
                rows = [
                    json.loads(line.replace(old, webcast_id))
                    for line in opened.read(name).decode().splitlines()
                ]
                list(pool.map(container.upsert_item, rows))
                written += len(rows)
            elif name.startswith("blobs/"):
                _, store, relative = name.split("/", 2)
                blob_service().get_blob_client(
                    blob_container_name(store), f"{tenant_id}/{webcast_id}/{relative}"
                ).upload_blob(opened.read(name), overwrite=True)
                written += 1
    return written


def run() -> Result:
    watch = Stopwatch()
    with stack("subjects"):
        from shared.clients import blob_container_name, blob_service, queue_client
        from shared.composition import backups, restores, subject_requests
        from shared.composition.subject_requests import PersonQuery

        print(f"   seeding {WEBCASTS} webcasts and {BACKUP_PEOPLE} participants ...", flush=True)
        seeded = _seed()
        principal, context, first = seeded["principal"], seeded["context"], seeded["first"]
        query = PersonQuery(email=seeded["address"])
        times: dict[str, list[float]] = {
            k: []
            for k in ("export", "raw_export", "backup", "raw_backup", "restore", "raw_restore")
        }
        made: list[str] = []

        def ours_export() -> None:
            exported = subject_requests.export(principal=principal, query=query, context=context)
            assert exported.counts["participants"] == WEBCASTS

        def ours_backup() -> None:
            view = backups.request_backup(principal=principal, webcast_id=first.id, context=context)
            message = backups.BackupMessage(tenant_id=first.tenant_id, backup_id=view.id)
            assert backups.run_backup(message=message)
            made.append(f"{first.tenant_id}/{first.id}/backups/{view.id}.zip")

        def backup_zip() -> bytes:
            exports = blob_service().get_container_client(blob_container_name("exports"))
            return bytes(exports.download_blob(made[-1]).readall())

        def ours_restore(archive: bytes, slug: str) -> None:
            data = restores.RestoreCreate(size=len(archive), slug=slug)
            view = restores.request_restore(principal=principal, data=data, context=context)
            job = restores.restores.get(tenant_id=first.tenant_id, item_id=view.id)
            assert job is not None
            uploads = blob_service().get_container_client(blob_container_name("restores"))
            uploads.upload_blob(job.blob, archive)
            job.status = restores.RestoreStatus.queued  # the gate's part, timed elsewhere
            restores.restores.replace(tenant_id=job.tenant_id, item=job)
            message = restores.RestoreMessage(tenant_id=job.tenant_id, restore_id=job.id)
            started = time.perf_counter()
            assert restores.run_restore(message=message)
            times["restore"].append(time.perf_counter() - started)

        def raw_restore(archive: bytes) -> None:
            times["raw_restore"].append(_seconds(lambda: _raw_restore(first.tenant_id, archive)))

        for round_index in range(ROUNDS):
            pairs = [
                ("export", ours_export),
                ("raw_export", lambda: _raw_export(first.tenant_id, seeded["address"])),
                ("backup", ours_backup),
                ("raw_backup", lambda: _raw_backup(first.tenant_id, first.id)),
            ]
            if round_index % 2:
                pairs = [pairs[1], pairs[0], pairs[3], pairs[2]]
            for name, action in pairs:
                times[name].append(_seconds(action))
        # After the others: each restore adds a webcast holding the exported person.
        archive = backup_zip()
        for round_index in range(ROUNDS):
            if round_index % 2:
                raw_restore(archive)
                ours_restore(archive, f"restored-{round_index}")
            else:
                ours_restore(archive, f"restored-{round_index}")
                raw_restore(archive)
        queue_client(backups.QUEUE).clear_messages()
        queue_client(restores.QUEUE).clear_messages()
    rows = [
        Row(
            f"access export of one person in {WEBCASTS} webcasts (ZIP, JSON and CSV)",
            "ms",
            median(times["export"]) * 1000,
            median(times["raw_export"]) * 1000,
            "raw SDK, the same reads",
            paired_ratio=paired_ratio(times["export"], times["raw_export"]),
        ),
        Row(
            f"backup of a project with {BACKUP_PEOPLE + OTHERS + 1} participants and "
            f"{BACKUP_FILES} files of 256 KiB",
            "ms",
            median(times["backup"]) * 1000,
            median(times["raw_backup"]) * 1000,
            "raw SDK reads, ZIP in memory, one upload",
            paired_ratio=paired_ratio(times["backup"], times["raw_backup"]),
        ),
        Row(
            "restore of that backup into a new webcast (two passes: checked, then written)",
            "ms",
            median(times["restore"]) * 1000,
            median(times["raw_restore"]) * 1000,
            "raw SDK, the same writes by the same 16 threads, no checks",
            paired_ratio=paired_ratio(times["restore"], times["raw_restore"]),
        ),
    ]
    return Result("subject_requests", rows, {"seconds": times}, watch.seconds)
