"""Who may do what: checked in the service layer for every read and write."""

from shared.auth.models import Permission, Principal, Role
from shared.errors import forbidden


def tenant_of(principal: Principal) -> str:
    """The tenant the principal acts in; support staff need an active grant first."""
    if principal.tenant_id is None:
        raise forbidden("Support access needs an active grant from the customer")
    return principal.tenant_id


def _check_write(principal: Principal, write: bool) -> None:
    if write and principal.read_only:
        raise forbidden("This support grant is read-only")


def require_member(principal: Principal, *, write: bool = False) -> str:
    """Any account of the tenant (sub-accounts read webcast settings they work on)."""
    tenant_id = tenant_of(principal)
    _check_write(principal, write)
    return tenant_id


def require_manager(principal: Principal, *, write: bool) -> str:
    """Owner or support under a grant: webcast projects and their settings."""
    tenant_id = tenant_of(principal)
    if principal.role == Role.subaccount:
        raise forbidden("Only the account owner may do this")
    _check_write(principal, write)
    return tenant_id


def require_owner(principal: Principal) -> str:
    """The owner alone: sub-accounts, support grants (support must not extend its own access)."""
    tenant_id = tenant_of(principal)
    if principal.role != Role.owner:
        raise forbidden("Only the account owner may do this")
    return tenant_id


def require_permission(principal: Principal, permission: Permission, *, write: bool) -> str:
    """A module permission (participants, polls, moderation, meetings)."""
    tenant_id = tenant_of(principal)
    if principal.role == Role.subaccount and permission not in principal.permissions:
        raise forbidden(f"This needs the '{permission.value}' permission")
    _check_write(principal, write)
    return tenant_id
