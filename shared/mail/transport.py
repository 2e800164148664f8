"""Deliver a rendered mail: SMTP locally, Azure Communication Services Email in Azure."""

import base64
import hashlib
import smtplib
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from shared.config import get_settings

if TYPE_CHECKING:
    from azure.communication.email import EmailClient


@dataclass(frozen=True)
class Attachment:
    filename: str
    maintype: str
    subtype: str
    data: bytes
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OutgoingMail:
    """One mail to one address; `key` (the job's idempotency key) names its Message-ID."""

    to: str
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    key: str | None = None


class MailDeliveryError(Exception):
    """The mail service did not accept the mail; the queue retries the job."""


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "webcast.invalid"


def to_email_message(mail: OutgoingMail) -> EmailMessage:
    """The MIME message: text, an HTML alternative and attachments where there are some."""
    s = get_settings()
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = s.mail_from
    message["To"] = mail.to
    message["Auto-Submitted"] = "auto-generated"
    if mail.key:
        digest = hashlib.sha256(mail.key.encode()).hexdigest()[:32]
        message["Message-ID"] = f"<{digest}@{_domain(s.mail_from)}>"
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    for attachment in mail.attachments:
        message.add_attachment(
            attachment.data,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
            params=attachment.params,
        )
    return message


def send_smtp(message: EmailMessage) -> None:
    s = get_settings()
    if message["From"] is None:
        message["From"] = s.mail_from
    with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)


_acs_lock = threading.Lock()
_acs_client: "EmailClient | None" = None


def _acs() -> "EmailClient":
    global _acs_client
    with _acs_lock:
        if _acs_client is None:
            from azure.communication.email import EmailClient
            from azure.identity import DefaultAzureCredential

            endpoint = get_settings().acs_email_endpoint
            if not endpoint:
                raise MailDeliveryError("WEBCAST_ACS_EMAIL_ENDPOINT is not set")
            _acs_client = EmailClient(endpoint, DefaultAzureCredential())
        return _acs_client


def acs_message(mail: OutgoingMail) -> dict[str, Any]:
    """The Communication Services send payload; engagement tracking stays off (privacy)."""
    content: dict[str, str] = {"subject": mail.subject, "plainText": mail.text}
    if mail.html is not None:
        content["html"] = mail.html
    payload: dict[str, Any] = {
        "senderAddress": get_settings().mail_from,
        "recipients": {"to": [{"address": mail.to}]},
        "content": content,
        "userEngagementTrackingDisabled": True,
    }
    if mail.attachments:
        payload["attachments"] = [
            {
                "name": a.filename,
                "contentType": f"{a.maintype}/{a.subtype}",
                "contentInBase64": base64.b64encode(a.data).decode(),
            }
            for a in mail.attachments
        ]
    return payload


def send_acs(mail: OutgoingMail) -> None:
    poller = _acs().begin_send(acs_message(mail))
    result = poller.result()
    status = result.get("status") if isinstance(result, dict) else None
    if status != "Succeeded":
        raise MailDeliveryError(f"Communication Services answered {status!r}")


def deliver(mail: OutgoingMail) -> None:
    """Send through the transport the settings choose."""
    if get_settings().mail_transport == "acs":
        send_acs(mail)
    else:
        send_smtp(to_email_message(mail))
