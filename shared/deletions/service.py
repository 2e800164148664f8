"""Deleting a webcast project: the owner's request, the queued job and its receipt (P22).

The request tombstones the webcast (gone to every loader from then on) and queues the job.
The job's first step waits until every process's viewer cache has let the webcast go, then
sweeps every store; the second step, after the longest job that could still be writing,
sweeps and counts again, and writes the audit entry with both counts (decision 0047)."""

import logging
from datetime import datetime

from shared import cdn
from shared.audit import operations
from shared.audit.models import SYSTEM_ACTOR, Actor, RequestContext
from shared.auth.models import Principal
from shared.auth.permissions import require_owner
from shared.clients import queue_client
from shared.clock import now, utc_iso
from shared.config import get_settings
from shared.deletions import sweep
from shared.deletions.models import (
    DeletionJob,
    DeletionMessage,
    DeletionReason,
    DeletionRequest,
    DeletionState,
    DeletionView,
    Sweep,
)
from shared.deletions.repository import jobs
from shared.errors import DomainError, not_found, validation_error
from shared.webcasts.service import being_deleted, tombstone, viewer_cache_seconds

log = logging.getLogger("webcast.deletions")

QUEUE = "deletions"
# The first sweep waits until every process's cached copy of the webcast has expired, so
# that no viewer request still sees it as there.
CACHE_WAIT_SECONDS = int(viewer_cache_seconds()) + 1
# Azure Queue Storage keeps a message invisible for at most seven days.
MAX_VISIBILITY_SECONDS = 7 * 24 * 60 * 60


def _enqueue(job: DeletionJob, delay_seconds: int) -> None:
    message = DeletionMessage(tenant_id=job.tenant_id, job_id=job.id)
    queue_client(QUEUE).send_message(
        message.model_dump_json().encode(),
        visibility_timeout=max(0, min(delay_seconds, MAX_VISIBILITY_SECONDS)),
    )


def _resumed(job: DeletionJob) -> DeletionJob:
    """A failed job queued again at the step it failed in; any other job as it is."""
    if job.state != DeletionState.failed:
        return job
    job.state = DeletionState.waiting if job.first_sweep else DeletionState.queued
    job.failure = None
    job.updated_at = utc_iso()
    job = jobs.replace(tenant_id=job.tenant_id, item=job)
    _enqueue(job, 0)
    return job


def resume(*, tenant_id: str, job_id: str) -> DeletionJob | None:
    """Queue a failed job again (the operator's command after an outage)."""
    job = jobs.get(tenant_id=tenant_id, item_id=job_id)
    return None if job is None else _resumed(job)


def find(*, tenant_id: str, job_id: str) -> DeletionJob | None:
    """The job for the operator's status command."""
    return jobs.get(tenant_id=tenant_id, item_id=job_id)


def start(
    *,
    tenant_id: str,
    webcast_id: str,
    reason: DeletionReason,
    actor: Actor,
    context: RequestContext,
) -> DeletionJob | None:
    """Tombstone the webcast and queue its deletion; the job already running for it, if one
    is (a failed one is queued again). None when there is no such webcast."""
    webcast = being_deleted(tenant_id=tenant_id, webcast_id=webcast_id)
    if webcast is None:
        return None
    # One job per webcast, under the webcast's id: of requests that race, one creates it.
    running = jobs.get(tenant_id=tenant_id, item_id=webcast.id)
    if running is not None:
        return _resumed(running)
    moment = utc_iso()
    try:
        job = operations.create(
            jobs,
            tenant_id=tenant_id,
            item=DeletionJob(
                id=webcast.id,
                tenant_id=tenant_id,
                project_id=webcast.id,
                project_slug=webcast.slug,
                reason=reason,
                requested_by=actor,
                created_at=moment,
                updated_at=moment,
                backup_window_days=get_settings().deletion_backup_window_days,
            ),
            actor=actor,
            action="webcast.deletion.start",
            entity_type="webcast-deletion",
            changed_fields=["reason"],
            context=context,
        )
    except DomainError as error:
        if error.status != 409:
            raise
        raced = jobs.get(tenant_id=tenant_id, item_id=webcast.id)
        if raced is None:
            raise
        return raced
    tombstone(tenant_id=tenant_id, webcast_id=webcast.id, actor=actor, context=context)
    _enqueue(job, CACHE_WAIT_SECONDS)
    return job


def request_deletion(
    *, principal: Principal, webcast_id: str, data: DeletionRequest, context: RequestContext
) -> DeletionJob:
    """The customer owner's deletion of a webcast, confirmed by typing its slug back."""
    tenant_id = require_owner(principal)
    webcast = being_deleted(tenant_id=tenant_id, webcast_id=webcast_id)
    if webcast is None:
        raise not_found("Webcast")
    if data.confirm_slug != webcast.slug:
        raise validation_error("confirm_slug", "is not this webcast's slug")
    job = start(
        tenant_id=tenant_id,
        webcast_id=webcast.id,
        reason=DeletionReason.owner,
        actor=principal.actor,
        context=context,
    )
    if job is None:
        raise not_found("Webcast")
    return job


