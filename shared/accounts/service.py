"""Tenants, owner and sub-accounts, vendor support accounts and support grants."""

from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from shared.accounts.models import (
    Account,
    ControllerProfile,
    ControllerProfileInput,
    ControllerProfileView,
    GrantCreate,
    GrantScope,
    GrantView,
    PublicController,
    SubAccountCreate,
    SubAccountUpdate,
    SupportAccountCreate,
    SupportGrant,
    Tenant,
    TenantCreate,
    TenantSlug,
    TenantSlugView,
)
from shared.accounts.repository import (
    CONTROLLER_PROFILE_ID,
    PLATFORM_TENANT,
    accounts,
    controller_profiles,
    grants,
    release_email,
    reserve_email,
    tenant_slugs,
    tenants,
)
from shared.audit import operations
from shared.audit.models import SYSTEM_ACTOR, Actor, RequestContext
from shared.auth import sessions
from shared.auth.models import Permission, Principal, Role, Session
from shared.auth.passwords import check_policy, hash_password
from shared.auth.permissions import require_manager, require_owner
from shared.clock import now, utc_iso
from shared.errors import (
    DomainError,
    conflict,
    forbidden,
    invalid_input,
    not_found,
    unauthorized,
    validation_error,
)
from shared.ids import new_id, normalize_email

MAX_GRANT_DAYS = 30


def _new_account(
    *,
    tenant_id: str,
    role: Role,
    email: str,
    display_name: str,
    password: str,
    permissions: list[Permission],
) -> Account:
    check_policy(password, context=(display_name, email.split("@")[0]))
    account_id = new_id()
    moment = utc_iso()
    try:
        reserve_email(email=email, tenant_id=tenant_id, account_id=account_id)
    except DomainError as error:
        raise conflict("An account with this e-mail address exists already", "email") from error
    return Account(
        id=account_id,
        tenant_id=tenant_id,
        role=role,
        email=normalize_email(email),
        display_name=display_name,
        password_hash=hash_password(password),
        permissions=sorted(set(permissions)),
        created_at=moment,
        updated_at=moment,
    )


def create_tenant(
    *,
    name: str,
    owner_email: str,
    owner_name: str,
    owner_password: str,
    actor: Actor = SYSTEM_ACTOR,
    context: RequestContext | None = None,
) -> tuple[Tenant, Account]:
    """A customer account with its one owner (P01); refused before any write when invalid."""
    try:
        data = TenantCreate(
            name=name, owner_email=owner_email, owner_name=owner_name, owner_password=owner_password
        )
    except ValidationError as error:
        raise invalid_input(error) from None
    tenant_id = new_id()
    owner = _new_account(
        tenant_id=tenant_id,
        role=Role.owner,
        email=str(data.owner_email),
        display_name=data.owner_name,
        password=data.owner_password,
        permissions=list(Permission),
    )
    owner = accounts.create(tenant_id=tenant_id, item=owner)
    tenant = operations.create(
        tenants,
        tenant_id=tenant_id,
        item=Tenant(
            id=tenant_document_id(tenant_id),
            tenant_id=tenant_id,
            name=data.name,
            owner_account_id=owner.id,
            created_at=utc_iso(),
        ),
        actor=actor,
        action="tenant.create",
        entity_type="tenant",
        entity_id=tenant_id,
        changed_fields=["name"],
        context=context,
    )
    # The owner was written before the tenant that names it; its entry follows the tenant's.
    operations.record_write(
        tenant_id=tenant_id,
        actor=actor,
        action="account.create",
        entity_type="account",
        entity_id=owner.id,
        changed_fields=["email", "display_name", "password", "role"],
        context=context,
    )
    return tenant, owner


