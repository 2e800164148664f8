"""argon2id password hashing and the password policy (OWASP ASVS 5.0, chapter V6)."""

import re
from functools import lru_cache
from itertools import pairwise

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from shared.config import get_settings
from shared.errors import validation_error

MIN_LENGTH = 12
MAX_LENGTH = 128

# Common passwords missing from zxcvbn's English list: German words and the product's own
# (ADR 0026); the list itself is zxcvbn's 30,000 most common passwords.
_LOCAL_WORDS = frozenset(
    [
        "passwort",
        "kennwort",
        "willkommen",
        "geheim",
        "geheimnis",
        "hallo",
        "schatz",
        "sommer",
        "winter",
        "fruehling",
        "frühling",
        "herbst",
        "fussball",
        "fußball",
        "ichliebedich",
        "administrator",
        "login",
        "webcast",
        "qwertz",
        "azerty",
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
_PREFIX = re.compile(r"^[\d\W_]+")
_SUFFIX = re.compile(r"[\d\W_]+$")
_SEPARATORS = re.compile(r"[\s._-]+")
_REPEATED = re.compile(r"^(.+?)\1+$")
# A prefix or suffix of digits and symbols this short, a run of one character or a digit
# sequence is what people add to a word to meet a rule ("Summer2024!!"), so it is taken off.
_SHORT_AFFIX = 6
_MIN_WALK_RUN = 3


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    """Loaded on first use: zxcvbn's lists take a fifth of a second to import."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"]) | _LOCAL_WORDS


@lru_cache(maxsize=1)
def _unleet_tables() -> tuple[dict[int, str], dict[int, str]]:
    """zxcvbn's leetspeak substitutions turned back into letters; where one stands for two
    letters ("1" for i or l), the first table takes the first letter, the second the last."""
    from zxcvbn.matching import L33T_TABLE

    first: dict[int, str] = {}
    last: dict[int, str] = {}
    for letter, substitutes in L33T_TABLE.items():
        for substitute in substitutes:
            first.setdefault(ord(substitute), letter)
            last[ord(substitute)] = letter
    return first, last


def _is_simple_affix(affix: str) -> bool:
    return (
        len(affix) <= _SHORT_AFFIX
        or len(set(affix)) == 1
        or any(affix in sequence for sequence in ("01234567890", "09876543210"))
    )


def _without_affixes(text: str) -> str:
    for pattern in (_PREFIX, _SUFFIX):
        found = pattern.search(text)
        if found and _is_simple_affix(found.group()):
            text = text[: found.start()] + text[found.end() :]
    return text


def _forms(password: str) -> set[str]:
    """The password as people disguise a common one: case, separators, leetspeak, digits and
    symbols around it, repetition; each form is looked up in the list."""
    lowered = password.lower()
    forms = {lowered, _SEPARATORS.sub("", lowered)}
    forms |= {_without_affixes(form) for form in forms}
    forms |= {form.translate(table) for form in forms for table in _unleet_tables()}
    forms |= {_without_affixes(form) for form in forms}
    forms |= {found.group(1) for form in forms if (found := _REPEATED.match(form))}
    return forms


@lru_cache(maxsize=1)
def _keyboards() -> tuple[dict[str, frozenset[str]], ...]:
    """The neighbours of each key on zxcvbn's layouts (QWERTY, Dvorak and two keypads)."""
    from zxcvbn.adjacency_graphs import ADJACENCY_GRAPHS

    return tuple(
        {key: frozenset("".join(n for n in around if n)) for key, around in graph.items()}
        for graph in ADJACENCY_GRAPHS.values()
    )


def _is_keyboard_walk(text: str) -> bool:
    """Whether runs of at least three neighbouring keys on one layout make up all of the text
    ("1qaz2wsx3edc")."""
    for keyboard in _keyboards():
        run = 1
        for previous, key in pairwise(text):
            if key in keyboard.get(previous, ()):
                run += 1
            elif run >= _MIN_WALK_RUN:
                run = 1
            else:
                break
        else:
            if run >= _MIN_WALK_RUN:
                return True
    return False


def _is_common(password: str) -> bool:
    lowered = password.lower()
    if len(set(lowered)) < 5:
        return True
    forms = _forms(password)
    if "" in forms or not forms.isdisjoint(_common_passwords()):
        return True
    for form in forms:
        if len(form) >= 4 and (
            _is_keyboard_walk(form) or any(form in sequence for sequence in _SEQUENCES)
        ):
            return True
    return False


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
