"""Queue messages whose ids mix tenants are refused by every queue handler (P29, P30).

The intruder's tenant id travels with the victim's webcast, participant, poll, job, asset,
handout and viewer ids (or with ids that exist only in the victim's tenant), through the
real handler path: the local trigger runner for the Functions queue triggers and the media
worker for its `transcode` queue. Each message must end quietly or in its poison queue,
while the victim's Cosmos documents and blobs stay as they were (by etag) and no mail
reaches the victim's people. A queue handler or blob consumer without a case fails
`test_every_queue_handler_has_a_mixed_tenant_case`.
"""

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import azure.functions as func
import pytest

from devtools.mailsink import MailSink
from devtools.runner import TriggerRunner, app_functions, blob_created_event
from media_pipelines import worker
from shared import malware
from shared.clients import blob_container_name, blob_service, cosmos_container, queue_client
from shared.composition.blob_consumers import BLOB_CONSUMERS
from shared.mail_queue import JobKind
from shared.media.models import TRANSCODE_QUEUE, AssetStatus, media_prefix, source_blob_name
from shared.media.repository import assets
from shared.participants.import_models import ImportStatus
from shared.participants.repository import import_jobs
from shared.polls import voting
from shared.polls.queue import FoldMessage, queue_for
from shared.stores import BLOB_CONTAINERS, COSMOS_CONTAINERS
from shared.tracking import settings as tracking_settings
from shared.tracking.models import HeartbeatMessage, Mode
from tests import helpers

VICTIM_VIEWER = "victim-viewer"
WORKER = worker.WorkerOptions(visibility_seconds=30, retry_seconds=0)


@dataclass(frozen=True)
class Tenants:
    """The intruder's tenant and webcast; every other id is the victim's."""

    intruder: str
    intruder_webcast: str
    intruder_asset: str
    tenant: str
    webcast: str
    participant: str
    account: str
    poll: str
    shard: int
    job: str
    job_run: int
    asset: str
    handout: str
    handout_blob: str
    image: str
    emails: tuple[str, ...]

    def names(self) -> list[str]:
        return [
            self.tenant,
            self.webcast,
            self.participant,
            self.account,
            self.poll,
            self.job,
            self.asset,
            self.handout,
            self.image,
        ]


@dataclass(frozen=True)
class Case:
    """A message for one queue (`-{n}`: a family of sharded queues). A blob event's case
    names the container and the blob instead; the blob is made and its event posted."""

    name: str
    queue: str
    body: Callable[[Tenants], dict[str, Any]] = lambda t: {}
    ends: str = "quiet"  # or "poison", the visible failed state of a message no one can read
    container: str | None = None
    blob: Callable[[Tenants], str] | None = None


def _mail(kind: str, **ids: Callable[[Tenants], str]) -> Callable[[Tenants], dict[str, Any]]:
    def body(t: Tenants) -> dict[str, Any]:
        fields = {name: pick(t) for name, pick in ids.items()}
        # A key of its own: a job whose key was sent already would be skipped unread.
        key = f"isolation-{uuid.uuid4().hex}"
        return {"kind": kind, "tenant_id": t.intruder, "idempotency_key": key} | fields

    return body


def _heartbeat(
    webcast: Callable[[Tenants], str], viewer: str
) -> Callable[[Tenants], dict[str, Any]]:
    def body(t: Tenants) -> dict[str, Any]:
        return {
            "tenant_id": t.intruder,
            "webcast_id": webcast(t),
            "viewer_id": viewer,
            "shard": 0,
            "mode": "live",
            "at": 1_800_000_000.0,
            "slot": 120_000_000,
            "slot_count": 2,
        }

    return body


def _transcode(
    webcast: Callable[[Tenants], str],
    source: Callable[[Tenants], str],
    output: Callable[[Tenants], str],
) -> Callable[[Tenants], dict[str, Any]]:
    def body(t: Tenants) -> dict[str, Any]:
        return {
            "tenant_id": t.intruder,
            "webcast_id": webcast(t),
            "asset_id": t.asset,
            "source_container": "uploads",
            "source_blob": source(t),
            "output_prefix": output(t),
            "ladder": "tiny",
        }

    return body


