"""argon2id password hashing and the password policy (OWASP ASVS 5.0, chapter V6)."""

import re
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from shared.config import get_settings
from shared.errors import validation_error

MIN_LENGTH = 12
MAX_LENGTH = 128

# Words at the heart of the most common passwords (rockyou, HIBP top lists); a password that
# is one of them with digits or symbols around it is refused, as ASVS V6.2.4 asks.
_COMMON_WORDS = frozenset(
    [
        "password",
        "passwort",
        "passw0rd",
        "qwerty",
        "qwertz",
        "azerty",
        "letmein",
        "welcome",
        "willkommen",
        "admin",
        "administrator",
        "iloveyou",
        "monkey",
        "dragon",
        "football",
        "baseball",
        "master",
        "sunshine",
        "princess",
        "shadow",
        "superman",
        "trustno1",
        "hallo",
        "hello",
        "secret",
        "geheim",
        "sommer",
        "winter",
        "fruehling",
        "herbst",
        "webcast",
        "changeme",
        "login",
        "abc123",
        "asdfgh",
        "asdfghjkl",
        "zxcvbnm",
    ]
)
_SEQUENCES = (
    "0123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiop",
    "qwertzuiop",
    "asdfghjkl",
    "yxcvbnm",
    "zxcvbnm",
)


def _is_common(password: str) -> bool:
    lowered = password.lower()
    core = re.sub(r"^[\d\W_]+|[\d\W_]+$", "", lowered)
    if core in _COMMON_WORDS or not core:
        return True
    if len(set(lowered)) < 5:
        return True
    return any(lowered in sequence or sequence.startswith(lowered) for sequence in _SEQUENCES)


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    s = get_settings()
    return PasswordHasher(
        time_cost=s.argon2_time_cost,
        memory_cost=s.argon2_memory_kib,
        parallelism=s.argon2_parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def check_policy(
    password: str,
    *,
    field: str = "password",
    context: tuple[str, ...] = (),
    min_length: int = MIN_LENGTH,
) -> None:
    """Refuse a password that is too short, too long, common or made of the account's data."""
    if len(password) < min_length:
        raise validation_error(field, f"must have at least {min_length} characters")
    if len(password) > MAX_LENGTH:
        raise validation_error(field, f"must have at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if _is_common(password):
        raise validation_error(field, "is too common or too simple")
    for word in context:
        if word and len(word) >= 4 and word.lower() in lowered:
            raise validation_error(field, "must not contain your name or e-mail address")


def hash_password(password: str) -> str:
    return hasher().hash(password)


# A real hash to verify against when the account does not exist, so that the response
# time does not reveal whether an e-mail address is registered.
@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("dummy-password-for-timing")


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return hasher().verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)
