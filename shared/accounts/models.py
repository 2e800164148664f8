"""Customer accounts (tenants), admin accounts and vendor support grants."""

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from shared.auth.models import Permission, Role
from shared.cosmos.repository import Document
from shared.text import LINE_BREAKS, HttpsUrl, InputModel


class GrantScope(StrEnum):
    read_only = "read_only"
    full = "full"


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Tenant(Document):
    doc_type = "tenant"

    tenant_id: str
    name: str
    owner_account_id: str
    created_at: str
    # The tombstone of an account deletion: from then on nobody of the tenant signs in, no
    # session of it is left, and support cannot enter (decision 0050).
    deletion_started_at: str | None = None
    deletion_job_id: str | None = None
    # Unique across the platform; readable page addresses are /p/{slug}/{webcast slug}.
    slug: str | None = None


class Account(Document):
    """An admin-side account: owner, sub-account, or vendor support (tenant '_platform')."""

    doc_type = "account"

    tenant_id: str
    role: Role
    email: str
    display_name: str
    password_hash: str
    permissions: list[Permission] = []
    disabled: bool = False
    mfa_secret: str | None = None
    mfa_pending_secret: str | None = None
    mfa_last_step: int = 0
    recovery_code_hashes: list[str] = []
    created_at: str
    updated_at: str
    erased: bool = False


class TenantSlugInput(InputModel):
    model_config = ConfigDict(extra="forbid")

    slug: Annotated[str, StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")]


class TenantSlugView(BaseModel):
    tenant_id: str
    slug: str | None


class TenantSlug(Document):
    """Makes a tenant's slug unique across the platform: its id is the slug."""

    doc_type = "tenant-slug"

    tenant_id: str


class LoginKey(Document):
    """Keyed hash of an e-mail address pointing to its account; makes e-mails unique."""

    doc_type = "login"

    tenant_id: str
    account_id: str


class SupportGrant(Document):
    doc_type = "support-grant"

    tenant_id: str
    scope: GrantScope
    support_account_id: str | None = None
    expires_at: str
    created_at: str
    created_by: str
    revoked_at: str | None = None


class Strict(InputModel):
    model_config = ConfigDict(extra="forbid")


class TenantCreate(Strict):
    """A new customer account and its owner, as the operator CLI and the seeding give them."""

    name: Name
    owner_email: EmailStr
    owner_name: Name
    owner_password: Annotated[str, Field(min_length=1, max_length=1024)]


class SupportAccountCreate(Strict):
    email: EmailStr
    display_name: Name
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class SubAccountCreate(Strict):
    email: EmailStr
    display_name: Name
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    permissions: list[Permission] = []


class SubAccountUpdate(Strict):
    display_name: Name | None = None
    permissions: list[Permission] | None = None
    disabled: bool | None = None


class AccountView(BaseModel):
    id: str
    tenant_id: str
    role: Role
    email: str
    display_name: str
    permissions: list[Permission]
    disabled: bool
    mfa_enrolled: bool
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, account: Account) -> "AccountView":
        return cls(
            id=account.id,
            tenant_id=account.tenant_id,
            role=account.role,
            email=account.email,
            display_name=account.display_name,
            permissions=account.permissions,
            disabled=account.disabled,
            mfa_enrolled=account.mfa_secret is not None,
            created_at=account.created_at,
            updated_at=account.updated_at,
        )


class GrantCreate(Strict):
    scope: GrantScope
    expires_at: str = Field(description="ISO 8601 UTC time the grant ends (at most 30 days)")
    support_account_id: str | None = Field(
        default=None, description="one named support person, or any support staff when empty"
    )


class GrantView(BaseModel):
    id: str
    tenant_id: str
    scope: GrantScope
    support_account_id: str | None
    expires_at: str
    created_at: str
    revoked_at: str | None
    active: bool


Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class SubProcessor(Strict):
    """A processor the customer engages besides the platform's vendor (Art. 28(2) GDPR)."""

    name: Name
    purpose: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    location: Name  # where it processes the data, e.g. "Germany" or "EU"


class ControllerProfileInput(Strict):
    """Who the controller is: named in the record of processing, the participant pages'
    imprint and privacy links, forwarded requests and mails."""

    legal_name: Name
    postal_address: Annotated[Address, LINE_BREAKS]
    contact_email: EmailStr
    dpo_contact: Annotated[Address, LINE_BREAKS] | None = None  # data-protection officer
    imprint_url: HttpsUrl | None = None
    privacy_policy_url: HttpsUrl | None = None
    sub_processors: Annotated[list[SubProcessor], Field(max_length=50)] = []


class ControllerProfile(Document):
    """The customer account's controller profile; one per tenant, id `controller-profile`."""

    doc_type = "controller-profile"

    tenant_id: str
    legal_name: str
    postal_address: str
    contact_email: str
    dpo_contact: str | None = None
    imprint_url: str | None = None
    privacy_policy_url: str | None = None
    sub_processors: list[SubProcessor] = []
    updated_at: str


class ControllerProfileView(ControllerProfileInput):
    updated_at: str


class PublicController(BaseModel):
    """What a participant page shows of the controller: how to reach it."""

    legal_name: str
    postal_address: str
    contact_email: str
    dpo_contact: str | None
    imprint_url: str | None
    privacy_policy_url: str | None
