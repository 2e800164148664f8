"""The retention timer's job (P21, decision 0049): a webcast's retention counts from its end;
the owner is told `notice lead` before the deletion, and the deletion waits at least that long
after the notice; participant data with a shorter retention is erased earlier, after the
attendance report is frozen and the poll answers are folded into their tallies.

It spans features (webcasts, live, media, mail, deletions and every participant-side store),
so it lives here; the timer function only calls `run`."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from shared.audit.models import SYSTEM_ACTOR, RequestContext
from shared.auth import privacy as auth_privacy
from shared.auth.models import Principal
from shared.clock import now, utc_iso
from shared.composition.subject_requests import erase_ended_holds
from shared.config import get_settings
from shared.deletions import service as deletions
from shared.deletions.models import DeletionReason
from shared.live.service import sessions_end
from shared.mail_queue import JobKind, MailJob, enqueue_job
from shared.media.service import last_published_at
from shared.messages import privacy as messages_privacy
from shared.participants import privacy as participants_privacy
from shared.participants import sessions as viewer_sessions
from shared.participants.imports import privacy as import_privacy
from shared.polls import privacy as polls_privacy
from shared.privacy.models import DataSubject
from shared.tracking import privacy as tracking_privacy
from shared.tracking.reports import freeze_report
from shared.webcasts import service as webcasts
from shared.webcasts.models import RetentionExtension, RetentionView, Webcast

log = logging.getLogger("webcast.retention")

DAY_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class Retention:
    """A webcast's dates, as timestamps: its end, its deletion and the notice's lead."""

    ended_at: float
    deletes_at: float
    notice_lead: float
    participant_data_erases_at: float | None

    @property
    def notice_at(self) -> float:
        return self.deletes_at - self.notice_lead


def _timestamp(moment: str) -> float:
    return datetime.fromisoformat(moment).timestamp()


def ended_at(webcast: Webcast, *, at: float) -> float:
    """The schedule's end, else the last live session's end (`at` while one is running),
    else the later of the creation and the last publication of the VOD."""
    if webcast.schedule is not None:
        return webcast.schedule.ends_at.timestamp()
    live = sessions_end(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
    if live.running:
        return at
    if live.last_ended_at is not None:
        return _timestamp(live.last_ended_at)
    published = last_published_at(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
    created = _timestamp(webcast.created_at)
    return max(created, _timestamp(published)) if published else created


def notice_lead(retention_days: int) -> float:
    """min(N days, half the retention period), in seconds."""
    return min(get_settings().retention_notice_days, retention_days / 2) * DAY_SECONDS


def retention_of(webcast: Webcast, *, at: float) -> Retention:
    end = ended_at(webcast, at=at)
    shorter = webcast.participant_retention_days
    return Retention(
        ended_at=end,
        deletes_at=end + webcast.retention_days * DAY_SECONDS,
        notice_lead=notice_lead(webcast.retention_days),
        participant_data_erases_at=end + shorter * DAY_SECONDS if shorter else None,
    )


def view(webcast: Webcast, *, at: float | None = None) -> RetentionView:
    dates = retention_of(webcast, at=now() if at is None else at)
    erases = dates.participant_data_erases_at
    return RetentionView(
        webcast_id=webcast.id,
        retention_days=webcast.retention_days,
        participant_retention_days=webcast.participant_retention_days,
        ended_at=utc_iso(dates.ended_at),
        deletes_at=utc_iso(dates.deletes_at),
        notice_at=utc_iso(dates.notice_at),
        notice_sent_for=webcast.retention_notice_for,
        participant_data_erases_at=utc_iso(erases) if erases is not None else None,
        participant_data_erased_at=webcast.participant_data_erased_at,
    )


def read_retention(*, principal: Principal, webcast_id: str) -> RetentionView:
    return view(webcasts.get_webcast(principal=principal, webcast_id=webcast_id))


def extend_retention(
    *,
    principal: Principal,
    webcast_id: str,
    data: RetentionExtension,
    context: RequestContext,
) -> RetentionView:
    """The owner's extension; the notice of the new date is due before it (a new one)."""
    return view(
        webcasts.extend_retention(
            principal=principal, webcast_id=webcast_id, data=data, context=context
        )
    )


def _erase_tokens(subject: DataSubject) -> None:
    auth_privacy.erase_tokens(subject=subject)


