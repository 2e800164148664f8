"""Support grants (owner) and how vendor support enters and leaves a tenant (P07)."""

from fastapi import APIRouter

from functions.api.deps import Context, CurrentPrincipal, FullSession
from functions.api.routing import DeferredAPIRoute
from shared.accounts import service
from shared.accounts.models import GrantCreate, GrantView

router = APIRouter(tags=["support"], route_class=DeferredAPIRoute)


@router.get("/api/support-grants")
def list_grants(principal: CurrentPrincipal) -> list[GrantView]:
    return [service.grant_view(g) for g in service.list_grants(principal=principal)]


@router.post("/api/support-grants", status_code=201)
def create_grant(body: GrantCreate, principal: CurrentPrincipal, context: Context) -> GrantView:
    return service.grant_view(service.create_grant(principal=principal, data=body, context=context))


@router.post("/api/support-grants/{grant_id}/revoke")
def revoke_grant(grant_id: str, principal: CurrentPrincipal, context: Context) -> GrantView:
    return service.grant_view(
        service.revoke_grant(principal=principal, grant_id=grant_id, context=context)
    )


@router.post("/api/support/tenants/{tenant_id}/enter")
def enter_tenant(
    tenant_id: str, session: FullSession, principal: CurrentPrincipal, context: Context
) -> GrantView:
    """Act in a customer's tenant under its active grant; refused without one."""
    grant = service.enter_tenant(
        principal=principal, session=session, tenant_id=tenant_id, context=context
    )
    return service.grant_view(grant)


@router.post("/api/support/leave", status_code=204)
def leave_tenant(session: FullSession, principal: CurrentPrincipal, context: Context) -> None:
    service.leave_tenant(principal=principal, session=session, context=context)
