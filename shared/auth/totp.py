"""TOTP (RFC 6238) codes and recovery codes; each code is accepted once."""

import secrets

import pyotp

from shared import clock
from shared.auth.passwords import hash_password, verify_password

STEP_SECONDS = 30
RECOVERY_CODE_COUNT = 10


def new_secret() -> str:
    return pyotp.random_base32(length=32)


def provisioning_uri(*, secret: str, account_name: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=issuer)


def matching_step(
    *, secret: str, code: str, after_step: int, at: float | None = None
) -> int | None:
    """The time step of the code (one step of drift allowed), if it is newer than after_step."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int((at if at is not None else clock.now()) // STEP_SECONDS)
    for step in (current - 1, current, current + 1):
        if step > after_step and secrets.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return [
        "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(2))
        for _ in range(RECOVERY_CODE_COUNT)
    ]


def hash_recovery_code(code: str) -> str:
    return hash_password(code.strip().lower())


def find_recovery_code(hashes: list[str], code: str) -> int | None:
    """Index of the stored hash the code matches."""
    candidate = code.strip().lower()
    for index, stored in enumerate(hashes):
        if verify_password(stored, candidate):
            return index
    return None
