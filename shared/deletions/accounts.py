"""Deleting a whole customer account (P22, decision 0050).

The owner's request, confirmed by the account's name and the owner's password, tombstones
the tenant (nobody of it signs in from then on, every session of it ends, support cannot
enter) and queues the job on the `deletions` queue. Its first steps start a webcast deletion
(the same job as the owner's own) for every webcast, a page at a time; then it looks again
until every one of them is done, erases the tenant's accounts, grants, sessions, logins,
tokens and throttles through the accounts and auth features, sweeps whatever else of the
tenant a catalogued store holds, and counts what is left. The tenant's audit log and the
deletion records stay for `audit_retention_after_account_deletion_days`, then a timer purges
them. The owner keeps the receipt through a secret shown once in the answer to the request.
"""

import hmac
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from shared.accounts import closing
from shared.audit import operations
from shared.audit import privacy as audit_privacy
from shared.audit.models import PLATFORM_TENANT, SYSTEM_ACTOR, RequestContext
from shared.auth.models import Principal
from shared.clients import cosmos_container, queue_client
from shared.clock import now, utc_iso
from shared.config import get_settings
from shared.deletions import service
from shared.deletions.models import (
    AccountDeletionJob,
    AccountDeletionRequest,
    AccountDeletionState,
    AccountDeletionView,
    DeletionJob,
    DeletionKind,
    DeletionMessage,
    DeletionReason,
    DeletionState,
    StoreCount,
    Sweep,
)
from shared.deletions.repository import account_jobs, jobs
from shared.deletions.sweep import count_blobs, delete_documents, store_key, swept_containers
from shared.errors import DomainError, conflict, not_found
from shared.ids import new_secret_token, token_hash
from shared.participants import erasure_ledger, people_index
from shared.privacy.blobs import delete_prefix
from shared.stores import BLOB_CONTAINERS
from shared.webcasts.service import not_tombstoned_ids, tenant_has_webcasts

log = logging.getLogger("webcast.deletions.accounts")

# Webcast deletions started per step: each tombstones its webcast and queues its job.
WEBCASTS_PER_STEP = 50
# A deleted tenant's log and records, purged per timer run at most (the rest the next run).
PURGE_MAX_DOCUMENTS = 50_000
DAY_SECONDS = 24 * 60 * 60
# Everything of the tenant in a store: its own documents and admin sessions acting in it.
_OF_TENANT = "c.tenant_id = @t OR c.home_tenant_id = @t OR c.acting_tenant_id = @t"


def job_id_of(tenant_id: str) -> str:
    """One account deletion per tenant: a second request finds the first."""
    return f"account-deletion:{tenant_id}"


def _enqueue(job: AccountDeletionJob, delay_seconds: float) -> None:
    message = DeletionMessage(tenant_id=job.tenant_id, job_id=job.id, kind=DeletionKind.account)
    queue_client(service.QUEUE).send_message(
        message.model_dump_json().encode(),
        visibility_timeout=max(0, min(int(delay_seconds), service.MAX_VISIBILITY_SECONDS)),
    )


def request_deletion(
    *, principal: Principal, data: AccountDeletionRequest, context: RequestContext
) -> tuple[AccountDeletionJob, str]:
    """The owner's deletion of the whole customer account: the queued job and the receipt
    token (shown once). Everyone of the tenant is signed out, the owner too."""
    tenant = closing.confirm_deletion(
        principal=principal,
        confirm_name=data.confirm_name,
        password=data.password,
        context=context,
    )
    token = new_secret_token()
    moment = utc_iso()
    try:
        job = operations.create(
            account_jobs,
            tenant_id=tenant.tenant_id,
            item=AccountDeletionJob(
                id=job_id_of(tenant.tenant_id),
                tenant_id=tenant.tenant_id,
                requested_by=principal.actor,
                created_at=moment,
                updated_at=moment,
                backup_window_days=get_settings().deletion_backup_window_days,
                receipt_token_hash=token_hash(token),
            ),
            actor=principal.actor,
            action="account.deletion.start",
            entity_type="account-deletion",
            changed_fields=["state"],
            context=context,
        )
    except DomainError as error:
        if error.status == 409:
            raise conflict("This customer account is being deleted already") from error
        raise
    # Queued before the tenant closes: should closing fail, the job's first step closes it.
    _enqueue(job, 0)
    closing.close(tenant_id=tenant.tenant_id, job_id=job.id, actor=principal.actor, context=context)
    return job, token


