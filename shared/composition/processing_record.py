"""The customer's record of processing activities (Art. 30 GDPR, P33), generated from the real
configuration in the structure of the product's own record: controller and processor,
purposes and legal bases, the data each webcast actually collects, its modules and privacy
switches, recipients, hosting, retention and deletion, and the technical and organisational
measures as the settings have them. Markdown, and a printable HTML page; German and English.

It reads accounts, webcasts, participants' forms and the settings, so it lives here."""

import json
import re
from pathlib import Path
from typing import Literal

from jinja2 import Environment
from pydantic import BaseModel

from shared.accounts.service import controller_profile, count_subaccounts, stored_tenant
from shared.auth.models import Principal
from shared.auth.permissions import require_manager
from shared.clock import utc_iso
from shared.config import get_settings
from shared.participants.models import FieldType
from shared.participants.service import registration_form
from shared.webcasts.models import Webcast
from shared.webcasts.service import list_webcasts

Language = Literal["de", "en"]
# Azure's region of every resource (the infrastructure enforces it, P27).
HOSTING = {
    "de": "Microsoft Azure, Region West Europe (Niederlande)",
    "en": "Microsoft Azure, region West Europe (Netherlands)",
}
# A record lists each webcast in a row; past this many the page is long enough to say so.
MAX_WEBCASTS = 1000
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
# What would start a heading, list or quote at the beginning of a line.
_LINE_START = re.compile(r"^(\s*)([-+#>])", re.MULTILINE)
_NUMBERED = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)


class Section(BaseModel):
    title: str
    paragraphs: list[str] = []
    items: list[str] = []
    header: list[str] = []  # a table's header, when the section has one
    rows: list[list[str]] = []


class ProcessingRecord(BaseModel):
    language: Language
    title: str
    generated_at: str
    sections: list[Section]


# The record's texts in both languages, and the privacy switches' names (data, not code).
_LOADED = json.loads((Path(__file__).with_name("processing_record_texts.json")).read_text("utf-8"))
_TEXTS: dict[str, dict[Language, str]] = _LOADED["texts"]
_SWITCHES: dict[str, dict[Language, str]] = _LOADED["switches"]
_ACCESS_MODES: dict[str, dict[Language, str]] = _LOADED["access_modes"]
_MODULES: dict[str, dict[Language, str]] = _LOADED["modules"]


def _t(key: str, language: Language, **values: object) -> str:
    return _TEXTS[key][language].format(**values)


