"""Support grants (owner) and how vendor support enters and leaves a tenant (P07)."""

from fastapi import APIRouter

from functions.api.deps import Context, CurrentPrincipal, FullSession
from shared.accounts import service
from shared.accounts.models import GrantCreate, GrantView, Role
from shared.audit import operations
from shared.auth import sessions
from shared.errors import forbidden

router = APIRouter(tags=["support"])


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
    if principal.role != Role.support:
        raise forbidden("Only vendor support enters other tenants")
    grant = service.find_active_grant(tenant_id=tenant_id, support_account_id=principal.account_id)
    if grant is None:
        raise forbidden("This customer has not granted support access")
    sessions.set_acting_tenant(session=session, tenant_id=tenant_id, grant_id=grant.id)
    operations.record_event(
        tenant_id=tenant_id,
        actor=principal.actor,
        action="support.enter",
        entity_type="support_grant",
        entity_id=grant.id,
        context=context,
    )
    return service.grant_view(grant)


@router.post("/api/support/leave", status_code=204)
def leave_tenant(session: FullSession, principal: CurrentPrincipal, context: Context) -> None:
    if principal.role != Role.support:
        raise forbidden("Only vendor support enters other tenants")
    if principal.tenant_id:
        operations.record_event(
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            action="support.leave",
            entity_type="support_grant",
            entity_id=principal.grant_id,
            context=context,
        )
    sessions.set_acting_tenant(session=session, tenant_id=None, grant_id=None)