def _later(finished_at: str | None, days: int) -> str | None:
    if finished_at is None:
        return None
    return utc_iso(datetime.fromisoformat(finished_at).timestamp() + days * DAY_SECONDS)


def view(job: AccountDeletionJob) -> AccountDeletionView:
    return AccountDeletionView(
        id=job.id,
        tenant_id=job.tenant_id,
        state=job.state,
        created_at=job.created_at,
        updated_at=job.updated_at,
        webcasts_started=job.webcasts_started,
        erasure=job.erasure,
        finished_at=job.finished_at,
        failure=job.failure,
        backup_window_days=job.backup_window_days,
        backups_gone_by=_later(job.finished_at, job.backup_window_days),
        audit_kept_until=job.audit_kept_until,
    )


def receipt(*, tenant_id: str, receipt_token: str | None) -> AccountDeletionView:
    """The deletion's state and counts for whoever holds its receipt token; 404 otherwise."""
    job = account_jobs.get(tenant_id=tenant_id, item_id=job_id_of(tenant_id))
    supplied = token_hash(receipt_token or "")
    if job is None or not hmac.compare_digest(supplied, job.receipt_token_hash):
        raise not_found("Account deletion")
    return view(job)


def _webcast_jobs_left(tenant_id: str) -> list[DeletionJob]:
    """The tenant's webcast deletions that have not finished."""
    return jobs.query(tenant_id=tenant_id, where="c.state != @done", parameters={"@done": "done"})


def _start_webcast_deletions(job: AccountDeletionJob) -> int:
    ids = not_tombstoned_ids(tenant_id=job.tenant_id, max_items=WEBCASTS_PER_STEP)
    for webcast_id in ids:
        service.start(
            tenant_id=job.tenant_id,
            webcast_id=webcast_id,
            reason=DeletionReason.account,
            actor=job.requested_by,
            context=RequestContext(),
        )
    job.webcasts_started += len(ids)
    return len(ids)


def _first_steps(job: AccountDeletionJob) -> None:
    # The request closes the tenant too; whichever comes first marks it.
    closing.close(
        tenant_id=job.tenant_id, job_id=job.id, actor=SYSTEM_ACTOR, context=RequestContext()
    )
    started = _start_webcast_deletions(job)
    if started < WEBCASTS_PER_STEP:
        job.state = AccountDeletionState.waiting
    job.updated_at = utc_iso()
    saved = account_jobs.replace(tenant_id=job.tenant_id, item=job)
    # The next page at once; the first look at the webcast deletions after their first step.
    _enqueue(saved, 0 if started == WEBCASTS_PER_STEP else service.CACHE_WAIT_SECONDS + 1)


def _wait_seconds(left: list[DeletionJob]) -> float:
    """Until the last running webcast deletion should have done its last step."""
    second_sweep = get_settings().deletion_second_sweep_seconds
    ends = [
        datetime.fromisoformat(running.second_sweep_due_at).timestamp()
        if running.second_sweep_due_at
        else datetime.fromisoformat(running.created_at).timestamp()
        + service.CACHE_WAIT_SECONDS
        + second_sweep
        for running in left
    ]
    return max([end - now() for end in ends] + [0.0]) + 1