def create_support_account(
    *, email: str, display_name: str, password: str, context: RequestContext | None = None
) -> Account:
    """A vendor support account; it reaches tenants only through grants (P07)."""
    try:
        data = SupportAccountCreate(email=email, display_name=display_name, password=password)
    except ValidationError as error:
        raise invalid_input(error) from None
    return operations.create(
        accounts,
        tenant_id=PLATFORM_TENANT,
        item=_new_account(
            tenant_id=PLATFORM_TENANT,
            role=Role.support,
            email=str(data.email),
            display_name=data.display_name,
            password=data.password,
            permissions=[],
        ),
        actor=SYSTEM_ACTOR,
        action="account.create",
        entity_type="account",
        changed_fields=["email", "display_name", "password", "role"],
        context=context,
    )


def tenant_opened_at(tenant_id: str) -> str | None:
    """When the tenant was created: the start of its audit log."""
    tenant = tenants.get(tenant_id=tenant_id, item_id=tenant_document_id(tenant_id))
    return tenant.created_at if tenant else None


def tenant_document_id(tenant_id: str) -> str:
    """The id of a tenant's own document in its partition."""
    return f"tenant:{tenant_id}"


def stored_tenant(tenant_id: str) -> Tenant | None:
    return tenants.get(
        tenant_id=tenant_id, item_id=tenant_document_id(tenant_id), include_blocked=True
    )


def is_closing(tenant_id: str) -> bool:
    """Whether the customer account is being deleted (or is gone): nobody of it signs in."""
    tenant = stored_tenant(tenant_id)
    return tenant is None or tenant.deletion_started_at is not None


def tenant_owner(tenant_id: str) -> Account | None:
    """The customer account's owner (None once the account or its owner is gone)."""
    tenant = tenants.get(tenant_id=tenant_id, item_id=f"tenant:{tenant_id}")
    if tenant is None:
        return None
    return accounts.get(tenant_id=tenant_id, item_id=tenant.owner_account_id)


def count_subaccounts(tenant_id: str) -> int:
    """How many sub-accounts the customer account has (the record of processing names it)."""
    return sum(
        1 for account in accounts.query(tenant_id=tenant_id) if account.role == Role.subaccount
    )


def get_account(*, tenant_id: str, account_id: str) -> Account | None:
    return accounts.get(tenant_id=tenant_id, item_id=account_id)


def read_account(*, principal: Principal, account_id: str) -> Account:
    """An account of the owner's tenant (the owner alone reads them)."""
    tenant_id = require_owner(principal)
    account = get_account(tenant_id=tenant_id, account_id=account_id)
    if account is None:
        raise not_found("Account")
    return account


def session_account(session: Session) -> Account:
    """The account a full session is signed in as; refused once it is gone."""
    account = get_account(tenant_id=session.home_tenant_id, account_id=session.account_id)
    if account is None:
        raise unauthorized("This account is not available")
    return account


def list_accounts(*, principal: Principal) -> list[Account]:
    tenant_id = require_owner(principal)
    return accounts.query(tenant_id=tenant_id, order_by="c.created_at")


def _subaccount(tenant_id: str, account_id: str) -> Account:
    account = accounts.get(tenant_id=tenant_id, item_id=account_id)
    if account is None or account.erased:
        raise not_found("Account")
    if account.role != Role.subaccount:
        raise forbidden("The owner account cannot be changed here")
    return account


def create_subaccount(
    *, principal: Principal, data: SubAccountCreate, context: RequestContext
) -> Account:
    """A password-protected sub-account with any combination of permissions (P02)."""
    tenant_id = require_owner(principal)
    return operations.create(
        accounts,
        tenant_id=tenant_id,
        item=_new_account(
            tenant_id=tenant_id,
            role=Role.subaccount,
            email=str(data.email),
            display_name=data.display_name,
            password=data.password,
            permissions=data.permissions,
        ),
        actor=principal.actor,
        action="account.create",
        entity_type="account",
        changed_fields=["email", "display_name", "password", "permissions"],
        context=context,
    )


