"""Readable page addresses: /p/{tenant slug}/{webcast slug} names a webcast through the
customer account's slug (accounts) and the webcast's slug within it (webcasts)."""

from pydantic import BaseModel

from shared.accounts.service import tenant_of_slug
from shared.errors import not_found
from shared.webcasts.service import webcast_id_by_slug


class PageAddress(BaseModel):
    webcast_id: str


def webcast_of_address(*, tenant_slug: str, webcast_slug: str) -> PageAddress:
    """The webcast the address names; 404 alike for an unknown account or webcast."""
    tenant_id = tenant_of_slug(tenant_slug)
    webcast_id = webcast_id_by_slug(tenant_id=tenant_id, slug=webcast_slug) if tenant_id else None
    if webcast_id is None:
        raise not_found("Webcast")
    return PageAddress(webcast_id=webcast_id)