def _when_webcasts_are_gone(job: AccountDeletionJob) -> bool:
    """Erase the tenant once every webcast deletion is done; else look again later."""
    # A webcast made while the request was closing the tenant gets its deletion too.
    _start_webcast_deletions(job)
    left = _webcast_jobs_left(job.tenant_id)
    failed = [running for running in left if running.state == DeletionState.failed]
    if failed:
        raise RuntimeError(f"{len(failed)} webcast deletions of the tenant failed")
    if not left and tenant_has_webcasts(job.tenant_id):
        # Tombstoned, yet no deletion runs for it: waiting would never end.
        raise RuntimeError("a webcast of the tenant is left without a running deletion")
    if left:
        job.checks += 1
        job.updated_at = utc_iso()
        saved = account_jobs.replace(tenant_id=job.tenant_id, item=job)
        _enqueue(saved, _wait_seconds(left))
        return False
    _erase(job)
    return True


def _parameters(tenant_id: str) -> list[dict[str, Any]]:
    return [{"name": "@t", "value": tenant_id}]


def _sweep_tenant(name: str, partition_key: str, tenant_id: str) -> int:
    """Delete what is left of the tenant in one container, whatever feature wrote it."""
    container = cosmos_container(name)
    field = partition_key.lstrip("/")
    text = f"SELECT c.id, c.{field} AS _pk FROM c WHERE {_OF_TENANT}"  # noqa: S608
    # Only the account deletion looks across a container's partitions for a tenant.
    found = container.query_items(  # nosemgrep: cosmos-query-without-partition-key
        text, parameters=_parameters(tenant_id), enable_cross_partition_query=True
    )
    return delete_documents(container, [(item["id"], item["_pk"]) for item in found])


def _count_tenant(name: str, tenant_id: str) -> int:
    text = f"SELECT VALUE COUNT(1) FROM c WHERE {_OF_TENANT}"  # noqa: S608
    container = cosmos_container(name)
    found: Iterator[Any] = container.query_items(  # nosemgrep: cosmos-query-without-partition-key
        text, parameters=_parameters(tenant_id), enable_cross_partition_query=True
    )
    return sum(int(count) for count in found)


def _erase(job: AccountDeletionJob) -> None:
    tenant_id = job.tenant_id
    erased = closing.erase(tenant_id=tenant_id, actor=job.requested_by)
    stores = {store_key("cosmos", name): StoreCount(deleted=n) for name, n in erased.items()}
    for spec in swept_containers():
        key = store_key("cosmos", spec.name)
        count = stores.setdefault(key, StoreCount())
        count.deleted += _sweep_tenant(spec.name, spec.partition_key, tenant_id)
        count.remaining = _count_tenant(spec.name, tenant_id)
    # The vendor's index names people by hash, not by tenant: the account is taken out.
    stores[store_key("cosmos", "people_index")] = StoreCount(
        deleted=people_index.forget_tenant(tenant_id),
        remaining=people_index.count_tenant(tenant_id),
    )
    for blob_spec in BLOB_CONTAINERS:
        stores[store_key("blob", blob_spec.name)] = StoreCount(
            deleted=delete_prefix(blob_spec.name, f"{tenant_id}/"),
            remaining=count_blobs(blob_spec.name, f"{tenant_id}/"),
        )
    moment = utc_iso()
    job.erasure = Sweep(at=moment, stores=stores)
    job.state = AccountDeletionState.done
    job.finished_at = moment
    job.updated_at = moment
    job.audit_kept_until = _later(
        moment, get_settings().audit_retention_after_account_deletion_days
    )
    account_jobs.replace(tenant_id=tenant_id, item=job)
    operations.record_event(
        tenant_id=tenant_id,
        actor=job.requested_by,
        action="account.delete",
        entity_type="tenant",
        entity_id=tenant_id,
        store_counts={name: [count.deleted, count.remaining] for name, count in stores.items()},
    )