def _result(webcast: Callable[[Tenants], str], outcome: str) -> Callable[[Tenants], dict[str, Any]]:
    def body(t: Tenants) -> dict[str, Any]:
        return {
            "tenant_id": t.intruder,
            "webcast_id": webcast(t),
            "asset_id": t.asset,
            "outcome": outcome,
            "failure_code": "failed" if outcome == "failed" else None,
        }

    return body


def _outside_result(t: Tenants) -> dict[str, Any]:
    """A `ready` result for the intruder's own asset whose files lie in the victim's folder."""
    victim = f"../../../{t.tenant}/{t.webcast}/{t.asset}/"
    rendition = {
        "name": "720p",
        "width": 1280,
        "height": 720,
        "video_bitrate": 3_000_000,
        "audio_bitrate": 128_000,
        "bandwidth": 3_500_000,
        "codecs": "avc1.640028",
        "playlist": f"{victim}720p/index.m3u8",
    }
    return {
        "tenant_id": t.intruder,
        "webcast_id": t.intruder_webcast,
        "asset_id": t.intruder_asset,
        "outcome": "ready",
        "renditions": [rendition],
        "poster": f"{victim}poster.jpg",
        "download": f"{victim}download.mp4",
    }


def _blob_url(container: str, name: str) -> str:
    return str(blob_service().get_blob_client(blob_container_name(container), name).url)


def _etag(container: str, name: str) -> str:
    blob = blob_service().get_blob_client(blob_container_name(container), name)
    return str(blob.get_blob_properties().etag).strip('"')


def _scan_result(blob_uri: str, etag: str) -> dict[str, Any]:
    """Defender's event, clean, for the blob at `blob_uri` in the version `etag`."""
    return {
        "id": "scan-iso",
        "eventType": malware.SCAN_RESULT_EVENT,
        "eventTime": "2026-01-01T00:00:00Z",
        "data": {"blobUri": blob_uri, "eTag": etag, "scanResultType": malware.CLEAN_RESULT},
    }


def _victim_web(t: Tenants) -> str:
    return t.webcast


def _own_web(t: Tenants) -> str:
    return t.intruder_webcast


