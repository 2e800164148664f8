"""The one write path: the document first, then its entry; a failed append is never lost (P31)."""

import logging
import uuid

import pytest
from azure.core.exceptions import ServiceRequestError

from shared import clock
from shared.accounts.models import GrantScope, SupportGrant
from shared.accounts.repository import grants
from shared.audit import operations
from shared.audit import repository as audit_repository
from shared.audit import service as audit
from shared.audit.models import Actor, ActorKind, RequestContext
from shared.clock import utc_iso
from tests import helpers

OWNER = Actor(kind=ActorKind.owner, id="a-owner", role="owner")


def _grant(tenant_id: str) -> SupportGrant:
    return SupportGrant(
        id=uuid.uuid4().hex,
        tenant_id=tenant_id,
        scope=GrantScope.read_only,
        expires_at=utc_iso(clock.now() + 3600),
        created_at=utc_iso(),
        created_by="a-owner",
    )


def _create(tenant_id: str) -> SupportGrant:
    return operations.create(
        grants,
        tenant_id=tenant_id,
        item=_grant(tenant_id),
        actor=OWNER,
        action="support_grant.create",
        entity_type="support_grant",
        changed_fields=["scope", "expires_at"],
        context=RequestContext(request_id="r-ops", client_ip="198.51.100.7"),
    )


def _pending(tenant_id: str) -> list[str]:
    return [
        p.entity_id or ""
        for p in audit_repository.pending.iterate(
            tenant_id=tenant_id, partition_key=operations.pending_partition(tenant_id)
        )
    ]


def _failing_appends(monkeypatch: pytest.MonkeyPatch, failures: int) -> list[str]:
    """The audit append boundary fails `failures` times, then works; the calls it saw."""
    real = audit.record
    calls: list[str] = []

    def append(**fields: object) -> object:
        calls.append(str(fields["action"]))
        if len(calls) <= failures:
            raise ServiceRequestError("the audit container is unreachable")
        return real(**fields)  # type: ignore[arg-type]

    monkeypatch.setattr(audit, "record", append)
    return calls


@pytest.mark.claim("P31")
def test_a_passing_append_after_a_retry_leaves_nothing_pending(stack, monkeypatch):
    tenant_id = f"t-{uuid.uuid4().hex}"
    calls = _failing_appends(monkeypatch, failures=1)
    grant = _create(tenant_id)
    assert calls == ["support_grant.create", "support_grant.create"]
    assert grants.get(tenant_id=tenant_id, item_id=grant.id) is not None
    [entry] = helpers.audit_entries(tenant_id)
    assert (entry.entity_id, entry.changed_fields) == (grant.id, ["expires_at", "scope"])
    assert _pending(tenant_id) == []


@pytest.mark.claim("P31")
def test_an_append_that_keeps_failing_is_parked_and_replayed_with_its_time(stack, monkeypatch):
    tenant_id = f"t-{uuid.uuid4().hex}"
    calls = _failing_appends(monkeypatch, failures=operations.APPEND_ATTEMPTS)
    written_at = utc_iso()
    grant = _create(tenant_id)
    # The write stands, the entry waits in the outbox: nothing is in the log yet.
    assert len(calls) == operations.APPEND_ATTEMPTS
    assert grants.get(tenant_id=tenant_id, item_id=grant.id) is not None
    assert helpers.audit_entries(tenant_id) == []
    assert _pending(tenant_id) == [grant.id]

    monkeypatch.undo()
    clock.advance(120)
    assert operations.replay_pending() >= 1
    [entry] = helpers.audit_entries(tenant_id)
    assert (entry.action, entry.entity_id, entry.actor_id) == (
        "support_grant.create",
        grant.id,
        "a-owner",
    )
    assert entry.at[:16] == written_at[:16] and entry.request_id == "r-ops"
    assert entry.client_ip == "198.51.100.7"
    assert _pending(tenant_id) == []
    assert audit.verify(tenant_id=tenant_id, since=written_at[:10]).ok
    operations.replay_pending()
    assert helpers.audit_entries(tenant_id) == [entry]


@pytest.mark.claim("P31")
def test_an_entry_neither_log_nor_outbox_takes_fails_the_call_and_stays_in_the_log(
    stack, monkeypatch, caplog
):
    tenant_id = f"t-{uuid.uuid4().hex}"
    _failing_appends(monkeypatch, failures=operations.APPEND_ATTEMPTS)

    def refuse(**_: object) -> None:
        raise ServiceRequestError("the audit container is unreachable")

    monkeypatch.setattr(audit_repository.pending, "create", refuse)
    with (
        caplog.at_level(logging.ERROR, logger="webcast.audit.operations"),
        pytest.raises(ServiceRequestError),
    ):
        _create(tenant_id)
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "support_grant.create" in line and tenant_id in line and "r-ops" in line
    assert "198.51" not in line


@pytest.mark.claim("P31")
def test_a_failed_write_logs_nothing(stack, monkeypatch):
    tenant_id = f"t-{uuid.uuid4().hex}"
    calls = _failing_appends(monkeypatch, failures=0)
    grant = _create(tenant_id)
    with pytest.raises(Exception, match="exists already"):
        operations.create(
            grants,
            tenant_id=tenant_id,
            item=grant.model_copy(update={"etag": None}),
            actor=OWNER,
            action="support_grant.create",
            entity_type="support_grant",
        )
    assert calls == ["support_grant.create"]