def erase_participant_data(webcast: Webcast, *, budget: int) -> bool:
    """Freeze the aggregate report, then erase up to `budget` participant-side documents of
    the webcast; True once nothing is left (a later run continues otherwise)."""
    freeze_report(webcast)
    left = budget
    tenant, webcast_id = webcast.tenant_id, webcast.id
    steps: tuple[Callable[[int], int], ...] = (
        lambda limit: tracking_privacy.erase_webcast_viewings(
            tenant_id=tenant, webcast_id=webcast_id, limit=limit
        ),
        lambda limit: polls_privacy.erase_webcast_answers(
            tenant_id=tenant, webcast_id=webcast_id, limit=limit
        ),
        lambda limit: messages_privacy.erase_webcast_senders(webcast=webcast, limit=limit),
        lambda limit: participants_privacy.erase_webcast_participants(
            tenant_id=tenant, webcast_id=webcast_id, limit=limit, erase_tied_data=_erase_tokens
        ),
    )
    for step in steps:
        left -= step(left)
        if left <= 0:
            return False
    # Pseudonymous viewer sessions hold the webcast's grant too; import files name people.
    viewer_sessions.revoke_webcast(webcast_id)
    import_privacy.erase_sources(subject=DataSubject(tenant_id=tenant, webcast_id=webcast_id))
    return True


class RetentionRun(BaseModel):
    """What one run of the timer did."""

    webcasts: int = 0
    notices: int = 0
    deletions: int = 0
    participant_erasures: int = 0
    hold_erasures: int = 0  # blocked records whose hold ended, erased (P24)
    failures: int = 0


def _queue_notice(webcast: Webcast, deletes_at: str) -> None:
    enqueue_job(
        MailJob(
            kind=JobKind.retention_notice,
            tenant_id=webcast.tenant_id,
            webcast_id=webcast.id,
            deletes_at=deletes_at,
            idempotency_key=f"retention-notice:{webcast.id}:{deletes_at}",
        )
    )


def _participant_data_left(webcast: Webcast) -> bool:
    """Not erased yet, or someone registered after the erasure (the webcast is still open)."""
    return webcast.participant_data_erased_at is None or participants_privacy.has_participants(
        tenant_id=webcast.tenant_id, webcast_id=webcast.id
    )


def _serve(webcast: Webcast, at: float, result: RetentionRun) -> None:
    dates = retention_of(webcast, at=at)
    erases_at = dates.participant_data_erases_at
    if (
        erases_at is not None
        and at >= erases_at
        and _participant_data_left(webcast)
        and erase_participant_data(webcast, budget=get_settings().retention_erase_batch)
    ):
        webcast = webcasts.record_participant_erasure(webcast=webcast, erased_at=utc_iso(at))
        result.participant_erasures += 1
    if at < dates.notice_at:
        return
    deletes_at = utc_iso(dates.deletes_at)
    if webcast.retention_notice_for != deletes_at or webcast.retention_notice_at is None:
        # The mark first: the mail worker sends only a notice of the date marked.
        webcasts.record_retention_notice(
            webcast=webcast, deletes_at=deletes_at, noticed_at=utc_iso(at)
        )
        _queue_notice(webcast, deletes_at)
        result.notices += 1
        return
    # The deletion comes a full lead after the notice, even when the notice went out late.
    if at < max(dates.deletes_at, _timestamp(webcast.retention_notice_at) + dates.notice_lead):
        # Queued again on every run until then (sent once, by its key): a run that stopped
        # between the mark and the queue loses no notice.
        _queue_notice(webcast, deletes_at)
        return
    deletions.start(
        tenant_id=webcast.tenant_id,
        webcast_id=webcast.id,
        reason=DeletionReason.retention,
        actor=SYSTEM_ACTOR,
        context=RequestContext(),
    )
    result.deletions += 1


def run(*, at: float | None = None, tenant_id: str | None = None) -> RetentionRun:
    """Serve every webcast (of every tenant, or of one), a page at a time: notices, deletions
    and participant erasures that are due at `at` (now by default)."""
    moment = now() if at is None else at
    result = RetentionRun()
    continuation: str | None = None
    while True:
        page = webcasts.live_webcasts_page(
            max_items=get_settings().retention_page_size,
            continuation=continuation,
            tenant_id=tenant_id,
        )
        for webcast in page.items:
            result.webcasts += 1
            try:
                _serve(webcast, moment, result)
            except Exception:
                # One webcast's failure must not hold up the others; the next run retries it.
                log.exception("retention of webcast %s failed", webcast.id)
                result.failures += 1
        continuation = page.continuation
        if continuation is None:
            result.hold_erasures = erase_ended_holds(at=moment)
            return result
