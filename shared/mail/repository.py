"""Mail settings of a webcast live in the tenant's partition of `webcasts`, one document each."""

from shared.cosmos.repository import TenantRepository
from shared.mail.models import LinkSettings, MailTemplates

templates = TenantRepository(container="webcasts", model=MailTemplates)
link_settings = TenantRepository(container="webcasts", model=LinkSettings)


def templates_id(webcast_id: str) -> str:
    return f"mail-templates:{webcast_id}"


def links_id(webcast_id: str) -> str:
    return f"links:{webcast_id}"


def get_templates(*, tenant_id: str, webcast_id: str) -> MailTemplates:
    """The webcast's stored texts, or an empty set (every text the default)."""
    found = templates.get(tenant_id=tenant_id, item_id=templates_id(webcast_id))
    return found or MailTemplates(
        id=templates_id(webcast_id), tenant_id=tenant_id, webcast_id=webcast_id
    )


def get_link_settings(*, tenant_id: str, webcast_id: str) -> LinkSettings:
    found = link_settings.get(tenant_id=tenant_id, item_id=links_id(webcast_id))
    return found or LinkSettings(
        id=links_id(webcast_id), tenant_id=tenant_id, webcast_id=webcast_id
    )
