"""Readable page addresses: the owner names the customer account (`/api/account/slug`), and
the participant page at /p/{tenant slug}/{webcast slug} asks which webcast that is."""

from typing import Annotated

from fastapi import APIRouter, Path

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.routing import DeferredAPIRoute
from shared.accounts import service as accounts
from shared.accounts.models import TenantSlugInput, TenantSlugView
from shared.composition.addresses import PageAddress, webcast_of_address

router = APIRouter(route_class=DeferredAPIRoute)
SlugPath = Annotated[str, Path(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")]


@router.get("/api/account/slug", tags=["accounts"])
def get_tenant_slug(principal: CurrentPrincipal) -> TenantSlugView:
    return accounts.get_tenant_slug(principal=principal)


@router.put("/api/account/slug", tags=["accounts"], responses=problems.responses(409))
def set_tenant_slug(
    body: TenantSlugInput, principal: CurrentPrincipal, context: Context
) -> TenantSlugView:
    """The owner alone; unique across the platform (409 when taken or reserved)."""
    return accounts.set_tenant_slug(principal=principal, slug=body.slug, context=context)


@router.get("/api/p/{tenant_slug}/{webcast_slug}", tags=["viewer"])
def page_address(tenant_slug: SlugPath, webcast_slug: SlugPath) -> PageAddress:
    """The webcast a readable address names (404 alike for an unknown account or webcast)."""
    return webcast_of_address(tenant_slug=tenant_slug, webcast_slug=webcast_slug)
