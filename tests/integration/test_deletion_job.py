"""The deletion job's steps: resumable, idempotent, a visible failure (P22)."""

from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest

from shared import cli
from shared.audit.models import SYSTEM_ACTOR, RequestContext
from shared.deletions import service, sweep
from shared.deletions.models import DeletionMessage, DeletionReason
from shared.deletions.repository import jobs
from tests import helpers


def _message(job_id: str, tenant_id: str) -> DeletionMessage:
    return DeletionMessage(tenant_id=tenant_id, job_id=job_id)


@pytest.mark.claim("P22")
def test_a_step_that_fails_five_times_leaves_a_failed_job_that_a_new_request_resumes(stack, capsys):
    owner = helpers.new_owner("deletion-steps")
    webcast_id = helpers.new_webcast(owner, title="Steps")
    slug = owner.get(f"/api/webcasts/{webcast_id}").json()["slug"]
    added = owner.post(
        f"/api/webcasts/{webcast_id}/participants", json={"email": helpers.unique_email("p")}
    )
    assert added.status_code == 201, added.text

    requested = owner.post(f"/api/webcasts/{webcast_id}/deletion", json={"confirm_slug": slug})
    assert requested.status_code == 202, requested.text
    job = requested.json()
    assert job["state"] == "queued"
    assert owner.get(f"/api/webcasts/{webcast_id}").status_code == 404
    message = _message(job["id"], owner.tenant_id)

    broken = mock.patch.object(sweep, "sweep", side_effect=RuntimeError("store unreachable"))
    with broken, pytest.raises(RuntimeError):
        service.run(message=message)
    with broken:
        assert service.run(message=message, final_attempt=True)
    failed = owner.get(f"/api/deletions/{job['id']}").json()
    assert failed["state"] == "failed"
    assert "RuntimeError" in failed["failure"]
    assert owner.get(f"/api/deletions/{job['id']}/receipt").status_code == 404
    ids = ["--tenant-id", owner.tenant_id, "--deletion-id", job["id"]]
    assert cli.main(["deletion-status", *ids]) == 0
    assert "state:      failed" in capsys.readouterr().out
    assert cli.main(["resume-deletion", "--tenant-id", "other", "--deletion-id", job["id"]]) == 1

    again = owner.post(f"/api/webcasts/{webcast_id}/deletion", json={"confirm_slug": slug})
    assert again.status_code == 202, again.text
    assert again.json()["id"] == job["id"]
    assert again.json()["state"] == "queued"

    with helpers.changed_settings(deletion_second_sweep_seconds=3600):
        assert service.run(message=message)
        # The first step's message delivered twice: the job waits, nothing runs twice.
        assert not service.run(message=message)
    waiting = owner.get(f"/api/deletions/{job['id']}").json()
    assert waiting["state"] == "waiting"
    first = waiting["first_sweep"]["stores"]
    assert first["cosmos:participants"]["deleted"] >= 1
    assert first["cosmos:webcasts"]["deleted"] >= 2  # the webcast and its slug
    assert all(count["remaining"] == 0 for count in first.values())

    # The second step's time has come (its message waited the setting's hour).
    stored = jobs.get(tenant_id=owner.tenant_id, item_id=job["id"])
    assert stored is not None
    stored.second_sweep_due_at = stored.updated_at
    jobs.replace(tenant_id=owner.tenant_id, item=stored)
    assert service.run(message=message)
    assert not service.run(message=message)
    receipt = owner.get(f"/api/deletions/{job['id']}/receipt")
    assert receipt.status_code == 200, receipt.text
    assert receipt.headers["content-disposition"].startswith("attachment")
    body = receipt.json()
    assert body["state"] == "done"
    assert body["backups_gone_by"] > body["finished_at"]
    assert all(count["remaining"] == 0 for count in body["second_sweep"]["stores"].values())
    entries = helpers.audit_entries(owner.tenant_id, action="webcast.delete")
    assert [e.entity_id for e in entries] == [webcast_id]
    assert entries[0].store_counts is not None
    assert entries[0].store_counts["cosmos:participants"][0] >= 1
    assert cli.main(["deletion-status", *ids]) == 0
    assert "cosmos:participants: " in capsys.readouterr().out


@pytest.mark.claim("P22")
def test_a_system_deletion_of_a_missing_webcast_starts_nothing(stack):
    owner = helpers.new_owner("deletion-missing")
    assert (
        service.start(
            tenant_id=owner.tenant_id,
            webcast_id="no-such-webcast",
            reason=DeletionReason.retention,
            actor=SYSTEM_ACTOR,
            context=RequestContext(),
        )
        is None
    )


@pytest.mark.claim("P22")
def test_requests_that_race_make_one_job_and_a_mistyped_slug_makes_none(stack):
    owner = helpers.new_owner("deletion-race")
    webcast_id = helpers.new_webcast(owner, title="Race")
    slug = owner.get(f"/api/webcasts/{webcast_id}").json()["slug"]
    path = f"/api/webcasts/{webcast_id}/deletion"

    mistyped = owner.post(path, json={"confirm_slug": slug.upper()})
    assert mistyped.status_code == 422
    assert mistyped.json()["errors"][0]["field"] == "confirm_slug"
    assert owner.get(f"/api/webcasts/{webcast_id}").status_code == 200
    assert jobs.get(tenant_id=owner.tenant_id, item_id=webcast_id) is None

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: owner.post(path, json={"confirm_slug": slug}), range(16)))
    assert {answer.status_code for answer in answers} == {202}
    assert {answer.json()["id"] for answer in answers} == {webcast_id}
    started = helpers.audit_entries(owner.tenant_id, action="webcast.deletion.start")
    assert len(started) == 1
