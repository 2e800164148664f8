"""Work that arrives after a webcast's deletion started ends quietly and stores nothing (P22).

The webcast is tombstoned by its owner's request (the deletion job itself does not run
here); then the queued work that can still arrive for it goes through the real handlers: a
heartbeat, a poll vote fold, an import run, a mail, a worker result, a transcode job, and
BlobCreated events of an upload, an import file and a handout. Each ends without error and
without poison; no document or blob of the webcast is created or changed, and what a handler
finds of its own for the webcast (the worker's outputs, the late uploads) is deleted. Work
that runs while the deletion starts stops there: a vote fold removes the tally it wrote, an
import writes no further chunk and deletes its file (decision 0048).
"""

import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from devtools.mailsink import MailSink
from devtools.runner import TriggerRunner, app_functions, blob_created_event
from media_pipelines import worker
from shared.clients import blob_container_name, blob_service, cosmos_container, queue_client
from shared.config import get_settings
from shared.media.models import RESULTS_QUEUE, TRANSCODE_QUEUE, media_prefix
from shared.media.repository import assets
from shared.participants import service as participant_service
from shared.participants.import_models import ImportMessage, ImportStatus
from shared.participants.imports import worker as import_worker
from shared.participants.imports.jobs import QUEUE as IMPORT_QUEUE
from shared.participants.repository import import_jobs
from shared.polls import voting
from shared.polls import worker as poll_worker
from shared.polls.queue import FoldMessage
from shared.polls.queue import queue_for as vote_queue_for
from shared.stores import BLOB_CONTAINERS, COSMOS_CONTAINERS
from shared.tracking.settings import queue_for as heartbeat_queue_for
from shared.webcasts import service as webcasts
from tests import helpers

WORKER = worker.WorkerOptions(visibility_seconds=30, retry_seconds=0)
QUESTION = {
    "id": "q1",
    "type": "single_choice",
    "text": "Yes or no?",
    "options": [{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}],
}


def _runner(queue: str) -> TriggerRunner:
    functions = [
        f
        for f in app_functions()
        if (trigger := f.get_trigger()) is not None
        and trigger.get_dict_repr().get("queueName") == queue
    ]
    assert functions, f"no function reads {queue}"
    return TriggerRunner(
        functions=functions, watch_containers=(), visibility_timeout=30, retry_delay=0
    )


def _deliver(queue: str, body: dict[str, Any]) -> None:
    """One message through the queue's real handler: it must end at once, not be retried
    and not end as poison."""
    queue_client(queue).clear_messages()  # other test files may leave messages behind
    queue_client(queue).send_message(json.dumps(body).encode())
    runner = _runner(queue)
    counts = runner.run_once()
    assert (counts.received, counts.succeeded) == (1, 1), (queue, counts)
    assert (counts.retried, counts.poisoned, counts.errors) == (0, 0, 0), (queue, counts)
    assert not runner.run_once().did_work, f"{queue}: the handler queued more work"


def _put(container: str, name: str, content: bytes = b"late") -> dict[str, Any]:
    """A blob written late, and the BlobCreated event Azure posts for it."""
    client = blob_service().get_container_client(blob_container_name(container))
    client.upload_blob(name, content, overwrite=True)
    return blob_created_event(client, client.get_blob_client(name).get_blob_properties()).to_wire()


def _exists(container: str, name: str) -> bool:
    return bool(blob_service().get_blob_client(blob_container_name(container), name).exists())


def _snapshot(tenant_id: str, webcast_id: str) -> dict[str, str]:
    """Every document of the tenant or naming the webcast, and every blob under the tenant's
    prefix, by etag."""
    found: dict[str, str] = {}
    for spec in COSMOS_CONTAINERS:
        for item in cosmos_container(spec.name).query_items(
            "SELECT c.id, c._etag FROM c WHERE c.tenant_id = @t OR c.webcast_id = @w",
            parameters=[{"name": "@t", "value": tenant_id}, {"name": "@w", "value": webcast_id}],
            enable_cross_partition_query=True,
        ):
            found[f"{spec.name}/{item['id']}"] = item["_etag"]
    for blob_spec in BLOB_CONTAINERS:
        container = blob_service().get_container_client(blob_container_name(blob_spec.name))
        for blob in container.list_blobs(name_starts_with=f"{tenant_id}/"):
            found[f"{blob_spec.name}:{blob.name}"] = str(blob.etag)
    return found


def _created_or_changed(before: dict[str, str], after: dict[str, str]) -> dict[str, str]:
    return {key: etag for key, etag in after.items() if before.get(key) != etag}