CASES: tuple[Case, ...] = (
    # mail: every kind, with the victim's webcast or the intruder's own webcast
    *(
        Case(
            f"mail {kind} for the victim's participant",
            "mail",
            _mail(kind, webcast_id=_victim_web, participant_id=lambda t: t.participant),
        )
        for kind in (
            JobKind.invitation,
            JobKind.confirmation,
            JobKind.participant_password_reset,
            JobKind.participant_erasure,
        )
    ),
    Case(
        "mail invitation in the intruder's webcast for the victim's participant",
        "mail",
        _mail(JobKind.invitation, webcast_id=_own_web, participant_id=lambda t: t.participant),
    ),
    Case(
        "mail reminder for the victim's participant",
        "mail",
        lambda t: (
            _mail(JobKind.reminder, webcast_id=_victim_web, participant_id=lambda t: t.participant)(
                t
            )
            | {"reminder_lead": 3600, "starts_at": "2030-01-01T10:00:00+00:00"}
        ),
    ),
    Case(
        "mail password reset of the victim's account",
        "mail",
        _mail(JobKind.password_reset, account_id=lambda t: t.account),
    ),
    Case(
        "mail invitation batch over the victim's webcast",
        "mail",
        lambda t: _mail(JobKind.invitation_batch, webcast_id=_victim_web)(t) | {"batch_id": "b1"},
    ),
    Case(
        "mail reminder batch over the victim's webcast",
        "mail",
        lambda t: (
            _mail(JobKind.reminder_batch, webcast_id=_victim_web)(t)
            | {"reminder_lead": 3600, "starts_at": "2030-01-01T10:00:00+00:00"}
        ),
    ),
    # manual backups: the intruder's tenant with an id of the victim's
    Case(
        "backup of the victim's job under the intruder's tenant",
        "backups",
        lambda t: {"tenant_id": t.intruder, "backup_id": t.job},
    ),
    Case(
        "restore of the victim's job under the intruder's tenant",
        "restores",
        lambda t: {"tenant_id": t.intruder, "restore_id": t.job},
    ),
    # media worker results
    *(
        Case(
            f"media result {outcome} for the victim's asset",
            "media-results",
            _result(_victim_web, outcome),
        )
        for outcome in ("processing", "ready", "failed")
    ),
    Case(
        "media result for the victim's asset in the intruder's webcast",
        "media-results",
        _result(_own_web, "failed"),
    ),
    Case(
        "media result for the intruder's asset pointing at the victim's files",
        "media-results",
        _outside_result,
        ends="poison",
    ),
    # participant imports
    Case(
        "import run of the victim's job",
        "participant-imports",
        lambda t: {
            "tenant_id": t.intruder,
            "webcast_id": t.webcast,
            "job_id": t.job,
            "run": t.job_run,
        },
    ),
    Case(
        "import run of the victim's job in the intruder's webcast",
        "participant-imports",
        lambda t: {
            "tenant_id": t.intruder,
            "webcast_id": t.intruder_webcast,
            "job_id": t.job,
            "run": t.job_run,
        },
    ),
    # poll folds
    Case(
        "fold of the victim's poll shard",
        "poll-votes-{n}",
        lambda t: {
            "tenant_id": t.intruder,
            "webcast_id": t.webcast,
            "poll_id": t.poll,
            "shard": t.shard,
        },
    ),
    Case(
        "fold of the victim's poll in the intruder's webcast",
        "poll-votes-{n}",
        lambda t: {
            "tenant_id": t.intruder,
            "webcast_id": t.intruder_webcast,
            "poll_id": t.poll,
            "shard": t.shard,
        },
    ),
    # attendance heartbeats
    Case(
        "heartbeat into the victim's webcast", "tracking-{n}", _heartbeat(_victim_web, "intruder")
    ),
    Case(
        "heartbeat onto the victim's viewer",
        "tracking-{n}",
        _heartbeat(_victim_web, VICTIM_VIEWER),
    ),
    Case(
        "heartbeat into a webcast that does not exist",
        "tracking-{n}",
        _heartbeat(lambda t: "no-such-webcast", "intruder"),
    ),
    # Defender's scan results name a blob, no tenant: only the scanned version of a gated
    # container's blob gets the verdict, never a blob named inside another container's path
    Case(
        "scan result for the victim's handout with another version's etag",
        malware.SCAN_QUEUE,
        lambda t: _scan_result(_blob_url("downloads", t.handout_blob), "0x8D000000000000"),
    ),
    Case(
        "scan result for an intruder's export whose path holds the victim's handout",
        malware.SCAN_QUEUE,
        lambda t: _scan_result(
            _blob_url(
                "exports", f"{t.intruder}/{blob_container_name('downloads')}/{t.handout_blob}"
            ),
            _etag("downloads", t.handout_blob),
        ),
    ),
    # blob events under the intruder's prefix naming the victim's ids
    Case(
        "upload of a source for the victim's asset",
        "blob-events",
        container="uploads",
        blob=lambda t: f"{t.intruder}/{t.webcast}/{t.asset}/source",
    ),
    Case(
        "upload of a source for the victim's asset in the intruder's webcast",
        "blob-events",
        container="uploads",
        blob=lambda t: f"{t.intruder}/{t.intruder_webcast}/{t.asset}/source",
    ),
    Case(
        "upload of a caption for the victim's asset",
        "blob-events",
        container="uploads",
        blob=lambda t: f"{t.intruder}/{t.webcast}/{t.asset}/captions/de.vtt",
    ),
    Case(
        "upload of a participant list for the victim's import job",
        "blob-events",
        container="imports",
        blob=lambda t: f"{t.intruder}/{t.webcast}/{t.job}/source",
    ),
    Case(
        "upload of a file for the victim's handout",
        "blob-events",
        container="downloads",
        blob=lambda t: f"{t.intruder}/{t.webcast}/{t.handout}/slides.pdf",
    ),
    Case(
        "upload of a file for the victim's handout in the intruder's webcast",
        "blob-events",
        container="downloads",
        blob=lambda t: f"{t.intruder}/{t.intruder_webcast}/{t.handout}/slides.pdf",
    ),
    Case(
        "upload of a picture for the victim's page image",
        "blob-events",
        container="page-uploads",
        blob=lambda t: f"{t.intruder}/{t.webcast}/{t.image}/upload",
    ),
    Case(
        "upload of a picture for the victim's page image in the intruder's webcast",
        "blob-events",
        container="page-uploads",
        blob=lambda t: f"{t.intruder}/{t.intruder_webcast}/{t.image}/upload",
    ),
    Case(
        "upload of a backup ZIP for the victim's restore",
        "blob-events",
        container="restores",
        blob=lambda t: f"{t.intruder}/{t.webcast}/restore/{t.job}.zip",
    ),
    # deletion steps: a message names a job and starts none; there is no job by these ids
    Case(
        "deletion step for the victim's job id under the intruder's tenant",
        "deletions",
        lambda t: {"tenant_id": t.intruder, "job_id": t.job},
    ),
    Case(
        "account deletion step for the victim's tenant, which asked for none",
        "deletions",
        lambda t: {
            "tenant_id": t.tenant,
            "job_id": f"account-deletion:{t.tenant}",
            "kind": "account",
        },
    ),
    Case(
        "account deletion step for the victim's tenant under the intruder's",
        "deletions",
        lambda t: {
            "tenant_id": t.intruder,
            "job_id": f"account-deletion:{t.tenant}",
            "kind": "account",
        },
    ),
    # the media worker's jobs
    Case(
        "transcode of the victim's source into the victim's folder",
        TRANSCODE_QUEUE,
        _transcode(
            _victim_web,
            lambda t: source_blob_name(tenant_id=t.tenant, webcast_id=t.webcast, asset_id=t.asset),
            lambda t: media_prefix(tenant_id=t.tenant, webcast_id=t.webcast, asset_id=t.asset),
        ),
    ),
    Case(
        "transcode of the victim's source into the intruder's folder",
        TRANSCODE_QUEUE,
        _transcode(
            _own_web,
            lambda t: source_blob_name(tenant_id=t.tenant, webcast_id=t.webcast, asset_id=t.asset),
            lambda t: media_prefix(
                tenant_id=t.intruder, webcast_id=t.intruder_webcast, asset_id=t.asset
            ),
        ),
    ),
    Case(
        "transcode for the victim's asset id under the intruder's tenant",
        TRANSCODE_QUEUE,
        _transcode(
            _victim_web,
            lambda t: source_blob_name(
                tenant_id=t.intruder, webcast_id=t.webcast, asset_id=t.asset
            ),
            lambda t: media_prefix(tenant_id=t.intruder, webcast_id=t.webcast, asset_id=t.asset),
        ),
    ),
)


