"""Mail texts of a webcast, read and changed by admins with the participants permission."""

from shared.audit import operations
from shared.audit.models import RequestContext
from shared.auth.models import Permission, Principal
from shared.clock import utc_iso
from shared.mail import templates as mail_templates
from shared.mail.models import (
    MailTemplates,
    MailTemplatesUpdate,
    MailTemplatesView,
    TemplateKind,
)
from shared.mail.repository import get_templates, templates, templates_id
from shared.webcasts.models import Language, Webcast
from shared.webcasts.service import admin_webcast


def _view(webcast: Webcast, stored: MailTemplates) -> MailTemplatesView:
    overrides = stored.templates
    return MailTemplatesView(
        language=webcast.language,
        templates={
            kind: {
                language: mail_templates.effective(overrides, kind, language)
                for language in Language
            }
            for kind in TemplateKind
        },
        customized={
            kind: [lang for lang in Language if overrides.get(kind, lang) is not None]
            for kind in TemplateKind
        },
        variables={kind: list(names) for kind, names in mail_templates.VARIABLES.items()},
        updated_at=stored.updated_at or None,
    )


def read_templates(*, principal: Principal, webcast_id: str) -> MailTemplatesView:
    """The texts in effect for every mail kind and language, and the variables they may use."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=False)
    return _view(webcast, get_templates(tenant_id=webcast.tenant_id, webcast_id=webcast.id))


def save_templates(
    *,
    principal: Principal,
    webcast_id: str,
    update: MailTemplatesUpdate,
    context: RequestContext,
) -> MailTemplatesView:
    """Replace the webcast's own texts after checking that each one renders."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=True)
    mail_templates.validate(update.templates)
    changed = [
        f"templates.{kind.value}.{language.value}"
        for kind in TemplateKind
        for language in Language
        if update.templates.get(kind, language) is not None
    ]
    stored = operations.upsert(
        templates,
        tenant_id=webcast.tenant_id,
        item=MailTemplates(
            id=templates_id(webcast.id),
            tenant_id=webcast.tenant_id,
            webcast_id=webcast.id,
            templates=update.templates,
            updated_at=utc_iso(),
        ),
        actor=principal.actor,
        action="mail.templates.update",
        entity_type="webcast",
        entity_id=webcast.id,
        changed_fields=changed or ["templates"],
        context=context,
    )
    return _view(webcast, stored)
