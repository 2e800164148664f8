"""Closing a customer account: the owner's confirmation, the tombstone that shuts everyone
out at once, and the erasure of the tenant's accounts, grants and login keys at the end of
its deletion (P22, decision 0050)."""

from shared.accounts import privacy
from shared.accounts.models import Tenant
from shared.accounts.repository import accounts, grants, tenants
from shared.accounts.service import (
    erase_controller_profile,
    is_closing,
    release_tenant_slug,
    stored_tenant,
    tenant_document_id,
)
from shared.accounts.signin import PASSWORD_RESET
from shared.audit import operations
from shared.audit.models import Actor, RequestContext
from shared.auth import privacy as auth_privacy
from shared.auth import sessions, throttle
from shared.auth.models import Principal
from shared.auth.passwords import verify_password
from shared.auth.permissions import require_owner
from shared.clock import utc_iso
from shared.errors import DomainError, not_found, validation_error
from shared.privacy.models import DataSubject


def confirm_deletion(
    *, principal: Principal, confirm_name: str, password: str, context: RequestContext
) -> Tenant:
    """The owner alone, with the customer account's name typed back and the owner's own
    password; the name is checked first, so that only a caller who knows it spends a
    password attempt (counted with the sign-in attempts)."""
    tenant_id = require_owner(principal)
    tenant = stored_tenant(tenant_id)
    owner = accounts.get(tenant_id=tenant_id, item_id=principal.account_id)
    if tenant is None or owner is None:
        raise not_found("Customer account")
    if confirm_name != tenant.name:
        raise validation_error("confirm_name", "is not this customer account's name")
    keys = throttle.keys(email=owner.email, client_ip=context.client_ip)
    throttle.attempt(keys)
    if not verify_password(owner.password_hash, password):
        operations.record_event(
            tenant_id=tenant_id,
            actor=principal.actor,
            action="account_deletion.confirm",
            entity_type="tenant",
            entity_id=tenant_id,
            outcome="failure",
            context=context,
        )
        raise validation_error("password", "is wrong")
    throttle.succeeded(keys)
    return tenant


def close(*, tenant_id: str, job_id: str, actor: Actor, context: RequestContext) -> Tenant | None:
    """Tombstone the customer account and sign out everyone of it and all support acting in
    it; the stored tenant (as it was when it is closing already), None when there is none."""
    tenant = stored_tenant(tenant_id)
    if tenant is None:
        return None
    if tenant.deletion_started_at is None:
        tenant.deletion_started_at = utc_iso()
        tenant.deletion_job_id = job_id
        try:
            tenant = operations.replace(
                tenants,
                tenant_id=tenant_id,
                item=tenant,
                actor=actor,
                action="tenant.close",
                entity_type="tenant",
                changed_fields=["deletion_started_at", "deletion_job_id"],
                context=context,
            )
        except DomainError as error:
            # The request and the job's first step both close it; the one that lost the
            # race finds it closed.
            if error.status != 412 or not is_closing(tenant_id):
                raise
            tenant = stored_tenant(tenant_id) or tenant
    sessions.end_in_tenant(tenant_id)
    return tenant


def erase(*, tenant_id: str, actor: Actor) -> dict[str, int]:
    """Delete every account of the tenant with its login key, sign-in throttles and
    sessions, every one-time token of the tenant, its support grants and its tenant
    document; how many documents went, per container. Run by the account deletion once
    every webcast is gone; a second run finds nothing."""
    deleted = {
        "sessions": sessions.end_in_tenant(tenant_id),
        "tokens": auth_privacy.erase_tenant_tokens(tenant_id),
        "throttles": 0,
        "logins": 0,
        "tenant_slugs": 0,
        "tenants": 0,
    }
    found = accounts.query(tenant_id=tenant_id, include_blocked=True)
    for account in found:
        subject = DataSubject(tenant_id=tenant_id, account_id=account.id)
        deleted["throttles"] += privacy.erase_throttles(subject=subject)
        if account.email:
            deleted["throttles"] += auth_privacy.erase_mail_slot_of(
                kind=PASSWORD_RESET, email=account.email
            )
            deleted["logins"] += privacy.release_login(account.email)
        deleted["tenants"] += accounts.delete(tenant_id=tenant_id, item_id=account.id)
    if found:
        operations.record_bulk(
            tenant_id=tenant_id,
            actor=actor,
            action="account.erase",
            entity_type="account",
            entity_ids=[account.id for account in found],
        )
    tenant_grants = grants.query(tenant_id=tenant_id, include_blocked=True)
    for grant in tenant_grants:
        deleted["tenants"] += grants.delete(tenant_id=tenant_id, item_id=grant.id)
    if tenant_grants:
        operations.record_bulk(
            tenant_id=tenant_id,
            actor=actor,
            action="support_grant.erase",
            entity_type="support_grant",
            entity_ids=[grant.id for grant in tenant_grants],
        )
    deleted["tenants"] += erase_controller_profile(tenant_id)
    tenant = stored_tenant(tenant_id)
    if tenant is not None:
        deleted["tenant_slugs"] += release_tenant_slug(tenant)
        deleted["tenants"] += operations.delete(
            tenants,
            tenant_id=tenant_id,
            item_id=tenant_document_id(tenant_id),
            actor=actor,
            action="tenant.erase",
            entity_type="tenant",
        )
    return deleted
