"""Mail texts, MIME building and the Communication Services payload, without any service."""

import base64
from typing import Any

import pytest

from shared.config import Settings
from shared.errors import DomainError
from shared.mail import templates, transport
from shared.mail.defaults import DEFAULTS
from shared.mail.models import TemplateKind, TemplateOverrides, TemplateText
from shared.mail.transport import Attachment, MailDeliveryError, OutgoingMail
from shared.webcasts.models import Language

MAIL = OutgoingMail(
    to="viewer@example.org",
    subject="Einladung",
    text="Hallo\n",
    html="<p>Hallo</p>",
    attachments=(Attachment("webcast.ics", "text", "calendar", b"BEGIN:VCALENDAR\r\n"),),
    key="invitation:1:2",
)


def test_templates_render_in_a_sandbox_with_escaped_html():
    values = templates._SAMPLE | {"name": "<script>x</script>"}
    rendered = templates.render_kind(
        overrides=TemplateOverrides(),
        kind=TemplateKind.confirmation,
        language=Language.en,
        values=values,
        privacy_link="https://example.invalid/w/1/privacy?token=t",
    )
    assert "<script>x</script>" in rendered.text
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert rendered.text.rstrip().endswith("https://example.invalid/w/1/privacy?token=t")
    assert '<a href="https://example.invalid/w/1#token=sample">' in rendered.html


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{{ unknown }}", "unknown variable 'unknown'"),
        ("{{ name.__class__.__mro__ }}", "attribute access"),
        ("{{ 'x' * 100000 }}", "the operator *"),
        ("{{ name * 100000000 }}", "the operator *"),
        ("{{ 2 ** 100 }}", "the operator **"),
        ("{{ '%0200000000d' % 1 }}", "the operator %"),
        ("{{ '%0200000000d'|format(1) }}", "the filter 'format'"),
        ("{{ name|center(200000000) }}", "the filter 'center'"),
        ("{{ '{:0200000000}'.format(1) }}", "calls"),
        (
            "{% for a in name %}{% for b in name %}{% for c in name %}x{% endfor %}"
            "{% endfor %}{% endfor %}",
            "loops",
        ),
        ("{% macro m() %}{{ name }}{% endmacro %}{{ m() }}", "macros"),
        ("{% set x = name ~ name %}{{ x }}", "assignments"),
        ("{{ lipsum(5) }}", "calls"),
        ("{% for %}", "line 1"),
    ],
)
def test_bad_templates_are_refused_with_the_field_named(source: str, reason: str):
    overrides = TemplateOverrides.model_validate(
        {"reminder": {"en": {"subject": "ok", "text": source}}}
    )
    with pytest.raises(DomainError) as caught:
        templates.validate(overrides)
    [error] = caught.value.errors
    assert error.field == "templates.reminder.en.text"
    assert reason in error.reason


def test_the_allowed_language_passes_and_every_default_text_uses_only_it():
    allowed = (
        "{% if name %}Hello {{ name|trim|title }}{% else %}Hello{% endif %}, "
        "{{ webcast_title|upper ~ ' (' ~ time_zone|default('UTC') ~ ')' }} "
        "{{ webcast_title|truncate(20) }} {{ valid_minutes + 5 }} "
        "{% if has_schedule and starts_at is defined and not valid_minutes %}"
        "{{ starts_at }}{% endif %}"
    )
    overrides = TemplateOverrides.model_validate(
        {"password_reset": {"en": {"subject": "{{ webcast_title }}", "text": allowed}}}
    )
    templates.validate(overrides)
    for kind, texts in DEFAULTS.items():
        for text in texts.values():
            assert templates._problems(kind, text.subject) == []
            assert templates._problems(kind, text.text) == []


def test_the_rendered_text_is_capped():
    """A text that passes the checks can still grow with the values (a participant's long
    name, referenced often): it is cut off while it renders, and the default goes out."""
    many = "{{name}}" * 2_000
    overrides = TemplateOverrides.model_validate(
        {"reminder": {"en": {"subject": "ok", "text": many}}}
    )
    templates.validate(overrides)
    values = templates._SAMPLE | {"name": "N" * 200}
    with pytest.raises(templates.TextTooLongError):
        templates.render(
            texts=TemplateText(subject="ok", text=many),
            language=Language.en,
            values=values,
            privacy_link="https://example.invalid/p",
        )
    rendered = templates.render_kind(
        overrides=overrides,
        kind=TemplateKind.reminder,
        language=Language.en,
        values=values,
        privacy_link="https://example.invalid/p",
    )
    assert rendered.subject != "ok"
    assert len(rendered.text) < 10_000


def test_a_stored_text_that_fails_at_send_time_falls_back_to_the_default():
    overrides = TemplateOverrides(
        reminder={
            "de": TemplateText(subject="{{ lead }}", text="{{ 1 / (lead|length - lead|length) }}")
        }
    )
    rendered = templates.render_kind(
        overrides=overrides,
        kind=TemplateKind.reminder,
        language=Language.de,
        values=templates._SAMPLE,
        privacy_link="https://example.invalid/p",
    )
    assert rendered.subject.startswith("Erinnerung")


def test_lead_times_and_dates_read_naturally():
    assert templates.format_lead(86_400, Language.de) == "24 Stunden"
    assert templates.format_lead(3_600, Language.en) == "1 hour"
    assert templates.format_lead(1_800, Language.de) == "30 Minuten"


def test_the_mime_message_has_text_html_and_the_calendar_file():
    message = transport.to_email_message(MAIL)
    assert message.get_content_type() == "multipart/mixed"
    assert message["To"] == "viewer@example.org" and message["Message-ID"]
    assert message.get_body(preferencelist=("plain",)) is not None
    assert message.get_body(preferencelist=("html",)) is not None
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "webcast.ics"


class _Poller:
    def __init__(self, status: str) -> None:
        self.status = status

    def result(self) -> dict[str, Any]:
        return {"id": "op", "status": self.status}


class _Client:
    def __init__(self, status: str) -> None:
        self.status = status
        self.sent: list[dict[str, Any]] = []

    def begin_send(self, message: dict[str, Any]) -> _Poller:
        self.sent.append(message)
        return _Poller(self.status)


def test_communication_services_gets_the_mail_without_engagement_tracking(monkeypatch):
    settings = Settings(mail_transport="acs", acs_email_endpoint="https://x.invalid")
    monkeypatch.setattr(transport, "get_settings", lambda: settings)
    client = _Client("Succeeded")
    monkeypatch.setattr(transport, "_acs", lambda: client)
    transport.deliver(MAIL)
    [payload] = client.sent
    assert payload["recipients"] == {"to": [{"address": "viewer@example.org"}]}
    assert payload["userEngagementTrackingDisabled"] is True
    assert payload["content"]["html"] == "<p>Hallo</p>"
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == "text/calendar"
    assert base64.b64decode(attachment["contentInBase64"]) == b"BEGIN:VCALENDAR\r\n"

    monkeypatch.setattr(transport, "_acs", lambda: _Client("Failed"))
    with pytest.raises(MailDeliveryError):
        transport.deliver(MAIL)