def update_subaccount(
    *, principal: Principal, account_id: str, data: SubAccountUpdate, context: RequestContext
) -> Account:
    tenant_id = require_owner(principal)
    account = _subaccount(tenant_id, account_id)
    changed = operations.changed_fields(data, account)
    if data.display_name is not None:
        account.display_name = data.display_name
    if data.permissions is not None:
        account.permissions = sorted(set(data.permissions))
    if data.disabled is not None:
        account.disabled = data.disabled
    account.updated_at = utc_iso()
    account = operations.replace(
        accounts,
        tenant_id=tenant_id,
        item=account,
        actor=principal.actor,
        action="account.update",
        entity_type="account",
        changed_fields=changed,
        context=context,
    )
    if account.disabled:
        sessions.end_all(account_id=account.id)
    elif "permissions" in changed:
        sessions.update_permissions(account_id=account.id, permissions=account.permissions)
    return account


def delete_subaccount(*, principal: Principal, account_id: str, context: RequestContext) -> None:
    tenant_id = require_owner(principal)
    account = _subaccount(tenant_id, account_id)
    sessions.end_all(account_id=account.id)
    release_email(account.email)
    operations.delete(
        accounts,
        tenant_id=tenant_id,
        item_id=account.id,
        actor=principal.actor,
        action="account.delete",
        entity_type="account",
        context=context,
    )


def reset_mfa(*, principal: Principal, account_id: str, context: RequestContext) -> Account:
    """The owner clears a sub-account's MFA; it must enrol again at its next sign-in."""
    tenant_id = require_owner(principal)
    account = _subaccount(tenant_id, account_id)
    account.mfa_secret = None
    account.mfa_pending_secret = None
    account.recovery_code_hashes = []
    account.updated_at = utc_iso()
    account = operations.replace(
        accounts,
        tenant_id=tenant_id,
        item=account,
        actor=principal.actor,
        action="account.mfa_reset",
        entity_type="account",
        changed_fields=["mfa_secret", "recovery_codes"],
        context=context,
    )
    sessions.end_all(account_id=account.id)
    return account


