"""Reminders before a webcast starts: a timer plans them, the mail queue sends them once.

Each lead time (WEBCAST_MAIL_REMINDER_LEAD_SECONDS, default 24 h and 1 h) is one reminder
kind. When a webcast's start is within a lead time, the timer queues one batch job for that
kind (a `jobs` marker keeps it from queueing it again), and the batch queues one job per
participant with the key `reminder:{webcast}:{lead}:{start}:{participant}`, so each
participant gets each kind once per start time. Participants who registered after a
reminder's window opened get no such reminder: their confirmation came moments ago.
"""

from datetime import UTC, datetime, timedelta

from shared import jobs
from shared.clock import now, utc_iso
from shared.config import get_settings
from shared.mail_queue import JobKind, MailJob, enqueue_job
from shared.participants.service import mailable_participants
from shared.webcasts.service import find_in_tenant, scheduled_between


def lead_for(remaining: float, leads: list[int]) -> int | None:
    """The reminder kind due now: the shortest lead time that the remaining time is within."""
    if remaining <= 0:
        return None
    return next((lead for lead in sorted(leads) if remaining <= lead), None)


def batch_key(*, webcast_id: str, lead: int, starts_at: datetime) -> str:
    return f"reminders:{webcast_id}:{lead}:{int(starts_at.timestamp())}"


def schedule_due(*, moment: float | None = None) -> int:
    """Queue the reminder batches that are due (timer, every 5 minutes); returns how many."""
    moment = now() if moment is None else moment
    leads = sorted({lead for lead in get_settings().mail_reminder_lead_seconds if lead > 0})
    if not leads:
        return 0
    queued = 0
    at = datetime.fromtimestamp(moment, tz=UTC)
    for webcast in scheduled_between(at, at + timedelta(seconds=leads[-1])):
        schedule = webcast.schedule
        lead = lead_for(schedule.starts_at.timestamp() - moment, leads)
        if lead is None:
            continue
        key = batch_key(webcast_id=webcast.id, lead=lead, starts_at=schedule.starts_at)
        planned = f"planned:{key}"
        if jobs.already_done(planned):
            continue
        enqueue_job(
            MailJob(
                kind=JobKind.reminder_batch,
                tenant_id=webcast.tenant_id,
                webcast_id=webcast.id,
                idempotency_key=key,
                reminder_lead=lead,
                starts_at=schedule.starts_at.isoformat(),
            )
        )
        jobs.mark_done(planned, webcast_id=webcast.id)
        queued += 1
    return queued


def planned_start(job: MailJob) -> datetime | None:
    """The start the reminder was planned for, if the webcast still starts then."""
    if job.webcast_id is None or job.starts_at is None:
        return None
    webcast = find_in_tenant(tenant_id=job.tenant_id, webcast_id=job.webcast_id)
    if webcast is None or webcast.schedule is None:
        return None
    planned = datetime.fromisoformat(job.starts_at)
    if webcast.schedule.starts_at != planned:
        return None  # moved: the new start time gets reminders of its own
    return planned


def expand(job: MailJob) -> int:
    """The batch job: one reminder job per participant who registered before the window."""
    starts_at = planned_start(job)
    if starts_at is None or job.webcast_id is None or job.reminder_lead is None:
        return 0
    opened = utc_iso(starts_at.timestamp() - job.reminder_lead)
    count = 0
    for participant in mailable_participants(
        tenant_id=job.tenant_id, webcast_id=job.webcast_id, created_until=opened
    ):
        enqueue_job(
            MailJob(
                kind=JobKind.reminder,
                tenant_id=job.tenant_id,
                webcast_id=job.webcast_id,
                participant_id=participant.id,
                idempotency_key=(
                    f"reminder:{job.webcast_id}:{job.reminder_lead}:"
                    f"{int(starts_at.timestamp())}:{participant.id}"
                ),
                reminder_lead=job.reminder_lead,
                starts_at=job.starts_at,
            )
        )
        count += 1
    return count
