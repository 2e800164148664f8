"""Sign-in of admin-side accounts: password and TOTP, enrolment, recovery codes, password
change and reset."""

from dataclasses import dataclass

from shared import mail_queue
from shared.accounts.models import Account
from shared.accounts.repository import accounts, find_by_email
from shared.accounts.service import is_closing
from shared.audit import operations
from shared.audit.models import PLATFORM_TENANT, Actor, ActorKind, RequestContext
from shared.auth import sessions, throttle, totp
from shared.auth.models import Principal, Role, Session, SessionStage
from shared.auth.passwords import check_policy, hash_password, needs_rehash, verify_password
from shared.auth.tokens import mint, spend, usable
from shared.clock import utc_iso
from shared.config import get_settings
from shared.errors import DomainError, forbidden, unauthorized, validation_error
from shared.ids import new_id

WRONG_CREDENTIALS = "E-mail address or password is wrong"
PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose name, not a secret


def _shut_out(account: Account) -> bool:
    """Disabled, erased, or of a customer account that is being deleted."""
    if account.disabled or account.erased:
        return True
    return account.role != Role.support and is_closing(account.tenant_id)


@dataclass
class Enrolment:
    secret: str
    uri: str


def _actor(account: Account | None) -> Actor:
    if account is None:
        return Actor(kind=ActorKind.anonymous)
    kind = {
        Role.owner: ActorKind.owner,
        Role.subaccount: ActorKind.subaccount,
        Role.support: ActorKind.support,
    }[account.role]
    return Actor(
        kind=kind, id=account.id, role=account.role.value, home_tenant_id=account.tenant_id
    )


def _audit_sign_in(
    account: Account | None,
    action: str,
    outcome: str,
    context: RequestContext,
    changed_fields: list[str] | None = None,
) -> None:
    operations.record_event(
        tenant_id=account.tenant_id if account else PLATFORM_TENANT,
        actor=_actor(account),
        action=action,
        entity_type="account",
        entity_id=account.id if account else None,
        changed_fields=changed_fields,
        outcome=outcome,
        context=context,
    )


def sign_in(*, email: str, password: str, context: RequestContext) -> sessions.IssuedSession:
    """Check the password; the session it starts still needs MFA (or MFA enrolment)."""
    keys = throttle.keys(email=email.strip().lower(), client_ip=context.client_ip)
    account = find_by_email(email)
    try:
        throttle.attempt(keys)
    except DomainError:
        _audit_sign_in(account, "sign_in.password", "locked", context)
        raise
    valid = verify_password(account.password_hash if account else None, password)
    if account is None or not valid or _shut_out(account):
        outcome = "disabled" if account and valid else "failure"
        _audit_sign_in(account, "sign_in.password", outcome, context)
        raise unauthorized(WRONG_CREDENTIALS)
    throttle.succeeded(keys)
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
        account = accounts.replace(tenant_id=account.tenant_id, item=account)
    stage = SessionStage.mfa if account.mfa_secret else SessionStage.enroll
    _audit_sign_in(account, "sign_in.password", "success", context)
    return sessions.start(account=account, stage=stage)


def _account_of(session: Session) -> Account:
    account = accounts.get(tenant_id=session.home_tenant_id, item_id=session.account_id)
    if account is None or _shut_out(account):
        sessions.end(session.id)
        raise unauthorized("This account is not available")
    return account


def verify_second_factor(
    *, session: Session, code: str | None, recovery_code: str | None, context: RequestContext
) -> sessions.IssuedSession:
    """Accept a TOTP code (each time step once) or an unused recovery code; new session id."""
    if session.stage != SessionStage.mfa:
        raise forbidden("No second factor is due in this session")
    account = _account_of(session)
    keys = throttle.keys(email=account.email, client_ip=context.client_ip)
    throttle.attempt(keys)
    accepted = False
    action = "sign_in.mfa"
    if code and account.mfa_secret:
        step = totp.matching_step(
            secret=account.mfa_secret, code=code, after_step=account.mfa_last_step
        )
        if step is not None:
            account.mfa_last_step = step
            accepted = True
    elif recovery_code:
        action = "sign_in.recovery_code"
        index = totp.find_recovery_code(account.recovery_code_hashes, recovery_code)
        if index is not None:
            del account.recovery_code_hashes[index]
            accepted = True
    if accepted:
        try:
            # The etag makes a replayed code lose against the first use.
            account = accounts.replace(tenant_id=account.tenant_id, item=account)
        except DomainError:
            accepted = False
    if not accepted:
        _audit_sign_in(account, action, "failure", context)
        field = "code" if code else "recovery_code"
        raise DomainError(
            detail="The code is wrong, expired or used already",
            status=401,
            code="invalid-code",
            title="Unauthorized",
            errors=[validation_error(field, "is not valid").errors[0]],
        )
    throttle.succeeded(keys)
    _audit_sign_in(account, action, "success", context)
    return sessions.rotate(old=session, account=account, stage=SessionStage.full)


