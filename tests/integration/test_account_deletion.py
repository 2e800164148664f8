"""Deleting the whole customer account (P22, decision 0050): the owner alone, confirmed by
the account's name and the owner's password; every webcast through its own deletion job,
then the accounts, grants, sessions, logins and tokens; the audit log and the deletion
records stay for their retention period and are purged by a timer after it."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from unittest import mock

import httpx
import pytest
from fastapi.testclient import TestClient

from shared import cli, clock
from shared.auth.models import Permission
from shared.clients import blob_container_name, blob_service, cosmos_container
from shared.clock import utc_iso
from shared.deletions import accounts, service, sweep
from shared.deletions.models import DeletionMessage
from shared.stores import BLOB_CONTAINERS, COSMOS_CONTAINERS, cosmos_container_spec
from tests import helpers

DELETION = "/api/account/deletion"
JOB_STEPS = helpers.Triggers({"webcast_deletion"})
# What a deleted account leaves until its retention ends: ids and counts only.
KEPT = {"audit", "deletions"}


@cache
def _anonymous() -> TestClient:
    """One client without a session for the sign-in attempts and receipt reads."""
    return helpers.client()


def _stored(marks: list[str]) -> dict[str, dict[str, Any]]:
    """Every document of every catalogued container that names one of `marks`."""
    names = [f"@m{index}" for index in range(len(marks))]
    where = " OR ".join(f"CONTAINS(ToString(c), {name})" for name in names)
    parameters: list[dict[str, Any]] = [
        {"name": name, "value": mark} for name, mark in zip(names, marks, strict=True)
    ]

    def documents(name: str) -> dict[str, dict[str, Any]]:
        field = cosmos_container_spec(name).partition_key.removeprefix("/")
        return {
            f"{name}/{item['id']}@{item.get(field)}": item
            for item in cosmos_container(name).query_items(
                f"SELECT * FROM c WHERE {where}",  # noqa: S608 - fixed names, values as parameters
                parameters=parameters,
                enable_cross_partition_query=True,
            )
        }

    found: dict[str, dict[str, Any]] = {}
    with ThreadPoolExecutor(max_workers=8) as pool:
        for part in pool.map(documents, [spec.name for spec in COSMOS_CONTAINERS]):
            found |= part
    return found


def _blobs(tenant_id: str) -> list[str]:
    return [
        f"{spec.name}/{name}"
        for spec in BLOB_CONTAINERS
        for name in blob_service()
        .get_container_client(blob_container_name(spec.name))
        .list_blob_names(name_starts_with=f"{tenant_id}/")
    ]


def _in(hours: float) -> str:
    return (datetime.fromtimestamp(clock.now(), UTC) + timedelta(hours=hours)).isoformat()


def _signs_in(email: str) -> int:
    answer = _anonymous().post(
        "/api/auth/login", json={"email": email, "password": helpers.PASSWORD}
    )
    return answer.status_code


def _receipt(tenant_id: str, token: str | None) -> httpx.Response:
    headers = {"X-Receipt-Token": token} if token is not None else {}
    return _anonymous().get(f"/api/account-deletions/{tenant_id}", headers=headers)


def _fields(answer: httpx.Response) -> list[str]:
    return [problem["field"] for problem in answer.json()["errors"]]


@pytest.mark.claim("P22")
def test_the_owner_deletes_the_account_and_only_the_audit_log_stays_for_its_period(stack):
    owner = helpers.new_owner("closing")
    name = "Customer closing"
    webcasts = [helpers.new_webcast(owner), helpers.new_webcast(owner)]
    added = owner.post(
        f"/api/webcasts/{webcasts[0]}/participants", json={"email": helpers.unique_email("p")}
    )
    assert added.status_code == 201, added.text
    viewer = helpers.client()
    assert viewer.post(f"/api/w/{webcasts[1]}/enter").status_code == 200
    profile = {"legal_name": name, "postal_address": "Street 1", "contact_email": owner.email}
    assert owner.request("PUT", "/api/account/controller", json=profile).status_code == 200
    sub = helpers.new_subaccount(owner, list(Permission))
    grant = owner.post("/api/support-grants", json={"scope": "full", "expires_at": _in(1)})
    assert grant.status_code == 201, grant.text
    support_account, support = helpers.new_support()
    assert support.post(f"/api/support/tenants/{owner.tenant_id}/enter").status_code == 200
    marks = [owner.tenant_id, *webcasts]
    confirmed = {"confirm_name": name, "password": helpers.PASSWORD}

    # Neither a sub-account with every permission nor support under a full grant may.
    assert sub.post(DELETION, json=confirmed).status_code == 403
    assert support.post(DELETION, json=confirmed).status_code == 403
    # A mistyped name or a wrong password is refused, naming the field, and deletes nothing.
    before = {k for k in _stored(marks) if not k.startswith(("audit/", "sessions/"))}
    wrong_name = owner.post(DELETION, json=confirmed | {"confirm_name": "Customer closin"})
    assert wrong_name.status_code == 422 and _fields(wrong_name) == ["confirm_name"]
    wrong_password = owner.post(DELETION, json=confirmed | {"password": "not the password"})
    assert wrong_password.status_code == 422 and _fields(wrong_password) == ["password"]
    assert {k for k in _stored(marks) if not k.startswith(("audit/", "sessions/"))} == before
    assert owner.get("/api/webcasts").status_code == 200

    with helpers.changed_settings(
        deletion_second_sweep_seconds=1,
        media_transcode_timeout_seconds=1,
        audit_retention_after_account_deletion_days=1,
    ):
        started = owner.post(DELETION, json=confirmed)
        assert started.status_code == 202, started.text
        body = started.json()
        assert body["id"] == accounts.job_id_of(owner.tenant_id)
        token = body["receipt_token"]

        # From this moment nobody of the tenant signs in or acts, and support cannot enter.
        for admin in (owner, sub, support):
            assert admin.get("/api/webcasts").status_code == 401
        assert _signs_in(owner.email) == 401
        assert _signs_in(sub.email) == 401
        support = helpers.sign_in(support.email, helpers.PASSWORD, support.secret)
        assert support.post(f"/api/support/tenants/{owner.tenant_id}/enter").status_code == 403
        # The receipt is for the holder of its token alone.
        assert _receipt(owner.tenant_id, None).status_code == 404
        assert _receipt(owner.tenant_id, token[:-1] + "x").status_code == 404
        assert _receipt(owner.tenant_id, token).status_code == 200

        deadline = time.monotonic() + 30
        while _receipt(owner.tenant_id, token).json()["state"] != "done":
            assert time.monotonic() < deadline, _receipt(owner.tenant_id, token).json()
            JOB_STEPS.passes(1)
            time.sleep(0.5)
        receipt = _receipt(owner.tenant_id, token).json()
        assert receipt["webcasts_started"] == 2
        assert {s: c["remaining"] for s, c in receipt["erasure"]["stores"].items()} == {
            s: 0 for s in receipt["erasure"]["stores"]
        }
        assert receipt["audit_kept_until"] > utc_iso(clock.now() + 23 * 60 * 60)

        left = _stored(marks)
        assert {key.split("/")[0] for key in left} == KEPT
        webcast_jobs = {
            item["project_id"]: (item["reason"], item["state"])
            for item in left.values()
            if item.get("type") == "webcast-deletion"
        }
        assert webcast_jobs == {webcast: ("account", "done") for webcast in webcasts}
        assert _blobs(owner.tenant_id) == []
        assert _signs_in(owner.email) == 401
        assert helpers.client().get("/api/w/" + webcasts[1]).status_code == 404

        # The log stays until its period has ended; the timer purges it only then.
        accounts.purge_expired_logs()
        assert {key.split("/")[0] for key in _stored(marks)} == KEPT
        period = 24 * 60 * 60 + 60
        clock.advance(period)
        try:
            assert accounts.purge_expired_logs() >= len(left)
        finally:
            clock.advance(-period)
    remains = list(_stored(marks).values())
    # The platform's own log says that the purge happened (ids and counts only).
    assert [(item["tenant_id"], item["action"]) for item in remains] == [
        ("_platform", "account.audit_purge")
    ]
    assert support_account.tenant_id == "_platform"
    assert _receipt(owner.tenant_id, token).status_code == 404


@pytest.mark.claim("P22")
def test_a_failed_account_deletion_is_visible_and_the_operator_resumes_it(stack, capsys):
    owner = helpers.new_owner("closing-failed")
    webcast_id = helpers.new_webcast(owner, title="Stays a moment")
    name = "Customer closing-failed"  # helpers.new_owner names the customer so
    account_step = DeletionMessage(
        tenant_id=owner.tenant_id, job_id=accounts.job_id_of(owner.tenant_id), kind="account"
    )
    webcast_step = DeletionMessage(tenant_id=owner.tenant_id, job_id=webcast_id)
    with helpers.changed_settings(
        deletion_second_sweep_seconds=1, media_transcode_timeout_seconds=1
    ):
        started = owner.post(DELETION, json={"confirm_name": name, "password": helpers.PASSWORD})
        assert started.status_code == 202, started.text
        token = started.json()["receipt_token"]
        assert accounts.run(message=account_step)  # starts the webcast's deletion
        broken = mock.patch.object(sweep, "sweep", side_effect=RuntimeError("store unreachable"))
        with broken:
            assert service.run(message=webcast_step, final_attempt=True)
        time.sleep(1.1)
        accounts.run(message=account_step, final_attempt=True)
        failed = _receipt(owner.tenant_id, token).json()
        assert failed["state"] == "failed", failed

        assert cli.main(["resume-account-deletion", "--tenant-id", owner.tenant_id]) == 0
        assert "state:            queued" in capsys.readouterr().out
        assert cli.main(["resume-account-deletion", "--tenant-id", "no-such-tenant"]) == 1
        assert service.run(message=webcast_step)
        time.sleep(1.1)
        assert service.run(message=webcast_step)
        deadline = time.monotonic() + 20
        while _receipt(owner.tenant_id, token).json()["state"] != "done":
            assert time.monotonic() < deadline, _receipt(owner.tenant_id, token).json()
            accounts.run(message=account_step)
            time.sleep(0.5)
    assert _blobs(owner.tenant_id) == []
    assert _signs_in(owner.email) == 401