def run(*, message: DeletionMessage, final_attempt: bool = False) -> bool:
    """Do the step the account deletion is due for; False when nothing was done."""
    job = account_jobs.get(tenant_id=message.tenant_id, item_id=message.job_id)
    if job is None or job.state in (AccountDeletionState.done, AccountDeletionState.failed):
        return False
    try:
        if job.state == AccountDeletionState.queued:
            _first_steps(job)
            return True
        return _when_webcasts_are_gone(job)
    except Exception as error:
        if not final_attempt:
            raise
        log.exception("account deletion %s failed on its last attempt", job.id)
        latest = account_jobs.get(tenant_id=job.tenant_id, item_id=job.id)
        if latest is not None and latest.state != AccountDeletionState.done:
            latest.state = AccountDeletionState.failed
            latest.failure = f"{type(error).__name__}: a step failed five times"
            latest.updated_at = utc_iso()
            account_jobs.replace(tenant_id=latest.tenant_id, item=latest)
        return True


def resume(*, tenant_id: str) -> AccountDeletionJob | None:
    """Queue a failed account deletion again, with its failed webcast deletions (the
    operator's command: nobody of the tenant can sign in any more)."""
    job = account_jobs.get(tenant_id=tenant_id, item_id=job_id_of(tenant_id))
    if job is None or job.state != AccountDeletionState.failed:
        return job
    for webcast_job in _webcast_jobs_left(tenant_id):
        service.resume(tenant_id=tenant_id, job_id=webcast_job.id)
    job.state = AccountDeletionState.queued
    job.failure = None
    job.updated_at = utc_iso()
    job = account_jobs.replace(tenant_id=tenant_id, item=job)
    _enqueue(job, 0)
    return job


def _due_for_purge(moment: str) -> list[AccountDeletionJob]:
    # Deleted tenants of every partition whose retention has ended: the timer alone asks.
    found = account_jobs.container.query_items(  # nosemgrep: cosmos-query-without-partition-key
        "SELECT * FROM c WHERE c.type = @type AND c.state = @done AND c.audit_kept_until <= @now",
        parameters=[
            {"name": "@type", "value": AccountDeletionJob.doc_type},
            {"name": "@done", "value": AccountDeletionState.done.value},
            {"name": "@now", "value": moment},
        ],
        enable_cross_partition_query=True,
    )
    return [AccountDeletionJob.model_validate(item) for item in found]


def _purge_records(job: AccountDeletionJob) -> int:
    """The tenant's deletion records, this account deletion's last of all."""
    records = jobs.query(tenant_id=job.tenant_id, include_blocked=True)
    deleted = sum(jobs.delete(tenant_id=job.tenant_id, item_id=record.id) for record in records)
    return deleted + account_jobs.delete(tenant_id=job.tenant_id, item_id=job.id)


def purge_expired_logs(*, max_documents: int = PURGE_MAX_DOCUMENTS) -> int:
    """Purge the audit logs and deletion records of deleted customer accounts whose
    retention has ended, up to `max_documents` per run; how many documents went. The
    platform's own log keeps one entry per purged tenant (ids and counts only)."""
    budget = max_documents
    purged = 0
    for job in _due_for_purge(utc_iso()):
        if budget <= 0:
            break
        deleted, left = audit_privacy.purge_tenant_log(job.tenant_id, max_items=budget)
        budget -= deleted
        purged += deleted
        job.audit_purged += deleted
        if left:
            job.updated_at = utc_iso()
            account_jobs.replace(tenant_id=job.tenant_id, item=job)
            continue
        records = _purge_records(job)
        ledger = erasure_ledger.purge_tenant(job.tenant_id, max_items=max(budget, 1))
        purged += records + ledger
        operations.record_event(
            tenant_id=PLATFORM_TENANT,
            actor=SYSTEM_ACTOR,
            action="account.audit_purge",
            entity_type="tenant",
            entity_id=job.tenant_id,
            store_counts={
                store_key("cosmos", "audit"): [job.audit_purged, 0],
                store_key("cosmos", "deletions"): [records, 0],
                store_key("cosmos", "erasures"): [ledger, 0],
            },
        )
    return purged
