"""Webcasts are tenant data: one document per webcast in the tenant's partition."""

from shared.cosmos.repository import KeyedRepository, TenantRepository
from shared.webcasts.models import SlugReservation, Webcast, WebcastKey

webcasts = TenantRepository(container="webcasts", model=Webcast)
slugs = TenantRepository(container="webcasts", model=SlugReservation)
webcast_keys = KeyedRepository(container="webcast_keys", model=WebcastKey)


def find_webcast(webcast_id: str) -> Webcast | None:
    """The webcast for a public page, found by its id alone."""
    key = webcast_keys.get(webcast_id)
    if key is None:
        return None
    return webcasts.get(tenant_id=key.tenant_id, item_id=webcast_id)
