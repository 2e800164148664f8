"""A webcast's mail texts live in the tenant's partition of `webcasts`, one document."""

from shared.cosmos.repository import TenantRepository
from shared.mail.models import MailTemplates

templates = TenantRepository(container="webcasts", model=MailTemplates)


def templates_id(webcast_id: str) -> str:
    return f"mail-templates:{webcast_id}"


def get_templates(*, tenant_id: str, webcast_id: str) -> MailTemplates:
    """The webcast's stored texts, or an empty set (every text the default)."""
    found = templates.get(tenant_id=tenant_id, item_id=templates_id(webcast_id))
    return found or MailTemplates(
        id=templates_id(webcast_id), tenant_id=tenant_id, webcast_id=webcast_id
    )
