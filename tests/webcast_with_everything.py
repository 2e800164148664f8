"""A webcast with every kind of data, made through the API, the triggers and the media worker,
and the whole-store reads that show what of a webcast is left (the deletion's proof, P22)."""

import csv
import io
import json
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from media_pipelines import worker
from shared import clock
from shared.clients import blob_container_name, blob_service, cosmos_container
from shared.config import get_settings
from shared.mail import participant_reset
from shared.messages import feed
from shared.messages.settings import settings as message_settings
from shared.participants import access
from shared.participants.repository import participants
from shared.participants.self_service import issue_privacy_token
from shared.polls import queue as poll_queue
from shared.stores import BLOB_CONTAINERS, COSMOS_CONTAINERS
from shared.tracking.settings import QUEUE_SHARDS
from tests import helpers

WORKER = worker.WorkerOptions(visibility_seconds=60, retry_seconds=0)
INGEST = {"X-Ingest-Secret": get_settings().live_ingest_secret.get_secret_value()}
MEDIA_EVENTS = helpers.Triggers({"blob_created", "media_result"}, watch=("uploads", "downloads"))
IMPORTS = helpers.Triggers({"participant_import", "blob_created"}, watch=("imports",))
TRACKING = helpers.Triggers({f"tracking_heartbeats_{n}" for n in range(QUEUE_SHARDS)})
POLLS = helpers.Triggers({f"poll_votes_{n}" for n in range(poll_queue.VOTE_QUEUES)})
MAIL = helpers.Triggers({"send_mail"})
BACKUPS = helpers.Triggers({"backup_run"})
# All of them in one runner: one pass over every queue is cheaper than one per feature.
EVERY_TRIGGER = helpers.Triggers(
    MEDIA_EVENTS.functions
    | IMPORTS.functions
    | TRACKING.functions
    | POLLS.functions
    | MAIL.functions,
    watch=("uploads", "downloads", "imports"),
)
FORM: dict[str, Any] = {
    "fields": [
        {"id": "first_name", "type": "short_text", "label": "First name", "required": True},
        {"id": "company", "type": "short_text", "label": "Company"},
        {"id": "privacy", "type": "consent", "label": "I accept the notice", "required": True},
    ]
}
ANSWERS = {"first_name": "Petra", "company": "Acme", "privacy": True}
POLL = {
    "title": "Poll",
    "questions": [
        {
            "id": "q1",
            "type": "single_choice",
            "text": "Yes or no?",
            "options": [{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}],
        }
    ],
}
VTT = b"WEBVTT\n\n00:00.000 --> 00:01.000\nGuten Tag\n"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
# Cosmos writes these on every document: they say nothing of what the document holds.
SYSTEM_FIELDS = ("_rid", "_self", "_etag", "_attachments", "_ts", "_lsn")


def make_clip(path: Path, *, container: list[str]) -> bytes:
    """2 s of test picture and tone, H.264 with a keyframe every second."""
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    command += ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30"]
    command += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2"]
    command += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30"]
    subprocess.run([*command, "-c:a", "aac", *container, str(path)], check=True)
    return path.read_bytes()


@dataclass(frozen=True)
class Clips:
    upload: bytes  # an MP4 as a browser uploads it
    recording: bytes  # MPEG-TS, as the live uploader commits a recording


def clips(folder: Path) -> Clips:
    return Clips(
        upload=make_clip(folder / "talk.mp4", container=[]),
        recording=make_clip(folder / "recording", container=["-f", "mpegts"]),
    )


@dataclass
class Built:
    """A webcast made by the builders: its owner, ids and what its viewers were handed."""

    owner: helpers.Admin
    webcast_id: str
    slug: str
    ids: dict[str, str] = field(default_factory=dict)
    viewers: list[helpers.Viewer] = field(default_factory=list)
    handed_out: list[str] = field(default_factory=list)  # signed URLs of segments
    # Tokens handed out before the deletion: a personal link, a password reset, the embed
    # secret and the server credential.
    secrets: dict[str, str] = field(default_factory=dict)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.url.path, response.text)
    return response.json() if response.content else None


def settle() -> None:
    """Run blob events, the media worker, media results, imports, heartbeats, votes and mail
    until none of them finds work."""
    for _ in range(40):
        triggered = EVERY_TRIGGER.runner.run_once().did_work
        if not worker.poll_once(WORKER) and not triggered:
            return
    raise AssertionError("the triggers kept finding work")


def put_blob(ticket: dict[str, Any], content: bytes) -> None:
    """PUT a file to its SAS upload URL, as a browser does."""
    put = httpx.put(ticket["url"], content=content, headers=ticket["headers"], timeout=30)
    assert put.status_code == 201, put.text


