"""Deleting a webcast project (P22): a webcast with every kind of data is deleted, and a scan
of every container and of the whole blob account finds nothing of it, while the tenant's
other webcast and another tenant's are unchanged; the same with work still running; and
only the customer owner, typing the slug back, may start it."""

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from media_pipelines import transcode, worker
from shared.auth.models import Permission
from shared.clients import cosmos_container, queue_client
from shared.deletions.sweep import swept_containers
from shared.media import playback
from shared.media.models import TRANSCODE_QUEUE
from shared.participants.imports import worker as import_worker
from shared.participants.service import import_participants
from shared.stores import BLOB_CONTAINERS
from tests import helpers
from tests import webcast_with_everything as everything
from tests.integration.test_isolation import (
    OWNER,
    ROUTES,
    VIEWER_BODIES,
    _bodies,
    _in,
)

DELETION = helpers.Triggers({"webcast_deletion"})


def _viewer_route_bodies(built: everything.Built) -> dict[tuple[str, str], dict[str, object]]:
    """Bodies for the viewer-side routes that the isolation tables leave without one, with
    the tokens handed out before the deletion: valid ones, so only the tombstone refuses."""
    return {
        ("POST", "/api/w/{webcast_id}/registrations"): {
            "email": helpers.unique_email("late"),
            "answers": everything.ANSWERS,
        },
        ("POST", "/api/w/{webcast_id}/login"): {"login": "late", "password": "x" * 12},
        ("POST", "/api/w/{webcast_id}/link"): {"token": built.secrets["link"]},
        ("POST", "/api/w/{webcast_id}/password-reset"): {"login": "late"},
        ("POST", "/api/w/{webcast_id}/password-reset/confirm"): {
            "token": built.secrets["reset"],
            "new_password": "a long enough passphrase",
        },
        ("POST", "/api/w/{webcast_id}/embed/session"): {
            "token": everything.embed_token(built.secrets["embed"], built.webcast_id)
        },
        ("PUT", "/api/server/webcasts/{webcast_id}/participants"): {
            "email": helpers.unique_email("late")
        },
        ("POST", "/api/w/{webcast_id}/messages/{message_id}/votes"): {},
    }


# The server API answers a webcast that is not there as a wrong credential (401), by design.
NOT_THERE = {("PUT", "/api/server/webcasts/{webcast_id}/participants"): 401}
# The kinds of document a webcast's data is stored as: the one built has each of them.
EVERY_KIND = {
    *("webcast", "webcast-key", "slug", "form", "mail-templates", "webcast-links"),
    *("participant", "participant-login", "participant-session", "import-job", "job-marker"),
    *("message", "message-feed", "message-vote", "message-tally", "poll", "poll-vote"),
    *("poll-tally", "viewing", "attendance-report", "asset", "publication", "live-channel"),
    *("live-session", "stream-key", "handout", "embed-settings", "embed-keys"),
    "server-credential",
}
SOME_KINDS = {"webcast", "participant", "message", "message-vote", "poll-vote", "handout"}
DELETION_ROUTE = ("POST", "/api/webcasts/{webcast_id}/deletion")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> everything.Clips:
    return everything.clips(Path(tmp_path_factory.mktemp("deletion")))


@pytest.fixture
def quick_sweeps(stack: Any) -> Any:
    """A second sweep one second after the first (the longest job is one second long)."""
    with helpers.changed_settings(
        deletion_second_sweep_seconds=1, media_transcode_timeout_seconds=1
    ) as settings:
        yield settings


def _request_deletion(built: everything.Built) -> dict[str, Any]:
    url = f"/api/webcasts/{built.webcast_id}/deletion"
    job: dict[str, Any] = everything.ok(
        built.owner.post(url, json={"confirm_slug": built.slug}), 202
    )
    assert (job["webcast_id"], job["state"]) == (built.webcast_id, "queued")
    return job


