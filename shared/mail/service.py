"""Render and send mails for queued jobs, once per job."""

import smtplib
from email.message import EmailMessage
from urllib.parse import quote

from shared import jobs
from shared.accounts.repository import accounts
from shared.config import get_settings
from shared.mail.models import MailJob


class PermanentMailError(Exception):
    """The job can never succeed (unknown kind); retrying would not help."""


def _password_reset(job: MailJob) -> EmailMessage | None:
    from shared.auth.service import issue_reset_token

    account = accounts.get(tenant_id=job.tenant_id, item_id=job.account_id)
    if account is None or account.disabled or account.erased:
        return None
    s = get_settings()
    token = issue_reset_token(tenant_id=job.tenant_id, account_id=job.account_id)
    link = f"{s.public_base_url}/admin/#/password-reset?token={quote(token)}"
    message = EmailMessage()
    message["Subject"] = "Reset your password / Passwort zurücksetzen"
    message["To"] = account.email
    message.set_content(
        f"Hello {account.display_name},\n\n"
        f"to set a new password, open this link within "
        f"{s.password_reset_seconds // 60} minutes:\n{link}\n\n"
        "Your second factor (authenticator app) is still needed at the next sign-in.\n"
        "If you did not ask for this, ignore this mail.\n"
    )
    return message


_RENDERERS = {"password_reset": _password_reset}


def send(message: EmailMessage) -> None:
    s = get_settings()
    message["From"] = s.mail_from
    with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)


def handle(job: MailJob) -> bool:
    """Send the job's mail unless it went out already; False when there is nothing to send."""
    marker = f"mail:{job.idempotency_key}"
    if jobs.already_done(marker):
        return False
    renderer = _RENDERERS.get(job.kind)
    if renderer is None:
        raise PermanentMailError(f"unknown mail kind {job.kind!r}")
    message = renderer(job)
    if message is not None:
        send(message)
    jobs.mark_done(marker)
    return message is not None