def _parse_time(value: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise validation_error(field, "must be an ISO 8601 date and time") from error
    if moment.tzinfo is None:
        raise validation_error(field, "must carry a time zone (e.g. Z)")
    return moment.astimezone(UTC)


def grant_is_active(grant: SupportGrant, *, support_account_id: str) -> bool:
    if grant.revoked_at is not None:
        return False
    if grant.support_account_id not in (None, support_account_id):
        return False
    return _parse_time(grant.expires_at, "expires_at") > datetime.fromtimestamp(now(), UTC)


def grant_view(grant: SupportGrant) -> GrantView:
    active = grant.revoked_at is None and _parse_time(
        grant.expires_at, "expires_at"
    ) > datetime.fromtimestamp(now(), UTC)
    return GrantView(
        id=grant.id,
        tenant_id=grant.tenant_id,
        scope=grant.scope,
        support_account_id=grant.support_account_id,
        expires_at=grant.expires_at,
        created_at=grant.created_at,
        revoked_at=grant.revoked_at,
        active=active,
    )


def create_grant(
    *, principal: Principal, data: GrantCreate, context: RequestContext
) -> SupportGrant:
    """The owner lets vendor support in, with a scope and an end (P07)."""
    tenant_id = require_owner(principal)
    expires = _parse_time(data.expires_at, "expires_at")
    current = datetime.fromtimestamp(now(), UTC)
    if expires <= current:
        raise validation_error("expires_at", "must lie in the future")
    if expires > current + timedelta(days=MAX_GRANT_DAYS):
        raise validation_error("expires_at", f"must lie within {MAX_GRANT_DAYS} days")
    if data.support_account_id is not None:
        support = accounts.get(tenant_id=PLATFORM_TENANT, item_id=data.support_account_id)
        if support is None or support.role != Role.support:
            raise validation_error("support_account_id", "is not a support account")
    return operations.create(
        grants,
        tenant_id=tenant_id,
        item=SupportGrant(
            id=f"grant:{new_id()}",
            tenant_id=tenant_id,
            scope=data.scope,
            support_account_id=data.support_account_id,
            expires_at=expires.isoformat().replace("+00:00", "Z"),
            created_at=utc_iso(),
            created_by=principal.account_id,
        ),
        actor=principal.actor,
        action="support_grant.create",
        entity_type="support_grant",
        changed_fields=["scope", "expires_at", "support_account_id"],
        context=context,
    )


def list_grants(*, principal: Principal) -> list[SupportGrant]:
    tenant_id = require_owner(principal)
    return grants.query(tenant_id=tenant_id, order_by="c.created_at DESC")


def revoke_grant(*, principal: Principal, grant_id: str, context: RequestContext) -> SupportGrant:
    """Ends support access at once: every support request re-reads its grant."""
    tenant_id = require_owner(principal)
    grant = grants.get(tenant_id=tenant_id, item_id=grant_id)
    if grant is None:
        raise not_found("Support grant")
    if grant.revoked_at is None:
        grant.revoked_at = utc_iso()
        grant = operations.replace(
            grants,
            tenant_id=tenant_id,
            item=grant,
            actor=principal.actor,
            action="support_grant.revoke",
            entity_type="support_grant",
            changed_fields=["revoked_at"],
            context=context,
        )
    return grant


def find_active_grant(*, tenant_id: str, support_account_id: str) -> SupportGrant | None:
    """The widest active grant of a tenant for this support person."""
    candidates = [
        g
        for g in grants.query(tenant_id=tenant_id, where="IS_NULL(c.revoked_at)")
        if grant_is_active(g, support_account_id=support_account_id)
    ]
    candidates.sort(key=lambda g: (g.scope != GrantScope.full, g.expires_at))
    return candidates[0] if candidates else None


def support_principal(
    session: Session, *, read_path: str | None, context: RequestContext
) -> Principal:
    """A support session acts in a tenant only under an active grant, read on every request
    (P07); what support reads there (`read_path`, the route of a read) is logged like what
    it writes."""
    tenant_id: str | None = None
    read_only = False
    if session.acting_tenant_id and session.grant_id:
        grant = grants.get(tenant_id=session.acting_tenant_id, item_id=session.grant_id)
        if grant and grant_is_active(grant, support_account_id=session.account_id):
            tenant_id = grant.tenant_id
            read_only = grant.scope == GrantScope.read_only
    principal = Principal.of(session, tenant_id=tenant_id, read_only=read_only)
    if tenant_id is not None and read_path is not None:
        operations.record_event(
            tenant_id=tenant_id,
            actor=principal.actor,
            action="support.read",
            entity_type="route",
            entity_id=read_path,
            context=context,
        )
    return principal


def enter_tenant(
    *, principal: Principal, session: Session, tenant_id: str, context: RequestContext
) -> SupportGrant:
    """Vendor support acts in a customer's tenant under its active grant; refused without."""
    if principal.role != Role.support:
        raise forbidden("Only vendor support enters other tenants")
    if is_closing(tenant_id):
        raise forbidden("This customer has not granted support access")
    grant = find_active_grant(tenant_id=tenant_id, support_account_id=principal.account_id)
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
    return grant


def leave_tenant(*, principal: Principal, session: Session, context: RequestContext) -> None:
    """Vendor support returns to acting in no tenant."""
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


# Slugs that would read as something of the platform's own in a page address.
RESERVED_TENANT_SLUGS = frozenset(
    {"admin", "api", "assets", "embed", "help", "login", "p", "platform", "support", "w", "www"}
)


def tenant_slug_view(tenant_id: str) -> TenantSlugView:
    tenant = stored_tenant(tenant_id)
    return TenantSlugView(tenant_id=tenant_id, slug=tenant.slug if tenant else None)


def get_tenant_slug(*, principal: Principal) -> TenantSlugView:
    return tenant_slug_view(require_owner(principal))


def set_tenant_slug(*, principal: Principal, slug: str, context: RequestContext) -> TenantSlugView:
    """The owner names the customer account in readable page addresses; a slug another
    account holds, or one the platform reserves, is refused (409)."""
    tenant_id = require_owner(principal)
    if slug in RESERVED_TENANT_SLUGS:
        raise conflict("This slug is reserved", "slug")
    tenant = stored_tenant(tenant_id)
    if tenant is None:
        raise not_found("Customer account")
    if tenant.slug == slug:
        return tenant_slug_view(tenant_id)
    try:
        tenant_slugs.create(TenantSlug(id=slug, tenant_id=tenant_id))
    except DomainError as error:
        raise conflict("Another customer account uses this slug", "slug") from error
    old = tenant.slug
    tenant.slug = slug
    operations.replace(
        tenants,
        tenant_id=tenant_id,
        item=tenant,
        actor=principal.actor,
        action="tenant.slug",
        entity_type="tenant",
        entity_id=tenant_id,
        changed_fields=["slug"],
        context=context,
    )
    if old is not None:
        tenant_slugs.delete(old)
    return tenant_slug_view(tenant_id)


def tenant_of_slug(slug: str) -> str | None:
    """The tenant a readable page address names, if any."""
    found = tenant_slugs.get(slug)
    return found.tenant_id if found is not None else None


def release_tenant_slug(tenant: Tenant) -> int:
    """Frees the account's slug when the account is erased; how many lookups went."""
    return int(tenant.slug is not None and tenant_slugs.delete(tenant.slug))


def controller_profile(tenant_id: str) -> ControllerProfile | None:
    """The customer account's controller profile, for system work (pages, records, mails)."""
    return controller_profiles.get(tenant_id=tenant_id, item_id=CONTROLLER_PROFILE_ID)


def _profile_view(profile: ControllerProfile) -> ControllerProfileView:
    return ControllerProfileView.model_validate(
        profile.model_dump(include=set(ControllerProfileView.model_fields))
    )


def get_controller_profile(*, principal: Principal) -> ControllerProfileView:
    """The controller profile as the owner last saved it; 404 before the first save."""
    stored = controller_profile(require_manager(principal, write=False))
    if stored is None:
        raise not_found("Controller profile")
    return _profile_view(stored)


def set_controller_profile(
    *, principal: Principal, data: ControllerProfileInput, context: RequestContext
) -> ControllerProfileView:
    """The owner alone names the controller; the entry names the fields that changed."""
    tenant_id = require_owner(principal)
    before = controller_profile(tenant_id)
    values = data.model_dump()
    values["contact_email"] = normalize_email(data.contact_email)
    profile = ControllerProfile(
        id=CONTROLLER_PROFILE_ID, tenant_id=tenant_id, updated_at=utc_iso(), **values
    )
    old = before.model_dump() if before else {}
    changed = sorted(name for name in values if old.get(name) != profile.model_dump()[name])
    operations.upsert(
        controller_profiles,
        tenant_id=tenant_id,
        item=profile,
        actor=principal.actor,
        action="tenant.controller_profile",
        entity_type="tenant",
        entity_id=tenant_id,
        changed_fields=changed,
        context=context,
    )
    return _profile_view(profile)


def public_controller(tenant_id: str) -> PublicController | None:
    """How a participant reaches the controller, as its pages show it."""
    stored = controller_profile(tenant_id)
    if stored is None:
        return None
    return PublicController.model_validate(
        stored.model_dump(include=set(PublicController.model_fields))
    )


def erase_controller_profile(tenant_id: str) -> int:
    """The account's deletion removes its profile; how many documents went."""
    return int(controller_profiles.delete(tenant_id=tenant_id, item_id=CONTROLLER_PROFILE_ID))