def _queue(case: Case, body: dict[str, Any]) -> str:
    """The queue a message of the case goes to (a sharded family by the message's shard)."""
    if case.queue == "poll-votes-{n}":
        return queue_for(body["shard"])
    if case.queue == "tracking-{n}":
        return tracking_settings.queue_for(body["shard"])
    return case.queue


def _trigger(function: func.Function) -> dict[str, Any]:
    trigger = function.get_trigger()
    return trigger.get_dict_repr() if trigger is not None else {}


def _queue_functions() -> TriggerRunner:
    """The runner over every queue trigger of the function app (its index, not run here)."""
    return TriggerRunner(
        functions=[f for f in app_functions() if _trigger(f).get("type") == "queueTrigger"],
        watch_containers=(),
    )


def _count(queue: str) -> int:
    return queue_client(queue).get_queue_properties().approximate_message_count or 0


class Delivery:
    """The real handler paths: one local runner per queue, the media worker for its jobs."""

    def __init__(self) -> None:
        self._runners: dict[str, TriggerRunner] = {}

    def _runner(self, queue: str) -> TriggerRunner:
        if queue not in self._runners:
            self._runners[queue] = TriggerRunner(
                functions=[f for f in app_functions() if _trigger(f).get("queueName") == queue],
                watch_containers=(),
                visibility_timeout=30,
                retry_delay=0,
            )
        return self._runners[queue]

    def drain(self, queue: str) -> None:
        """Passes until the queue is empty: a failing message is tried five times."""
        for _ in range(30):
            if not self._runner(queue).run_once().did_work:
                return
        raise AssertionError(f"the runner of {queue} kept finding work")

    def send(self, queue: str, body: dict[str, Any]) -> str:
        """Deliver one message to its handler; `quiet` or `poison`, how it ended."""
        poisoned_before = _count(f"{queue}-poison")
        queue_client(queue).send_message(json.dumps(body).encode())
        if queue == TRANSCODE_QUEUE:
            for _ in range(5):
                if not worker.poll_once(WORKER):
                    break
            self.drain("media-results")  # what the worker reported back
        else:
            self.drain(queue)
        left = queue_client(queue).peek_messages(max_messages=32)
        assert not any(json.loads(m.content) == body for m in left), "still in the queue"
        return "poison" if _count(f"{queue}-poison") > poisoned_before else "quiet"


