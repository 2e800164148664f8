"""Where accounts, tenants, login keys and support grants are stored."""

from shared.accounts.models import (
    Account,
    ControllerProfile,
    LoginKey,
    SupportGrant,
    Tenant,
    TenantSlug,
)
from shared.audit.models import PLATFORM_TENANT
from shared.cosmos.repository import KeyedRepository, TenantRepository
from shared.ids import lookup_hash, normalize_email

tenants = TenantRepository(container="tenants", model=Tenant)
accounts = TenantRepository(container="tenants", model=Account)
grants = TenantRepository(container="tenants", model=SupportGrant)
controller_profiles = TenantRepository(container="tenants", model=ControllerProfile)
CONTROLLER_PROFILE_ID = "controller-profile"
login_keys = KeyedRepository(container="logins", model=LoginKey)
tenant_slugs = KeyedRepository(container="tenant_slugs", model=TenantSlug)


def login_key_id(email: str) -> str:
    return f"email:{lookup_hash('email', normalize_email(email))}"


def find_by_email(email: str) -> Account | None:
    key = login_keys.get(login_key_id(email))
    if key is None:
        return None
    return accounts.get(tenant_id=key.tenant_id, item_id=key.account_id)


def reserve_email(*, email: str, tenant_id: str, account_id: str) -> LoginKey:
    """Claim an e-mail address for one account; a second claim fails with 409."""
    return login_keys.create(
        LoginKey(id=login_key_id(email), tenant_id=tenant_id, account_id=account_id)
    )


def release_email(email: str) -> None:
    login_keys.delete(login_key_id(email))


__all__ = [
    "PLATFORM_TENANT",
    "accounts",
    "find_by_email",
    "grants",
    "login_keys",
    "release_email",
    "reserve_email",
    "tenant_slugs",
    "tenants",
]