def _run_deletion(
    owner: helpers.Admin, job_id: str, *, between_sweeps: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Run the deletion trigger until the job is done (its first step waits for the viewer
    caches, its second for the longest job); `between_sweeps` runs once the first is done."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        DELETION.runner.run_once()
        job: dict[str, Any] = everything.ok(owner.get(f"/api/deletions/{job_id}"))
        assert job["state"] != "failed", job
        if job["state"] == "waiting" and between_sweeps is not None:
            between_sweeps()
            between_sweeps = None
        if job["state"] == "done":
            return job
        time.sleep(0.3)
    raise AssertionError("the deletion did not finish")


def _nothing_left(webcast_id: str, store: dict[str, Any] | None = None) -> None:
    left = everything.leftovers(store or everything.whole_store(), webcast_id)
    assert left == {}, "\n".join(f"{name}: {hit}" for name, hits in left.items() for hit in hits)


def _about(store: dict[str, Any], marks: list[str]) -> dict[str, list[str]]:
    """What of a whole-store read names any of the marks: documents as JSON text, blobs as
    their names with their etags."""
    found: dict[str, set[str]] = {}
    for mark in marks:
        for name, hits in everything.naming(store, mark).items():
            texts = map(str, hits.items()) if isinstance(hits, dict) else hits
            found.setdefault(name, set()).update(texts)
    return {name: sorted(texts) for name, texts in found.items()}


def _assert_receipt(owner: helpers.Admin, job_id: str) -> dict[str, Any]:
    download = owner.get(f"/api/deletions/{job_id}/receipt")
    assert download.headers["content-disposition"].startswith("attachment"), download.headers
    receipt: dict[str, Any] = everything.ok(download)
    expected = {f"cosmos:{spec.name}" for spec in swept_containers()}
    expected |= {f"blob:{spec.name}" for spec in BLOB_CONTAINERS}
    for sweep in ("first_sweep", "second_sweep"):
        stores = receipt[sweep]["stores"]
        assert set(stores) == expected, sweep
        left = {name: count for name, count in stores.items() if count["remaining"]}
        assert left == {}, (sweep, left)
    assert receipt["state"] == "done" and receipt["backups_gone_by"] is not None
    return receipt


def _assert_audited(owner: helpers.Admin, built: everything.Built) -> None:
    [entry] = helpers.audit_entries(owner.tenant_id, action="webcast.delete")
    assert entry.entity_id == built.webcast_id
    counts = entry.store_counts or {}
    assert counts and all(len(count) == 4 and count[3] == 0 for count in counts.values())
    assert counts["cosmos:participants"][0] > 0, "the participants were counted"


def _route_ids(built: everything.Built) -> dict[str, str]:
    return (
        {
            "participant_id": "0" * 8,
            "poll_id": "0" * 8,
            "message_id": "0" * 8,
            "asset_id": "0" * 8,
            "handout_id": "0" * 8,
            "image_id": "0" * 8,
            "job_id": "0" * 8,
            "field_id": "privacy",
            "backup_id": "0" * 8,
            "session_id": "0" * 8,
            "language": "de",
            "rung": "240p",
            "file_format": "csv",
        }
        | built.ids
        | {"webcast_id": built.webcast_id}
    )


def _every_route_is_gone(built: everything.Built) -> None:
    """Every route of the webcast, admin side as its owner and viewer side as one of its
    signed-in viewers, answers 404 once the webcast is tombstoned."""
    ids = _route_ids(built)
    bodies = _bodies(ids) | VIEWER_BODIES | _viewer_route_bodies(built)
    viewer = built.viewers[0]
    server = {"Authorization": f"Bearer {built.secrets['credential']}"}
    answers: dict[tuple[str, str], tuple[int, str]] = {}
    for method, path in sorted(ROUTES):
        if "{webcast_id}" not in path or (method, path) == DELETION_ROUTE:
            continue
        caller: helpers.SessionClient = (
            viewer if path.startswith(("/api/w/", "/embed/", "/api/server/")) else built.owner
        )
        body = bodies.get((method, path))
        url = path.format(**ids)
        if path == playback.LIVE_PLAYLIST_PATH:
            # Signed as the live master names it: the signature holds, the webcast is gone.
            live = SimpleNamespace(webcast_id=ids["webcast_id"], session_id=ids["session_id"])
            url = playback.live_playlist_url(live, ids["rung"], moment=datetime.now(UTC))
        headers = server if path.startswith("/api/server/") else None
        response = caller.request(method, url, json=body, headers=headers)
        answers[(method, path)] = (response.status_code, response.text[:300])
    wrong = {
        f"{m} {p}": answer
        for (m, p), answer in answers.items()
        if answer[0] != NOT_THERE.get((m, p), 404)
    }
    assert wrong == {}, "\n".join(f"{route}: {answer}" for route, answer in wrong.items())


@pytest.mark.claim("P22")
def test_a_deleted_webcast_leaves_nothing_in_any_store_and_others_stay_as_they_were(
    quick_sweeps: Any, clips: everything.Clips, mail_sink: Any
) -> None:
    owner = helpers.new_owner("deleting")
    built = everything.webcast_with_everything(owner, clips)
    kept = everything.webcast_with_some(owner)
    stranger = everything.webcast_with_some(helpers.new_owner("bystander"))
    everything.settle()
    before = everything.whole_store()
    stores = everything.naming(before, built.webcast_id).keys()
    # Accounts, logins, sign-in throttles and the account's slug are the tenant's, not a
    # webcast's.
    expected = {f"cosmos:{spec.name}" for spec in swept_containers()}
    tenant_level = {"cosmos:tenants", "cosmos:logins", "cosmos:throttles", "cosmos:tenant_slugs"}
    assert stores >= expected - tenant_level
    # A backup ZIP waits in `restores` under the id of a webcast that exists only once the
    # ZIP is restored and deleted: no webcast being deleted holds one (an account can).
    assert stores >= {f"blob:{spec.name}" for spec in BLOB_CONTAINERS if spec.name != "restores"}
    assert everything.types_naming(before, built.webcast_id) >= EVERY_KIND
    others = [kept.webcast_id, stranger.webcast_id]
    others_before = _about(before, others)
    for other in others:
        assert everything.types_naming(before, other) >= SOME_KINDS, other

    job = _request_deletion(built)
    _every_route_is_gone(built)
    again = built.owner.post(
        f"/api/webcasts/{built.webcast_id}/deletion", json={"confirm_slug": built.slug}
    )
    assert (again.status_code, again.json()["id"]) == (202, job["id"]), "one job per webcast"
    _run_deletion(owner, job["id"])

    after = everything.whole_store()
    _nothing_left(built.webcast_id, after)
    assert _about(after, others) == others_before
    _assert_receipt(owner, job["id"])
    _assert_audited(owner, built)
    for url in built.handed_out:
        assert httpx.get(url, timeout=30).status_code in (403, 404), url


class Pause:
    """Holds a function, called for the webcast's work, until released: work caught
    mid-way. Other tests' work that comes first passes (the queues are shared)."""

    def __init__(self, webcast_id: str) -> None:
        self.webcast_id = webcast_id
        self.reached = threading.Event()
        self.go = threading.Event()

    def wrap(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def held(*args: Any, **kwargs: Any) -> Any:
            if self.webcast_id in repr((args, kwargs)):
                self.reached.set()
                assert self.go.wait(60), "never released"
            return real(*args, **kwargs)

        return held

    def run(self, one_pass: Callable[[], bool]) -> threading.Thread:
        """A thread that does passes of the work until it is held here (or has no more)."""

        def passes() -> None:
            while not self.reached.is_set() and one_pass():
                pass

        thread = threading.Thread(target=passes, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not self.reached.wait(0.1) and thread.is_alive():
            assert time.monotonic() < deadline, "the work never got here"
        assert self.reached.is_set(), "the work ended without being caught mid-way"
        return thread


@pytest.mark.claim("P22")
def test_work_still_running_during_the_deletion_leaves_nothing_after_the_second_sweep(
    quick_sweeps: Any, clips: everything.Clips, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = helpers.new_owner("deleting-busy")
    built = everything.new_webcast(owner, "Busy")
    everything.add_viewer_data(built)
    everything.settle()
    # A transcode waits for the worker, an import of many rows for its trigger, heartbeats
    # for theirs.
    asset_id = everything.add_video(built, clips.upload)
    everything.MEDIA_EVENTS.runner.run_once()
    base = f"/api/webcasts/{built.webcast_id}"
    queued = queue_client(TRANSCODE_QUEUE).peek_messages(max_messages=32)
    assert asset_id in str([message.content for message in queued]), "a transcode is queued"
    content = everything.csv_bytes([helpers.unique_email("row") for _ in range(50)])
    created = everything.ok(
        owner.post(f"{base}/imports", json={"filename": "big.csv", "size": len(content)}), 201
    )
    everything.put_blob(created["upload"], content)
    everything.IMPORTS.drain()
    start = {"mapping": {"E-Mail": "email", "Vorname": "first_name"}}
    importing = everything.ok(
        owner.post(f"{base}/imports/{created['job']['id']}/start", json=start), 202
    )
    assert importing["status"] not in ("done", "failed"), importing
    for viewer in built.viewers:
        heartbeat = {"mode": "vod", "position": 1.0, "asset_id": asset_id}
        everything.ok(viewer.post(f"/api/w/{built.webcast_id}/heartbeat", json=heartbeat), 202)
    # The worker has encoded and is about to upload, the import has read its file and is
    # about to write its first rows, when the deletion is requested; both go on after the
    # first sweep, as on a slow host, and the heartbeats' trigger runs only then.
    encoding, writing = Pause(built.webcast_id), Pause(built.webcast_id)
    monkeypatch.setattr(transcode, "_publish", encoding.wrap(transcode._publish))
    monkeypatch.setattr(import_worker, "import_participants", writing.wrap(import_participants))
    running = [
        encoding.run(lambda: worker.poll_once(everything.WORKER)),
        writing.run(lambda: everything.IMPORTS.runner.run_once().did_work),
    ]

    job = _request_deletion(built)
    for viewer in built.viewers:
        late = viewer.post(f"/api/w/{built.webcast_id}/heartbeat", json={"mode": "live"})
        assert late.status_code == 404, late.text

    def late_work() -> None:
        for pause in (encoding, writing):
            pause.go.set()
        for thread in running:
            thread.join(60)
        everything.settle()

    _run_deletion(owner, job["id"], between_sweeps=late_work)
    everything.settle()
    _nothing_left(built.webcast_id)
    _assert_receipt(owner, job["id"])


def _a_webcast_deletion(route: tuple[str, str], access: str) -> bool:
    return access == OWNER and (route == DELETION_ROUTE or route[1].startswith("/api/deletions/"))


@pytest.mark.claim("P22")
def test_only_the_owner_typing_the_slug_back_deletes(stack: Any) -> None:
    owner = helpers.new_owner("deleting-refused")
    built = everything.new_webcast(owner, "Refused")
    url = f"/api/webcasts/{built.webcast_id}/deletion"
    confirm = {"confirm_slug": built.slug}
    sub = helpers.new_subaccount(owner, list(Permission))
    everything.ok(
        owner.post("/api/support-grants", json={"scope": "full", "expires_at": _in(1)}), 201
    )
    _, support = helpers.new_support()
    everything.ok(support.post(f"/api/support/tenants/{owner.tenant_id}/enter"))
    assert support.get(f"/api/webcasts/{built.webcast_id}").status_code == 200, "a full grant"
    for refused in (sub, support):
        assert refused.post(url, json=confirm).status_code == 403
        for method, path in sorted(
            r for r, access in ROUTES.items() if _a_webcast_deletion(r, access)
        ):
            ids = {"webcast_id": built.webcast_id, "deletion_id": "0" * 8}
            body = confirm if (method, path) == DELETION_ROUTE else None
            answer = refused.request(method, path.format(**ids), json=body)
            assert answer.status_code == 403, (method, path, answer.status_code)
    mistyped = owner.post(url, json={"confirm_slug": built.slug + "x"})
    assert mistyped.status_code == 422, mistyped.text
    assert [e["field"] for e in mistyped.json()["errors"]] == ["confirm_slug"]
    assert owner.get(f"/api/webcasts/{built.webcast_id}").status_code == 200
    jobs = list(
        cosmos_container("deletions").query_items(
            "SELECT * FROM c WHERE c.tenant_id = @t",
            parameters=[{"name": "@t", "value": owner.tenant_id}],
            partition_key=owner.tenant_id,
        )
    )
    assert jobs == [], "no job"
    assert helpers.audit_entries(owner.tenant_id, action="webcast.deletion.start") == []