def _an_uncounted_vote(owner: helpers.Admin, webcast_id: str) -> tuple[TestClient, FoldMessage]:
    """An open poll with one vote whose fold has not run: the viewer who voted, and the
    fold's message."""
    base = f"/api/webcasts/{webcast_id}"
    poll = owner.post(f"{base}/polls", json={"title": "Poll", "questions": [QUESTION]}).json()
    assert owner.post(f"{base}/polls/{poll['id']}/open", json={}).status_code == 200
    viewer = helpers.client()
    entered = viewer.post(f"/api/w/{webcast_id}/enter")
    assert entered.status_code == 200, entered.text
    nudges: list[FoldMessage] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(voting, "nudge", nudges.append)  # the fold is delivered later
        voted = viewer.post(
            f"/api/w/{webcast_id}/polls/{poll['id']}/answer",
            json={"answers": {"q1": "yes"}},
            headers={"X-CSRF-Token": entered.json()["csrf_token"]},
        )
    assert voted.status_code == 201, voted.text
    assert len(nudges) == 1, "the vote asked for a fold"
    return viewer, nudges[0]


@pytest.mark.claim("P22")
def test_work_arriving_after_the_deletion_started_ends_quietly_and_stores_nothing(
    stack: Any, mail_sink: MailSink
) -> None:
    owner = helpers.new_owner("late-work")
    slug = f"late-{uuid.uuid4().hex[:8]}"
    webcast_id = helpers.new_webcast(owner, slug, modules={"polls": True, "tracking": True})
    tenant_id = owner.tenant_id
    base = f"/api/webcasts/{webcast_id}"
    email = helpers.unique_email("late-participant")
    participant = owner.post(f"{base}/participants", json={"email": email})
    assert participant.status_code == 201, participant.text
    viewer, nudge = _an_uncounted_vote(owner, webcast_id)
    job = owner.post(f"{base}/imports", json={"filename": "list.csv", "size": 10}).json()["job"]
    stored_job = import_jobs.get(tenant_id=tenant_id, partition_key=webcast_id, item_id=job["id"])
    assert stored_job is not None
    stored_job.status = ImportStatus.queued  # a run the queue would start
    import_jobs.replace(tenant_id=tenant_id, item=stored_job)
    created = owner.post(f"{base}/media", json={"title": "Video", "filename": "v.mp4", "size": 4})
    assert created.status_code == 201, created.text
    asset_id = created.json()["asset"]["id"]
    asset = assets.get(tenant_id=tenant_id, item_id=asset_id, partition_key=webcast_id)
    assert asset is not None
    handout = owner.post(
        f"{base}/handouts",
        json={"title": "Slides", "filename": "s.pdf", "content_type": "application/pdf", "size": 4},
    ).json()["handout"]
    key = owner.post(f"{base}/live", json={"record": True}).json()["stream_key"]
    # Offered handouts are cached per process: this read fills the cache.
    assert viewer.get(f"/api/w/{webcast_id}/handouts").status_code == 200

    started = owner.post(f"{base}/deletion", json={"confirm_slug": slug})
    assert started.status_code == 202, started.text
    # What a worker that ran on had written meanwhile: renditions of the asset.
    outputs = media_prefix(tenant_id=tenant_id, webcast_id=webcast_id, asset_id=asset_id)
    blob_service().get_container_client(blob_container_name("media")).upload_blob(
        f"{outputs}master.m3u8", b"#EXTM3U\n", overwrite=True
    )
    before = _snapshot(tenant_id, webcast_id)
    mails = len(mail_sink.to(email))

    # Routes and caches: gone at once in this process.
    assert viewer.get(f"/api/w/{webcast_id}/handouts").status_code in (403, 404)
    publish = helpers.client().post(
        "/api/live/ingest/publish",
        data={"name": key, "app": "live"},
        headers={"X-Ingest-Secret": get_settings().live_ingest_secret.get_secret_value()},
    )
    assert publish.status_code == 403, "the ingest refuses the publisher"

    # The late queue work, each through its real handler.
    ids = {"tenant_id": tenant_id, "webcast_id": webcast_id}
    _deliver(
        heartbeat_queue_for(0),
        ids
        | {"viewer_id": "late-viewer", "shard": 0, "mode": "live", "at": 1.8e9}
        | {"slot": 120_000_000, "slot_count": 2},
    )
    _deliver(vote_queue_for(nudge.shard), nudge.model_dump())
    _deliver(IMPORT_QUEUE, ids | {"job_id": job["id"], "run": stored_job.run})
    _deliver(
        "mail",
        ids
        | {"kind": "participant_confirmation", "participant_id": participant.json()["id"]}
        | {"idempotency_key": f"late-{uuid.uuid4().hex}"},
    )
    _deliver(RESULTS_QUEUE, ids | {"asset_id": asset_id, "outcome": "ready"})
    assert not _exists("media", f"{outputs}master.m3u8"), "the worker's outputs are deleted"

    queue_client(TRANSCODE_QUEUE).clear_messages()
    queue_client(RESULTS_QUEUE).clear_messages()
    queue_client(TRANSCODE_QUEUE).send_message(
        json.dumps(
            ids
            | {"asset_id": asset_id, "source_container": "uploads"}
            | {"source_blob": asset.source_blob, "output_prefix": outputs, "ladder": "tiny"}
        ).encode()
    )
    assert worker.poll_once(WORKER)
    assert queue_client(TRANSCODE_QUEUE).peek_messages() == [], "the job is dropped"
    assert queue_client(RESULTS_QUEUE).peek_messages() == [], "and reports nothing"

    late_blobs = [
        ("uploads", asset.source_blob),
        ("imports", f"{tenant_id}/{webcast_id}/{job['id']}/source"),
        ("downloads", f"{tenant_id}/{webcast_id}/{handout['id']}/s.pdf"),
    ]
    for container, name in late_blobs:
        _deliver("blob-events", _put(container, name))
        assert not _exists(container, name), f"the late {container} blob is deleted"

    assert _created_or_changed(before, _snapshot(tenant_id, webcast_id)) == {}
    assert len(mail_sink.to(email)) == mails, "no mail for a webcast being deleted"