def _upload(container: str, name: str, content: bytes = b"%PDF-1.4 not much") -> dict[str, Any]:
    """A blob under `name` and the BlobCreated event Azure would post for it."""
    client = blob_service().get_container_client(blob_container_name(container))
    client.upload_blob(name, content, overwrite=True)
    properties = client.get_blob_client(name).get_blob_properties()
    return blob_created_event(client, properties).to_wire()


def _snapshot(t: Tenants) -> dict[str, str]:
    """Every Cosmos document that is the victim's or names the victim's webcast or ids, and
    every blob under the victim's prefix or under the intruder's prefix with the victim's
    webcast, by etag (and index tags, which carry malware verdicts)."""
    found: dict[str, str] = {}
    for spec in COSMOS_CONTAINERS:
        for item in cosmos_container(spec.name).query_items(
            "SELECT c.id, c._etag FROM c WHERE c.tenant_id = @t OR c.webcast_id = @w"
            " OR ARRAY_CONTAINS(@ids, c.entity_id)",
            parameters=[
                {"name": "@t", "value": t.tenant},
                {"name": "@w", "value": t.webcast},
                {"name": "@ids", "value": t.names()},
            ],
            enable_cross_partition_query=True,
        ):
            found[f"{spec.name}/{item['id']}"] = item["_etag"]
    for blob_spec in BLOB_CONTAINERS:
        container = blob_service().get_container_client(blob_container_name(blob_spec.name))
        for prefix in (f"{t.tenant}/", f"{t.intruder}/{t.webcast}/"):
            for blob in container.list_blobs(name_starts_with=prefix, include=["tags"]):
                tags = sorted((blob.tags or {}).items())
                found[f"{blob_spec.name}:{blob.name}"] = f"{blob.etag} {tags}"
    return found


def _changes(before: dict[str, str], after: dict[str, str]) -> dict[str, tuple[str, str]]:
    return {
        key: (before.get(key, "-"), after.get(key, "-"))
        for key in before.keys() | after.keys()
        if before.get(key) != after.get(key)
    }


def _queued_asset(owner: helpers.Admin, webcast_id: str) -> str:
    """An asset whose source is in and which waits for the worker's results."""
    created = owner.post(
        f"/api/webcasts/{webcast_id}/media",
        json={"title": "Video", "filename": "v.mp4", "size": 17},
    )
    assert created.status_code == 201, created.text
    asset = assets.get(
        tenant_id=owner.tenant_id, item_id=created.json()["asset"]["id"], partition_key=webcast_id
    )
    assert asset is not None
    _upload("uploads", asset.source_blob)
    asset.status = AssetStatus.queued
    assets.replace(tenant_id=owner.tenant_id, item=asset)
    return asset.id


