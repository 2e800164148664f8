"""Render and send mails for queued jobs, once per job (ADR 0007).

The worker looks addresses up and mints every token (personal sign-in link, data link,
password reset) at send time, so a queue message holds no secret. A `jobs` marker under the
job's idempotency key makes a redelivered job send nothing.
"""

from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from shared import jobs
from shared.accounts.service import get_account, tenant_owner
from shared.accounts.signin import issue_reset_token
from shared.audit import operations
from shared.audit.models import SYSTEM_ACTOR
from shared.clock import now
from shared.config import get_settings
from shared.mail import invitations, reminders
from shared.mail.calendar import event_ics
from shared.mail.models import TemplateKind
from shared.mail.participant_reset import issue_token
from shared.mail.repository import get_templates
from shared.mail.templates import format_lead, format_time, render_kind, schedule_values
from shared.mail.transport import Attachment, OutgoingMail, deliver, send_smtp
from shared.mail_queue import JobKind, MailJob
from shared.participants.access import issue_link
from shared.participants.links import page_url, with_token
from shared.participants.models import Participant, ParticipantStatus
from shared.participants.self_service import issue_erasure_token, issue_privacy_token
from shared.participants.service import find_participant
from shared.webcasts.models import Language, Webcast
from shared.webcasts.service import find_in_tenant, is_gone


class PermanentMailError(Exception):
    """The job can never succeed (unknown kind); retrying would not help."""


def _password_reset(job: MailJob) -> OutgoingMail | None:
    if job.account_id is None:
        raise PermanentMailError("a password reset job needs an account id")
    account = get_account(tenant_id=job.tenant_id, account_id=job.account_id)
    if account is None or account.disabled or account.erased:
        return None
    s = get_settings()
    token = issue_reset_token(tenant_id=job.tenant_id, account_id=job.account_id)
    link = f"{s.public_base_url}/admin/#/password-reset?token={quote(token)}"
    return OutgoingMail(
        to=account.email,
        subject="Reset your password / Passwort zurücksetzen",
        text=(
            f"Hello {account.display_name},\n\n"
            f"to set a new password, open this link within "
            f"{s.password_reset_seconds // 60} minutes:\n{link}\n\n"
            "Your second factor (authenticator app) is still needed at the next sign-in.\n"
            "If you did not ask for this, ignore this mail.\n"
        ),
        key=job.idempotency_key,
    )


def _retention_notice(job: MailJob) -> OutgoingMail | None:
    """The owner's notice that a webcast is deleted at the end of its retention period."""
    if job.webcast_id is None or job.deletes_at is None:
        raise PermanentMailError("a retention notice needs a webcast id and a deletion date")
    webcast = find_in_tenant(tenant_id=job.tenant_id, webcast_id=job.webcast_id)
    owner = tenant_owner(job.tenant_id)
    if webcast is None or owner is None or owner.disabled or owner.erased:
        return None
    if webcast.retention_notice_for != job.deletes_at:
        return None  # the date moved (an extension): the notice of the new date is due later
    moment = _local(webcast, datetime.fromisoformat(job.deletes_at).timestamp())
    on_en, on_de = format_time(moment, Language.en), format_time(moment, Language.de)
    link = f"{get_settings().public_base_url}/admin/#/webcasts/{quote(webcast.id)}"
    return OutgoingMail(
        to=owner.email,
        subject=f"Your webcast will be deleted on {on_en} / Ihr Webcast wird am {on_de} gelöscht",
        text=(
            f"Hello {owner.display_name},\n\n"
            f'the retention period of the webcast "{webcast.title}" '
            f"({webcast.retention_days} days from its end) is ending. On {on_en} the webcast "
            "is deleted with all of its participant data, recordings and files; it cannot be "
            "restored.\n\n"
            f"To keep it longer, extend its retention period here:\n{link}\n\n"
            f'Die Aufbewahrungsfrist des Webcasts "{webcast.title}" endet. Am {on_de} '
            "wird er mit allen Teilnehmerdaten, Aufzeichnungen und Dateien unwiderruflich "
            f"gelöscht. Verlängern können Sie die Frist hier:\n{link}\n"
        ),
        key=job.idempotency_key,
    )