def _job_of(principal: Principal, job_id: str) -> DeletionJob:
    tenant_id = require_owner(principal)
    job = jobs.get(tenant_id=tenant_id, item_id=job_id)
    if job is None:
        raise not_found("Deletion")
    return job


def backups_gone_by(job: DeletionJob) -> str | None:
    """When the last backup or soft-deleted copy of the webcast's data has expired."""
    if job.finished_at is None:
        return None
    finished = datetime.fromisoformat(job.finished_at).timestamp()
    return utc_iso(finished + job.backup_window_days * 24 * 60 * 60)


def view(job: DeletionJob) -> DeletionView:
    return DeletionView.of(job, backups_gone_by(job))


def get_deletion(*, principal: Principal, job_id: str) -> DeletionView:
    return view(_job_of(principal, job_id))


def receipt(*, principal: Principal, job_id: str) -> DeletionView:
    """The receipt of a finished deletion (the same record; its download is the receipt)."""
    job = _job_of(principal, job_id)
    if job.state != DeletionState.done:
        raise not_found("Receipt")
    return view(job)


def _sweep(job: DeletionJob) -> Sweep:
    counts = sweep.sweep(tenant_id=job.tenant_id, webcast_id=job.project_id)
    return Sweep(at=utc_iso(), stores=counts)


def _first_step(job: DeletionJob) -> None:
    # The request tombstoned already; a job queued by a timer, or resumed, may not have.
    tombstone(
        tenant_id=job.tenant_id,
        webcast_id=job.project_id,
        actor=SYSTEM_ACTOR,
        context=RequestContext(),
    )
    job.first_sweep = _sweep(job)
    job.cdn_purged = cdn.purge_webcast(tenant_id=job.tenant_id, webcast_id=job.project_id)
    delay = get_settings().deletion_second_sweep_seconds
    job.second_sweep_due_at = utc_iso(now() + delay)
    job.state = DeletionState.waiting
    job.updated_at = utc_iso()
    saved = jobs.replace(tenant_id=job.tenant_id, item=job)
    _enqueue(saved, delay)


def _second_step(job: DeletionJob) -> None:
    job.second_sweep = _sweep(job)
    job.state = DeletionState.done
    job.finished_at = job.second_sweep.at
    job.updated_at = job.finished_at
    stored = jobs.replace(tenant_id=job.tenant_id, item=job)
    operations.record_event(
        tenant_id=job.tenant_id,
        actor=job.requested_by,
        action="webcast.delete",
        entity_type="webcast",
        entity_id=job.project_id,
        store_counts=_audit_counts(stored),
    )


def _audit_counts(job: DeletionJob) -> dict[str, list[int]]:
    """Per store: deleted and remaining after the first sweep, then after the second."""
    first = job.first_sweep.stores if job.first_sweep else {}
    second = job.second_sweep.stores if job.second_sweep else {}
    counts: dict[str, list[int]] = {}
    for name in sorted(set(first) | set(second)):
        one, two = first.get(name), second.get(name)
        counts[name] = [
            one.deleted if one else 0,
            one.remaining if one else 0,
            two.deleted if two else 0,
            two.remaining if two else 0,
        ]
    return counts


def run(*, message: DeletionMessage, final_attempt: bool = False) -> bool:
    """Do the step the job is due for; False when nothing is due (a repeated message)."""
    job = jobs.get(tenant_id=message.tenant_id, item_id=message.job_id)
    if job is None or job.state in (DeletionState.done, DeletionState.failed):
        return False
    try:
        if job.state == DeletionState.queued:
            _first_step(job)
            return True
        due = datetime.fromisoformat(job.second_sweep_due_at or utc_iso()).timestamp()
        if now() < due:
            # A message that came back early (a retry of the first step): wait again.
            _enqueue(job, int(due - now()) + 1)
            return False
        _second_step(job)
        return True
    except Exception as error:
        if not final_attempt:
            raise
        log.exception("deletion %s failed on its last attempt", job.id)
        latest = jobs.get(tenant_id=job.tenant_id, item_id=job.id)
        if latest is not None and latest.state != DeletionState.done:
            latest.state = DeletionState.failed
            latest.failure = (
                f"{type(error).__name__}: a step failed five times; "
                "requesting the deletion again resumes it"
            )
            latest.attempts += 1
            latest.updated_at = utc_iso()
            jobs.replace(tenant_id=latest.tenant_id, item=latest)
        return True