@pytest.fixture(scope="module")
def tenants(stack: Any) -> Iterator[Tenants]:
    """A victim with one of everything the queues name, and an intruder with a webcast."""
    victim = helpers.new_owner("queue-victim")
    webcast = victim.post(
        "/api/webcasts",
        json={
            "title": "Victim",
            "slug": "victim",
            "modules": {"polls": True, "tracking": True},
        },
    ).json()
    base = f"/api/webcasts/{webcast['id']}"
    email = helpers.unique_email("victim-participant")
    participant = victim.post(f"{base}/participants", json={"email": email})
    assert participant.status_code == 201, participant.text
    poll = victim.post(
        f"{base}/polls",
        json={
            "title": "Victim poll",
            "questions": [
                {
                    "id": "q1",
                    "type": "single_choice",
                    "text": "Yes or no?",
                    "options": [{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}],
                }
            ],
        },
    ).json()
    assert victim.post(f"{base}/polls/{poll['id']}/open", json={}).status_code == 200
    viewer = helpers.client()
    entered = viewer.post(f"/api/w/{webcast['id']}/enter")
    nudges: list[FoldMessage] = []
    with pytest.MonkeyPatch.context() as patch:
        # The vote stays uncounted: a fold that acted on it would change the victim's tally.
        patch.setattr(voting, "nudge", nudges.append)
        voted = viewer.post(
            f"/api/w/{webcast['id']}/polls/{poll['id']}/answer",
            json={"answers": {"q1": "yes"}},
            headers={"X-CSRF-Token": entered.json()["csrf_token"]},
        )
    assert voted.status_code == 201, voted.text
    job = victim.post(f"{base}/imports", json={"filename": "list.csv", "size": 10}).json()["job"]
    stored_job = import_jobs.get(
        tenant_id=victim.tenant_id, partition_key=webcast["id"], item_id=job["id"]
    )
    assert stored_job is not None
    stored_job.status = ImportStatus.queued  # a run the queue could resume
    import_jobs.replace(tenant_id=victim.tenant_id, item=stored_job)
    asset = _queued_asset(victim, webcast["id"])
    handout = victim.post(
        f"{base}/handouts",
        json={
            "title": "Slides",
            "filename": "slides.pdf",
            "content_type": "application/pdf",
            "size": 17,
        },
    ).json()["handout"]
    handout_blob = f"{victim.tenant_id}/{webcast['id']}/{handout['id']}/slides.pdf"
    _upload("downloads", handout_blob)  # uploaded, its scan result not in yet
    image = victim.post(
        f"{base}/design/images",
        json={"purpose": "logo", "content_type": "image/png", "size": 17},
    ).json()["image"]
    # The victim's own viewer, whose viewing a heartbeat of the intruder must not touch.
    heartbeat = HeartbeatMessage(
        tenant_id=victim.tenant_id,
        webcast_id=webcast["id"],
        viewer_id=VICTIM_VIEWER,
        shard=0,
        mode=Mode.live,
        at=1_800_000_000.0,
        slot=120_000_000,
        slot_count=2,
    )
    queue_client(tracking_settings.queue_for(0)).send_message(heartbeat.model_dump_json().encode())
    intruder = helpers.new_owner("queue-intruder")
    own = intruder.post(
        "/api/webcasts", json={"title": "Intruder", "slug": "intruder", "modules": {"polls": True}}
    ).json()
    own_asset = _queued_asset(intruder, own["id"])
    t = Tenants(
        intruder=intruder.tenant_id,
        intruder_webcast=own["id"],
        intruder_asset=own_asset,
        tenant=victim.tenant_id,
        webcast=webcast["id"],
        participant=participant.json()["id"],
        account=victim.account_id,
        poll=poll["id"],
        shard=nudges[0].shard,
        job=job["id"],
        job_run=stored_job.run,
        asset=asset,
        handout=handout["id"],
        handout_blob=handout_blob,
        image=image["id"],
        emails=(email, victim.email),
    )
    yield t


def test_every_queue_handler_has_a_mixed_tenant_case(stack: Any) -> None:
    queues = {re.sub(r"-\d+$", "-{n}", q.logical_queue) for q in _queue_functions().queue_functions}
    handled = queues | {TRANSCODE_QUEUE}  # the media worker's own queue
    assert handled - {case.queue for case in CASES} == set(), "add a case for each new queue"
    assert {case.queue for case in CASES} - handled == set(), "cases for queues nobody reads"
    consumers = set(BLOB_CONSUMERS)
    assert consumers, "the consumer table lists the blob consumers"
    covered = {case.container for case in CASES if case.container}
    assert consumers - covered == set(), "add a blob event case for each new consumer"


@pytest.mark.claim("P29")
@pytest.mark.claim("P30")
def test_queue_messages_with_another_tenants_ids_change_nothing(
    tenants: Tenants, mail_sink: MailSink
) -> None:
    delivery = Delivery()
    for queue in {_queue(case, case.body(tenants)) for case in CASES} - {TRANSCODE_QUEUE}:
        delivery.drain(queue)  # the victim's own messages (its heartbeat) go first
    mails = {address: len(mail_sink.to(address)) for address in tenants.emails}
    before = _snapshot(tenants)
    ended: dict[str, str] = {}
    for case in CASES:
        body = case.body(tenants)
        if case.container is not None and case.blob is not None:
            body = _upload(case.container, case.blob(tenants))
        ended[case.name] = delivery.send(_queue(case, body), body)
    # What changed names the handler that acted (document ids and blob names).
    assert _changes(before, _snapshot(tenants)) == {}
    assert {address: len(mail_sink.to(address)) for address in tenants.emails} == mails
    assert ended == {case.name: case.ends for case in CASES}