@pytest.mark.claim("P22")
def test_a_fold_the_deletion_overtook_removes_the_tally_it_wrote(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = helpers.new_owner("late-fold")
    slug = f"fold-{uuid.uuid4().hex[:8]}"
    webcast_id = helpers.new_webcast(owner, slug, modules={"polls": True})
    _, nudge = _an_uncounted_vote(owner, webcast_id)
    seen = webcasts.find_public(webcast_id)
    assert seen is not None
    started = owner.post(f"/api/webcasts/{webcast_id}/deletion", json={"confirm_slug": slug})
    assert started.status_code == 202, started.text
    # Another process's viewer cache still holds the webcast for a few seconds: its fold
    # passes the cached check, counts the vote, then finds the webcast gone.
    monkeypatch.setattr(poll_worker, "find_public", lambda webcast_id: seen)
    assert poll_worker.handle_message(message=nudge) == 0
    partition = f"{webcast_id}:{nudge.poll_id}:v{nudge.shard}"
    left = cosmos_container("polls").query_items(
        "SELECT c.id FROM c WHERE c.partition = @p AND c.type = 'poll-tally'",
        parameters=[{"name": "@p", "value": partition}],
        enable_cross_partition_query=True,
    )
    assert list(left) == [], "the tally the fold wrote is deleted"


@pytest.mark.claim("P22")
def test_an_import_stops_at_the_next_chunk_once_the_deletion_started(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = helpers.new_owner("late-import")
    slug = f"import-{uuid.uuid4().hex[:8]}"
    webcast_id = helpers.new_webcast(owner, slug)
    base = f"/api/webcasts/{webcast_id}"
    content = "".join(
        f"{line}\r\n" for line in ["E-Mail"] + [f"i{n:03d}@example.org" for n in range(150)]
    ).encode()
    created = owner.post(f"{base}/imports", json={"filename": "list.csv", "size": len(content)})
    assert created.status_code == 201, created.text
    ticket = created.json()["upload"]
    assert httpx.put(ticket["url"], content=content, headers=ticket["headers"]).status_code == 201
    imports = helpers.Triggers({"blob_created"}, watch=("imports",))
    imports.drain()
    job_id = created.json()["job"]["id"]
    begun = owner.post(f"{base}/imports/{job_id}/start", json={"mapping": {"E-Mail": "email"}})
    assert begun.status_code == 202, begun.text
    queue_client(IMPORT_QUEUE).clear_messages()  # the run is delivered below, by hand
    stored = import_jobs.get(tenant_id=owner.tenant_id, partition_key=webcast_id, item_id=job_id)
    assert stored is not None
    message = ImportMessage(
        tenant_id=owner.tenant_id, webcast_id=webcast_id, job_id=job_id, run=stored.run
    )
    monkeypatch.setattr(import_worker, "WRITE_CHUNK", 50)
    real_import = participant_service.import_participants
    chunks = {"n": 0}

    def deleted_after_the_second_chunk(**kwargs: Any) -> Any:
        written = real_import(**kwargs)
        chunks["n"] += 1
        if chunks["n"] == 2:
            started = owner.post(f"{base}/deletion", json={"confirm_slug": slug})
            assert started.status_code == 202, started.text
        return written

    monkeypatch.setattr(import_worker, "import_participants", deleted_after_the_second_chunk)
    assert import_worker.handle_message(message=message) is False
    assert chunks["n"] == 2, "no chunk after the deletion started"
    assert len(helpers.stored_participants(webcast_id)) == 100
    assert not _exists("imports", f"{owner.tenant_id}/{webcast_id}/{job_id}/source")