def _collected(webcast: Webcast, language: Language) -> str:
    if webcast.access_mode == "public":
        return _t("none", language)
    form = registration_form(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
    fields = [
        f"{field.label} ({field.type.value})"
        for field in form.fields
        if not field.removed and field.type != FieldType.display_text
    ]
    fixed = "E-Mail, Benutzername, Name" if language == "de" else "e-mail, user name, name"
    return "; ".join([fixed, *fields])


def _modules(webcast: Webcast, language: Language) -> str:
    switched = webcast.modules.model_dump()
    on = [label[language] for name, label in _MODULES.items() if switched.get(name) is True]
    return ", ".join(on) or _t("none", language)


def _ties(webcast: Webcast, language: Language) -> str:
    switches = webcast.privacy.model_dump()
    tied = [label[language] for name, label in _SWITCHES.items() if switches.get(name)]
    return ", ".join(tied) or _t("none", language)


def _retention(webcast: Webcast, language: Language) -> str:
    text = _t("days", language, n=webcast.retention_days)
    if webcast.participant_retention_days is not None:
        text += "; " + _t("participant_days", language, n=webcast.participant_retention_days)
    return text


def _webcasts(principal: Principal) -> list[Webcast]:
    """Every webcast of the customer account, a page at a time, at most MAX_WEBCASTS."""
    found: list[Webcast] = []
    continuation: str | None = None
    while len(found) < MAX_WEBCASTS:
        page = list_webcasts(principal=principal, max_items=100, continuation=continuation)
        found += page.items
        continuation = page.continuation
        if continuation is None:
            break
    return found[:MAX_WEBCASTS]


def build(*, principal: Principal, language: Language) -> ProcessingRecord:
    """The record of the principal's customer account as it is configured now."""
    tenant_id = require_manager(principal, write=False)
    settings = get_settings()
    profile = controller_profile(tenant_id)
    tenant = stored_tenant(tenant_id)
    if profile is not None:
        controller = Section(
            title=_t("controller", language),
            paragraphs=[profile.legal_name, profile.postal_address, profile.contact_email],
            items=[
                *([f"{_t('dpo', language)}: {profile.dpo_contact}"] if profile.dpo_contact else []),
                *[url for url in (profile.imprint_url, profile.privacy_policy_url) if url],
            ],
        )
    else:
        controller = Section(
            title=_t("controller", language),
            paragraphs=[tenant.name if tenant else tenant_id, _t("no_controller", language)],
        )
    webcasts = _webcasts(principal)
    sub_accounts = count_subaccounts(tenant_id)
    sub_processors = [
        f"{_t('recipient_hosting', language)}: {HOSTING[language]}",
        *(
            [f"{_t('recipient_mail', language)}: Azure Communication Services (EU)"]
            if settings.mail_transport == "acs"
            else []
        ),
        *(
            f"{p.name}: {p.purpose} ({p.location})"
            for p in (profile.sub_processors if profile else [])
        ),
    ]
    sections = [
        controller,
        Section(title=_t("processor", language), paragraphs=[_t("processor_text", language)]),
        Section(
            title=_t("purposes", language),
            items=[
                _t("purpose_webcast", language),
                _t("purpose_consent", language),
                _t("purpose_admin", language),
            ],
        ),
        Section(
            title=_t("webcasts", language),
            header=[
                _t(key, language)
                for key in (
                    "webcast_col",
                    "access_col",
                    "data_col",
                    "modules_col",
                    "switches_col",
                    "retention_col",
                )
            ],
            rows=[
                [
                    webcast.title,
                    _ACCESS_MODES[webcast.access_mode][language],
                    _collected(webcast, language),
                    _modules(webcast, language),
                    _ties(webcast, language),
                    _retention(webcast, language),
                ]
                for webcast in webcasts
            ],
        ),
        Section(
            title=_t("recipients", language),
            items=[
                _t("recipient_accounts", language, n=sub_accounts),
                _t("recipient_support", language),
                *sub_processors,
            ],
        ),
        Section(
            title=_t("hosting", language),
            paragraphs=[HOSTING[language], _t("hosting_text", language)],
        ),
        Section(
            title=_t("deletion", language),
            items=[
                _t(
                    "deletion_webcast",
                    language,
                    n=settings.retention_notice_days,
                    b=settings.deletion_backup_window_days,
                ),
                _t(
                    "deletion_sessions",
                    language,
                    idle=settings.session_idle_seconds // 60,
                    pidle=settings.participant_session_idle_seconds // 60,
                    abs=settings.session_absolute_seconds // 3600,
                ),
                _t(
                    "deletion_audit",
                    language,
                    n=settings.audit_retention_after_account_deletion_days,
                ),
                _t("deletion_rights", language),
            ],
        ),
        Section(
            title=_t("toms", language),
            items=[
                _t("tom_mfa", language, n=settings.login_max_failures),
                _t("tom_cookies", language),
                _t("tom_tls", language),
                _t("tom_tenants", language),
                _t("tom_audit", language),
                _t(
                    "tom_malware_on" if settings.malware_gate == "defender" else "tom_malware_off",
                    language,
                ),
                _t("tom_backup", language, n=settings.deletion_backup_window_days),
                _t("tom_defaults", language),
            ],
        ),
    ]
    return ProcessingRecord(
        language=language, title=_t("title", language), generated_at=utc_iso(), sections=sections
    )


def _md(text: str) -> str:
    """The text as literal Markdown: every character Markdown reads as syntax escaped."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    escaped = _NUMBERED.sub(r"\1\\\2", _LINE_START.sub(r"\1\\\2", escaped))
    return escaped.replace("\n", "  \n")


def markdown(record: ProcessingRecord) -> str:
    lines = [f"# {_md(record.title)}", "", _md(record.generated_at), ""]
    for section in record.sections:
        lines += [f"## {_md(section.title)}", ""]
        lines += [*(f"{_md(p)}\n" for p in section.paragraphs)]
        lines += [f"- {_md(item)}" for item in section.items]
        if section.header:
            lines += ["", "| " + " | ".join(_md(h) for h in section.header) + " |"]
            lines += ["|" + "---|" * len(section.header)]
            lines += [
                "| " + " | ".join(_md(cell).replace("  \n", " ") for cell in row) + " |"
                for row in section.rows
            ]
        lines.append("")
    return "\n".join(lines)


_HTML = Environment(autoescape=True).from_string(
    Path(__file__).with_name("processing_record.html.j2").read_text("utf-8")
)


def html(record: ProcessingRecord) -> str:
    """A printable page (its one stylesheet inline, no script)."""
    return _HTML.render(record=record)