def _recipient(job: MailJob, *, confirmed_only: bool = False) -> tuple[Webcast, Participant] | None:
    """The webcast and the participant, if both still exist and the participant can get mail.

    Invitations and reminders skip unconfirmed self-registrations: their links would let the
    address's owner confirm a record someone else may have made (ADR 0020)."""
    if job.webcast_id is None or job.participant_id is None:
        raise PermanentMailError(f"a {job.kind} job needs a webcast and a participant id")
    webcast = find_in_tenant(tenant_id=job.tenant_id, webcast_id=job.webcast_id)
    participant = find_participant(
        tenant_id=job.tenant_id, webcast_id=job.webcast_id, participant_id=job.participant_id
    )
    if (
        webcast is None
        or participant is None
        or participant.status != ParticipantStatus.active
        or not participant.email
        or (confirmed_only and not participant.confirmed)
    ):
        return None
    return webcast, participant


def _compose(
    *,
    job: MailJob,
    webcast: Webcast,
    participant: Participant,
    kind: TemplateKind,
    values: dict[str, Any],
    calendar: bool = True,
) -> OutgoingMail:
    language = webcast.language
    stored = get_templates(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
    privacy_link = with_token(
        page_url(webcast.id, "/privacy"), issue_privacy_token(participant=participant)
    )
    rendered = render_kind(
        overrides=stored.templates,
        kind=kind,
        language=language,
        values={
            "name": participant.name,
            "webcast_title": webcast.title,
            **schedule_values(webcast.schedule, language),
            **values,
        },
        privacy_link=privacy_link,
    )
    ics = event_ics(webcast=webcast, url=page_url(webcast.id)) if calendar else None
    attachments = (
        (
            Attachment(
                "webcast.ics", "text", "calendar", ics, {"method": "PUBLISH", "charset": "utf-8"}
            ),
        )
        if ics
        else ()
    )
    assert participant.email is not None
    return OutgoingMail(
        to=participant.email,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        attachments=attachments,
        key=job.idempotency_key,
    )


def _sign_in_link(participant: Participant, *, single_use: bool, seconds: int | None) -> str:
    token = issue_link(participant=participant, single_use=single_use, lifetime=seconds)
    return with_token(page_url(participant.webcast_id), token)


def _local(webcast: Webcast, timestamp: float) -> datetime:
    zone = webcast.schedule.time_zone if webcast.schedule else "Europe/Berlin"
    return datetime.fromtimestamp(timestamp, tz=ZoneInfo(zone))


def _invitation(job: MailJob) -> OutgoingMail | None:
    found = _recipient(job, confirmed_only=True)
    if found is None:
        return None
    webcast, participant = found
    seconds = job.link_seconds or get_settings().participant_link_seconds
    link = _sign_in_link(participant, single_use=job.single_use, seconds=seconds)
    values = {
        "link": link,
        "single_use": job.single_use,
        "link_expires_at": format_time(_local(webcast, now() + seconds), webcast.language),
    }
    return _compose(
        job=job,
        webcast=webcast,
        participant=participant,
        kind=TemplateKind.invitation,
        values=values,
    )


def _confirmation(job: MailJob) -> OutgoingMail | None:
    found = _recipient(job)
    if found is None:
        return None
    webcast, participant = found
    values = {
        "link": _sign_in_link(participant, single_use=True, seconds=None),
        "registered_already": job.registered_already,
        "password_generated": participant.password_hash is None,
        "forgot_password_link": page_url(webcast.id, "/password-reset"),
    }
    return _compose(
        job=job,
        webcast=webcast,
        participant=participant,
        kind=TemplateKind.confirmation,
        values=values,
    )


def _reminder(job: MailJob) -> OutgoingMail | None:
    found = _recipient(job, confirmed_only=True)
    if found is None or job.reminder_lead is None:
        return None
    webcast, participant = found
    if reminders.planned_start(job) is None:
        return None
    if webcast.schedule is not None and webcast.schedule.ends_at.timestamp() <= now():
        return None  # over already (the queue was held up): no point reminding
    values = {
        "link": _sign_in_link(participant, single_use=True, seconds=None),
        "lead": format_lead(job.reminder_lead, webcast.language),
    }
    return _compose(
        job=job, webcast=webcast, participant=participant, kind=TemplateKind.reminder, values=values
    )


def _participant_password_reset(job: MailJob) -> OutgoingMail | None:
    found = _recipient(job)
    if found is None:
        return None
    webcast, participant = found
    token = issue_token(participant=participant)
    values = {
        "link": with_token(page_url(webcast.id, "/password-reset"), token),
        "valid_minutes": get_settings().password_reset_seconds // 60,
    }
    return _compose(
        job=job,
        webcast=webcast,
        participant=participant,
        kind=TemplateKind.password_reset,
        values=values,
        calendar=False,
    )


def _participant_erasure(job: MailJob) -> OutgoingMail | None:
    """The link that confirms an erasure asked for on the privacy page; it goes to disabled
    participants too (their rights do not end with their access)."""
    if job.webcast_id is None or job.participant_id is None:
        raise PermanentMailError("an erasure mail needs a webcast and a participant id")
    webcast = find_in_tenant(tenant_id=job.tenant_id, webcast_id=job.webcast_id)
    participant = find_participant(
        tenant_id=job.tenant_id, webcast_id=job.webcast_id, participant_id=job.participant_id
    )
    if webcast is None or participant is None or not participant.email:
        return None
    token = issue_erasure_token(participant=participant)
    values = {
        "link": f"{page_url(webcast.id, '/privacy')}#erase={quote(token, safe='')}",
        "valid_minutes": get_settings().participant_erasure_link_seconds // 60,
    }
    return _compose(
        job=job,
        webcast=webcast,
        participant=participant,
        kind=TemplateKind.erasure,
        values=values,
        calendar=False,
    )


_RENDERERS: dict[str, Callable[[MailJob], OutgoingMail | None]] = {
    JobKind.password_reset: _password_reset,
    JobKind.invitation: _invitation,
    JobKind.confirmation: _confirmation,
    JobKind.reminder: _reminder,
    JobKind.participant_password_reset: _participant_password_reset,
    JobKind.retention_notice: _retention_notice,
    JobKind.participant_erasure: _participant_erasure,
}
_FAN_OUTS: dict[str, Callable[[MailJob], int]] = {
    JobKind.invitation_batch: invitations.expand,
    JobKind.reminder_batch: reminders.expand,
}


def send(message: EmailMessage) -> None:
    """Send a ready MIME message over SMTP (local tools and tests)."""
    send_smtp(message)


def handle(job: MailJob) -> bool:
    """Send the job's mail unless it went out already; False when there is nothing to send.

    A batch job queues one job per participant and sends nothing itself. A job of a webcast
    that is gone (being deleted) ends here and leaves no marker behind it."""
    marker = f"mail:{job.idempotency_key}"
    if jobs.already_done(marker):
        return False
    if job.webcast_id is not None and is_gone(tenant_id=job.tenant_id, webcast_id=job.webcast_id):
        return False
    fan_out = _FAN_OUTS.get(job.kind)
    if fan_out is not None:
        fan_out(job)
        jobs.mark_done(marker, webcast_id=job.webcast_id)
        return False
    renderer = _RENDERERS.get(job.kind)
    if renderer is None:
        raise PermanentMailError(f"unknown mail kind {job.kind!r}")
    mail = renderer(job)
    if mail is not None:
        deliver(mail)
    jobs.mark_done(marker, webcast_id=job.webcast_id)
    if mail is not None and job.participant_id is not None:
        operations.record_event(
            tenant_id=job.tenant_id,
            actor=SYSTEM_ACTOR,
            action=f"mail.{job.kind}",
            entity_type="participant",
            entity_id=job.participant_id,
        )
    elif mail is not None and job.kind == JobKind.retention_notice and job.webcast_id:
        operations.record_event(
            tenant_id=job.tenant_id,
            actor=SYSTEM_ACTOR,
            action=f"mail.{job.kind}",
            entity_type="webcast",
            entity_id=job.webcast_id,
        )
    return mail is not None
