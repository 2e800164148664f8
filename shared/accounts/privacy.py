"""Data-subject export and erasure for admin-side accounts and their login keys."""

from typing import Any

from shared.accounts.repository import accounts, login_key_id, login_keys
from shared.auth import privacy as auth_privacy
from shared.auth import sessions
from shared.auth.models import Role
from shared.clock import utc_iso
from shared.errors import forbidden
from shared.privacy.models import DataSubject

_SECRET_FIELDS = {
    "password_hash",
    "mfa_secret",
    "mfa_pending_secret",
    "recovery_code_hashes",
    "etag",
}


def export_account(*, subject: DataSubject) -> list[dict[str, Any]]:
    """The account as stored, without secrets."""
    if subject.account_id is None:
        return []
    tenant_id, account_id = subject.tenant_id, subject.account_id
    account = accounts.get(tenant_id=tenant_id, item_id=account_id, include_blocked=True)
    if account is None:
        return []
    record = account.model_dump(mode="json", exclude=_SECRET_FIELDS)
    record["mfa_enrolled"] = account.mfa_secret is not None
    record["recovery_codes_left"] = len(account.recovery_code_hashes)
    return [record]


def erase_account(*, subject: DataSubject) -> int:
    """Blank the person's data and sign them out; the id stays so audit entries still resolve."""
    if subject.account_id is None:
        return 0
    tenant_id, account_id = subject.tenant_id, subject.account_id
    account = accounts.get(tenant_id=tenant_id, item_id=account_id, include_blocked=True)
    if account is None or account.erased:
        return 0
    if account.role == Role.owner:
        raise forbidden("The owner is erased together with the customer account")
    sessions.end_all(account_id=account.id)
    login_keys.delete(login_key_id(account.email))
    account.email = ""
    account.display_name = ""
    account.password_hash = ""
    account.mfa_secret = None
    account.mfa_pending_secret = None
    account.recovery_code_hashes = []
    account.permissions = []
    account.disabled = True
    account.erased = True
    account.updated_at = utc_iso()
    accounts.replace(tenant_id=tenant_id, item=account)
    return 1


def _email_of(subject: DataSubject) -> str | None:
    if subject.account_id is None:
        return None
    account = accounts.get(
        tenant_id=subject.tenant_id, item_id=subject.account_id, include_blocked=True
    )
    return account.email if account is not None and account.email else None


def export_throttles(*, subject: DataSubject) -> list[dict[str, Any]]:
    """The account's sign-in throttle, keyed by its e-mail address (auth keeps the counters)."""
    email = _email_of(subject)
    return auth_privacy.export_throttle_of(email) if email else []


def erase_throttles(*, subject: DataSubject) -> int:
    email = _email_of(subject)
    return auth_privacy.erase_throttle_of(email) if email else 0


def release_login(email: str) -> int:
    """Delete the login key of an e-mail address (its account is being deleted)."""
    return int(login_keys.delete(login_key_id(email)))
