"""Password policy, TOTP steps and permission rules without any emulator."""

import pyotp
import pytest

from shared.auth import totp
from shared.auth.models import Permission, Principal, Role
from shared.auth.passwords import check_policy
from shared.auth.permissions import (
    require_manager,
    require_member,
    require_owner,
    require_permission,
)
from shared.errors import DomainError


@pytest.mark.parametrize(
    "password", ["short", "a" * 129, "password1234", "aaaabbbbaaaa", "olivia-secret-phrase"]
)
def test_weak_passwords_are_refused(password):
    with pytest.raises(DomainError) as refused:
        check_policy(password, context=("Olivia Owner", "olivia"))
    assert refused.value.errors[0].field == "password"


@pytest.mark.claim("P28")
@pytest.mark.parametrize(
    "password",
    [
        "P@ssw0rd2024",  # leetspeak and a year
        "Summer2024!!",  # a listed word with a year and symbols
        "qwertyuiop12",  # a keyboard row and digits
        "passwordpassword",  # a listed word twice
        "Il0veY0u!!!!",
        "Passwort2025",  # German, from the local supplement
        "1qaz2wsx3edc",  # keyboard columns
        "zaq12wsxcde3",  # a keyboard walk with turns
        "Dragon123456",
        "Welcome@2025",
        "monkey monkey",
        "12345678901234",
        "s3cr3t s3cr3t",
    ],
)
def test_common_passwords_are_refused_in_their_usual_disguises(password):
    with pytest.raises(DomainError) as refused:
        check_policy(password)
    assert refused.value.errors[0].field == "password"
    assert refused.value.errors[0].reason == "is too common or too simple"


@pytest.mark.claim("P28")
@pytest.mark.parametrize(
    "password",
    ["correct horse battery staple", "another long passphrase 2026", "Kite-Orchid-Tramway-7"],
)
def test_a_long_passphrase_passes(password):
    check_policy(password, context=("Olivia Owner", "olivia"))


def test_totp_accepts_one_step_of_drift_and_never_an_older_step():
    secret = totp.new_secret()
    at = 1_800_000_000.0
    step = int(at // 30)
    code = pyotp.TOTP(secret).at(int(at))
    assert totp.matching_step(secret=secret, code=code, after_step=0, at=at) == step
    assert totp.matching_step(secret=secret, code=code, after_step=step, at=at) is None
    late = pyotp.TOTP(secret).at(int(at) - 30)
    assert totp.matching_step(secret=secret, code=late, after_step=0, at=at) == step - 1
    too_late = pyotp.TOTP(secret).at(int(at) - 90)
    assert totp.matching_step(secret=secret, code=too_late, after_step=0, at=at) is None
    assert totp.matching_step(secret=secret, code="12ab56", after_step=0, at=at) is None


def test_recovery_codes_are_distinct_and_verify_only_against_their_hash():
    codes = totp.new_recovery_codes()
    assert len(set(codes)) == totp.RECOVERY_CODE_COUNT
    hashes = [totp.hash_recovery_code(c) for c in codes[:2]]
    assert totp.find_recovery_code(hashes, codes[1].upper()) == 1
    assert totp.find_recovery_code(hashes, codes[2]) is None


def _principal(role: Role, *, permissions=(), tenant="t1", read_only=False) -> Principal:
    return Principal(
        account_id="a",
        role=role,
        home_tenant_id="home",
        tenant_id=tenant,
        permissions=list(permissions),
        read_only=read_only,
        session_id="s",
    )


@pytest.mark.claim("P29")
@pytest.mark.parametrize("permission", list(Permission))
def test_module_permissions_need_the_matching_grant_of_the_owner(permission):
    """P03-P06 as permission checks: participants, polls, moderation, meetings."""
    holder = _principal(Role.subaccount, permissions=[permission])
    assert require_permission(holder, permission, write=True) == "t1"
    others = [p for p in Permission if p != permission]
    lacking = _principal(Role.subaccount, permissions=others)
    with pytest.raises(DomainError) as refused:
        require_permission(lacking, permission, write=False)
    assert refused.value.status == 403
    assert require_permission(_principal(Role.owner), permission, write=True) == "t1"


@pytest.mark.claim("P07")
def test_support_needs_a_grant_and_read_only_grants_refuse_writes():
    without = _principal(Role.support, tenant=None)
    for check in (lambda p: require_member(p), lambda p: require_manager(p, write=False)):
        with pytest.raises(DomainError):
            check(without)
    reader = _principal(Role.support, read_only=True)
    assert require_manager(reader, write=False) == "t1"
    with pytest.raises(DomainError):
        require_manager(reader, write=True)
    with pytest.raises(DomainError):
        require_permission(reader, Permission.polls, write=True)
    with pytest.raises(DomainError):
        require_owner(_principal(Role.support))