def begin_enrolment(*, session: Session, context: RequestContext) -> Enrolment:
    """A new TOTP secret, pending until a code from it is confirmed."""
    if session.stage != SessionStage.enroll:
        raise forbidden("MFA is set up already for this account")
    account = _account_of(session)
    account.mfa_pending_secret = totp.new_secret()
    account = accounts.replace(tenant_id=account.tenant_id, item=account)
    secret = account.mfa_pending_secret or ""
    _audit_sign_in(account, "mfa.enrolment_start", "success", context)
    return Enrolment(
        secret=secret,
        uri=totp.provisioning_uri(
            secret=secret, account_name=account.email, issuer=get_settings().totp_issuer
        ),
    )


def confirm_enrolment(
    *, session: Session, code: str, context: RequestContext
) -> tuple[sessions.IssuedSession, list[str]]:
    """Activate MFA with a first valid code; returns the recovery codes, shown once."""
    if session.stage != SessionStage.enroll:
        raise forbidden("MFA is set up already for this account")
    account = _account_of(session)
    if not account.mfa_pending_secret:
        raise validation_error("code", "start the enrolment first")
    step = totp.matching_step(secret=account.mfa_pending_secret, code=code, after_step=0)
    if step is None:
        _audit_sign_in(account, "mfa.enrolment_confirm", "failure", context)
        raise validation_error("code", "is not valid for the new secret")
    codes = totp.new_recovery_codes()
    account.mfa_secret = account.mfa_pending_secret
    account.mfa_pending_secret = None
    account.mfa_last_step = step
    account.recovery_code_hashes = [totp.hash_recovery_code(c) for c in codes]
    account.updated_at = utc_iso()
    account = accounts.replace(tenant_id=account.tenant_id, item=account)
    _audit_sign_in(account, "mfa.enrolment_confirm", "success", context)
    return sessions.rotate(old=session, account=account, stage=SessionStage.full), codes


def change_password(
    *,
    principal: Principal,
    session: Session,
    current_password: str,
    new_password: str,
    context: RequestContext,
) -> sessions.IssuedSession:
    account = _account_of(session)
    if not verify_password(account.password_hash, current_password):
        _audit_sign_in(account, "account.password_change", "failure", context)
        raise validation_error("current_password", "is wrong")
    check_policy(
        new_password,
        field="new_password",
        context=(account.display_name, account.email.split("@")[0]),
    )
    account.password_hash = hash_password(new_password)
    account.updated_at = utc_iso()
    account = accounts.replace(tenant_id=account.tenant_id, item=account)
    sessions.end_all(account_id=account.id)
    operations.record_write(
        tenant_id=account.tenant_id,
        actor=principal.actor,
        action="account.password_change",
        entity_type="account",
        entity_id=account.id,
        changed_fields=["password"],
        context=context,
    )
    return sessions.start(account=account, stage=SessionStage.full)


def request_password_reset(*, email: str, context: RequestContext) -> None:
    """Queue a reset mail if the account exists; the answer is the same either way."""
    account = find_by_email(email)
    if account is None or _shut_out(account):
        _audit_sign_in(None, "password_reset.request", "unknown", context)
        return
    if not throttle.allow_mail(
        kind=PASSWORD_RESET, address=account.email, client_ip=context.client_ip
    ):
        _audit_sign_in(account, "password_reset.request", "throttled", context)
        return
    _audit_sign_in(account, "password_reset.request", "success", context)
    mail_queue.enqueue(
        kind=PASSWORD_RESET,
        tenant_id=account.tenant_id,
        account_id=account.id,
        idempotency_key=new_id(),
    )


def issue_reset_token(*, tenant_id: str, account_id: str) -> str:
    """Called by the mail worker: the raw token exists only in the mail it sends."""
    return mint(
        purpose=PASSWORD_RESET,
        tenant_id=tenant_id,
        owner=account_id,
        lifetime=get_settings().password_reset_seconds,
    )


def confirm_password_reset(*, token: str, new_password: str, context: RequestContext) -> None:
    """Set a new password from a mailed token; it signs nobody in, so MFA still applies."""
    stored = usable(token, purposes=(PASSWORD_RESET,))
    if stored is None:
        raise validation_error("token", "is invalid, expired or used already")
    account = accounts.get(tenant_id=stored.tenant_id, item_id=stored.account_id)
    if account is None or _shut_out(account):
        raise validation_error("token", "is invalid, expired or used already")
    check_policy(
        new_password,
        field="new_password",
        context=(account.display_name, account.email.split("@")[0]),
    )
    if not spend(stored):
        raise validation_error("token", "is invalid, expired or used already")
    account.password_hash = hash_password(new_password)
    account.updated_at = utc_iso()
    account = accounts.replace(tenant_id=account.tenant_id, item=account)
    sessions.end_all(account_id=account.id)
    _audit_sign_in(account, "password_reset.confirm", "success", context, ["password"])


def sign_out(*, session: Session, context: RequestContext) -> None:
    sessions.end(session.id)
    account = accounts.get(tenant_id=session.home_tenant_id, item_id=session.account_id)
    _audit_sign_in(account, "sign_out", "success", context)