def csv_bytes(emails: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["E-Mail", "Vorname"], *[[e, "Ina"] for e in emails]])
    return buffer.getvalue().encode()


def new_webcast(owner: helpers.Admin, title: str) -> Built:
    """A registration webcast with a form (answers and a consent), message box, polls and
    tracking, that admits registrants at once."""
    slug = f"d-{uuid.uuid4().hex[:10]}"
    webcast_id = helpers.new_webcast(
        owner,
        slug,
        title=title,
        form=FORM,
        access_mode="registration",
        admit_before_confirmation=True,
        modules={"message_box": True, "polls": True, "tracking": True},
    )
    return Built(owner=owner, webcast_id=webcast_id, slug=slug)


def add_viewer_data(built: Built) -> None:
    """Registered viewers with answers and consents, a published message with votes, an
    answered poll and heartbeats; folded by the vote and tracking triggers in `settle` (the
    API's fold nudges wait a few seconds)."""
    webcast_id, base = built.webcast_id, f"/api/webcasts/{built.webcast_id}"
    asker, voter = (helpers.Viewer.register(webcast_id, answers=ANSWERS) for _ in range(2))
    built.viewers += [asker, voter]
    message = ok(asker.post(f"/api/w/{webcast_id}/messages", json={"text": "A question"}), 201)
    ok(built.owner.patch(f"{base}/messages/{message['id']}", json={"published": True}))
    reply = {"text": "An answer", "public": True}
    ok(built.owner.post(f"{base}/messages/{message['id']}/replies", json=reply), 201)
    ok(voter.post(f"/api/w/{webcast_id}/messages/{message['id']}/votes"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(message_settings, "vote_fold_seconds", 0.0)
        feed.invalidate(webcast_id)  # the vote read the feed: its rendering is cached
        ok(voter.get(f"/api/w/{webcast_id}/messages/published"))  # folds the votes
    poll = ok(built.owner.post(f"{base}/polls", json=POLL), 201)
    ok(built.owner.post(f"{base}/polls/{poll['id']}/open", json={}))
    for viewer in (asker, voter):
        answer = {"answers": {"q1": "yes"}}
        ok(viewer.post(f"/api/w/{webcast_id}/polls/{poll['id']}/answer", json=answer), 201)
        ok(viewer.post(f"/api/w/{webcast_id}/heartbeat", json={"mode": "live"}), 202)
    built.ids |= {"message_id": message["id"], "poll_id": poll["id"]}


def add_participants(built: Built) -> None:
    """Participants added by the owner and invited by mail (mail markers), a personal link
    and a privacy link, a finished import and an uploaded one waiting for its start."""
    owner, webcast_id = built.owner, built.webcast_id
    base = f"/api/webcasts/{webcast_id}"
    added = ok(
        owner.post(
            f"{base}/participants", json={"email": helpers.unique_email("p"), "answers": ANSWERS}
        ),
        201,
    )
    templates = {"templates": {"invitation": {"en": {"subject": "Hello", "text": "Hello"}}}}
    ok(owner.request("PUT", f"{base}/mail-templates", json=templates))
    ok(owner.post(f"{base}/links/rotate"))
    ok(owner.post(f"{base}/invitations", json={"participant_ids": [added["id"]]}), 202)
    stored = participants.get(
        tenant_id=owner.tenant_id, partition_key=webcast_id, item_id=added["id"]
    )
    assert stored is not None
    link = access.issue_link(participant=stored, single_use=False)
    entered = helpers.client().post(f"/api/w/{webcast_id}/link", json={"token": link})
    ok(entered)
    issue_privacy_token(participant=stored)
    built.secrets |= {"link": link, "reset": participant_reset.issue_token(participant=stored)}
    for emails, started in (([helpers.unique_email("i") for _ in range(3)], True), ([], False)):
        content = csv_bytes(emails or [helpers.unique_email("waiting")])
        created = ok(
            owner.post(f"{base}/imports", json={"filename": "list.csv", "size": len(content)}),
            201,
        )
        put_blob(created["upload"], content)
        IMPORTS.drain()
        if started:
            start = {"mapping": {"E-Mail": "email", "Vorname": "first_name"}}
            ok(owner.post(f"{base}/imports/{created['job']['id']}/start", json=start), 202)
    built.ids |= {"participant_id": added["id"], "import_job_id": created["job"]["id"]}


def add_integrations(built: Built) -> None:
    """Embedding with its secret and an embedded viewer, a server credential and the
    participant a customer's server registered with it."""
    owner, webcast_id = built.owner, built.webcast_id
    base = f"/api/webcasts/{webcast_id}"
    embed = {"enabled": True, "allowed_origins": ["https://customer.example"]}
    ok(owner.request("PUT", f"{base}/embed", json=embed))
    secret = ok(owner.post(f"{base}/embed/secret"), 201)["secret"]
    token = embed_token(secret, webcast_id)
    ok(helpers.client().post(f"/api/w/{webcast_id}/embed/session", json={"token": token}))
    credential = ok(owner.post(f"{base}/server-credentials", json={"label": "CRM"}), 201)
    built.secrets |= {"embed": secret, "credential": credential["token"]}
    registered = helpers.client().request(
        "PUT",
        f"/api/server/webcasts/{webcast_id}/participants",
        headers={"Authorization": f"Bearer {credential['token']}"},
        json={"email": helpers.unique_email("crm")},
    )
    assert registered.status_code == 201, registered.text


def embed_token(secret: str, webcast_id: str) -> str:
    """A customer site's token for one of its users, fresh (a token is taken once)."""
    issued = int(clock.now())
    claims = {"aud": webcast_id, "iat": issued, "exp": issued + 60, "jti": uuid.uuid4().hex}
    return jwt.encode(claims | {"sub": "crm-7"}, secret, algorithm="HS256")


def add_handout(built: Built) -> None:
    base = f"/api/webcasts/{built.webcast_id}"
    handout = {
        "title": "Slides",
        "filename": "slides.pdf",
        "content_type": "application/pdf",
        "size": len(PDF),
    }
    created = ok(built.owner.post(f"{base}/handouts", json=handout), 201)
    put_blob(created["upload"], PDF)
    built.ids["handout_id"] = created["handout"]["id"]


def add_design(built: Built) -> None:
    """A published page design naming a speaker with a photo, a later draft, and a logo
    uploaded but not yet processed."""
    base = f"/api/webcasts/{built.webcast_id}/design"
    photo = helpers.page_image(built.owner, built.webcast_id, "speaker")
    built.ids["image_id"] = photo
    speaker = {"id": "ada", "name": "Ada L.", "photo": photo}
    design = {
        "blocks": [
            {"id": "about", "kind": "rich_text", "texts": {"de": {"body": "Über *uns*"}}},
            {"id": "people", "kind": "speakers", "speakers": [speaker]},
        ]
    }
    ok(built.owner.request("PUT", base, json=design))
    ok(built.owner.post(f"{base}/publish"))
    ok(built.owner.request("PUT", base, json={"blocks": design["blocks"][:1]}))
    helpers.page_image(built.owner, built.webcast_id, "logo", processed=False)


def add_video(built: Built, clip: bytes) -> str:
    """An uploaded video; the asset's id (the worker transcodes it when `settle` runs)."""
    base = f"/api/webcasts/{built.webcast_id}"
    body = {"title": "Keynote", "filename": "talk.mp4", "size": len(clip)}
    created = ok(built.owner.post(f"{base}/media", json=body), 201)
    put_blob(created["upload"], clip)
    return str(created["asset"]["id"])


def publish_video(built: Built, asset_id: str) -> None:
    """Captions, publication, and a viewer handed the ladder's signed playlist and segment."""
    base = f"/api/webcasts/{built.webcast_id}"
    captions = built.owner.request(
        "PUT", f"{base}/media/{asset_id}/captions/de", params={"label": "Deutsch"}, content=VTT
    )
    ok(captions)
    settle()
    ok(built.owner.post(f"{base}/media/{asset_id}/publish"))
    viewer = built.viewers[0]
    summary = ok(viewer.get(f"/api/w/{built.webcast_id}/vod"))
    master = viewer.get(summary["master_playlist"])
    variant = next(line for line in master.text.splitlines() if line.endswith(".m3u8"))
    media = viewer.get(variant)
    segment = next(line for line in media.text.splitlines() if line.startswith("http"))
    assert httpx.get(segment, timeout=30).status_code == 200
    built.handed_out.append(segment)


def add_live_session(built: Built, recording: bytes) -> None:
    """A recorded live session through the ingest's hooks: its HLS output in the `live`
    container and its recording committed to the recording asset's source blob."""
    owner, webcast_id = built.owner, built.webcast_id
    key = ok(owner.post(f"/api/webcasts/{webcast_id}/live", json={"record": True}), 201)
    http = helpers.client()
    grant = ok(
        http.post(
            "/api/live/ingest/publish",
            data={"name": key["stream_key"], "app": "live"},
            headers=INGEST,
        )
    )
    ref = {
        "tenant_id": owner.tenant_id,
        "webcast_id": webcast_id,
        "session_id": grant["session_id"],
    }
    live = blob_service().get_container_client(blob_container_name("live"))
    prefix = grant["output_prefix"]
    live.upload_blob(f"{prefix}240p/seg_00001.ts", recording[:4096])
    playlist = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_00001.ts\n"
    live.upload_blob(f"{prefix}240p/index.m3u8", playlist)
    health = {**ref, "last_segment_at": clock.utc_iso(), "segments_uploaded": 1}
    ok(http.post("/api/live/ingest/health", json=health, headers=INGEST), 204)
    target = ok(http.post("/api/live/ingest/recording", json=ref, headers=INGEST))
    uploads = blob_service().get_container_client(blob_container_name(target["container"]))
    uploads.upload_blob(target["blob"], recording)
    done = {**ref, "reason": "stopped", "segments_uploaded": 1}
    ok(http.post("/api/live/ingest/publish-done", json=done, headers=INGEST))
    built.ids |= {"session_id": grant["session_id"], "recording_asset_id": target["asset_id"]}


def webcast_with_everything(owner: helpers.Admin, clip: Clips) -> Built:
    """Every kind of data a webcast holds, through the real API, triggers and worker."""
    built = new_webcast(owner, "Everything")
    add_viewer_data(built)
    add_participants(built)
    add_integrations(built)
    add_handout(built)
    add_design(built)
    asset_id = add_video(built, clip.upload)
    add_live_session(built, clip.recording)
    settle()
    publish_video(built, asset_id)
    # Reading attendance stores its report snapshot.
    ok(owner.get(f"/api/webcasts/{built.webcast_id}/attendance"))
    built.ids["asset_id"] = asset_id
    # A manual backup: its job record and its ZIP in the exports container (P32).
    backup = ok(owner.post(f"/api/webcasts/{built.webcast_id}/backups"), 202)
    BACKUPS.drain()
    built.ids["backup_id"] = backup["id"]
    return built


def webcast_with_some(owner: helpers.Admin) -> Built:
    """A webcast with some of the same data: viewers, a message, votes, heartbeats, a
    participant, a handout (folded and settled)."""
    built = new_webcast(owner, "Some")
    add_viewer_data(built)
    ok(
        owner.post(
            f"/api/webcasts/{built.webcast_id}/participants",
            json={"email": helpers.unique_email("kept"), "answers": ANSWERS},
        ),
        201,
    )
    add_handout(built)
    add_design(built)
    return built


def types_naming(store: dict[str, Any], mark: str) -> set[str]:
    """The `type` of every document that names `mark`."""
    return {
        json.loads(text).get("type", "")
        for name, hits in naming(store, mark).items()
        if name.startswith("cosmos:")
        for text in hits
    }


def _documents(name: str) -> list[dict[str, Any]]:
    # The scan reads every document on purpose: what it looks for may be in any field.
    return list(
        cosmos_container(name).query_items("SELECT * FROM c", enable_cross_partition_query=True)
    )


def _blob_names(name: str) -> dict[str, str]:
    container = blob_service().get_container_client(blob_container_name(name))
    return {blob.name: str(blob.etag) for blob in container.list_blobs()}


def whole_store() -> dict[str, Any]:
    """Every document of every catalogued Cosmos container (`cosmos:{name}` -> documents as
    JSON text without Cosmos's system fields) and every blob of every catalogued blob
    container (`blob:{name}` -> name -> etag). The containers that keep their entries about
    a deleted webcast (the audit log, the receipts) are left out: they grow by design."""
    names = [f"cosmos:{spec.name}" for spec in COSMOS_CONTAINERS if not spec.kept_after_deletion]
    names += [f"blob:{spec.name}" for spec in BLOB_CONTAINERS]

    def read(name: str) -> Any:
        kind, _, store = name.partition(":")
        if kind == "blob":
            return _blob_names(store)
        return sorted(
            json.dumps({k: v for k, v in doc.items() if k not in SYSTEM_FIELDS}, sort_keys=True)
            for doc in _documents(store)
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip(names, pool.map(read, names), strict=True))


def naming(store: dict[str, Any], mark: str) -> dict[str, Any]:
    """What of a whole-store read names `mark`: documents in their JSON text, blobs in their
    names (with their etags)."""
    found: dict[str, Any] = {}
    for name, content in store.items():
        if name.startswith("blob:"):
            hits: Any = {blob: etag for blob, etag in content.items() if mark in blob}
        else:
            hits = [text for text in content if mark in text]
        if hits:
            found[name] = hits
    return found


def leftovers(store: dict[str, Any], webcast_id: str) -> dict[str, Any]:
    """What of a whole-store read still names the webcast: the read has every container but
    those that keep their entries about a deleted webcast."""
    return naming(store, webcast_id)
