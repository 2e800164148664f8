"""The fast path of checked_email agrees with email_validator on every address it takes."""

import random
import string

import pytest
from email_validator import EmailNotValidError, validate_email

from shared.emails import checked_email

_EDGES = [
    "Anna.Schmidt@Example.ORG",
    "a+tag@example.org",
    "o'brien@example.co.uk",
    "x@localhost",
    "x@example",
    "x@invalid",
    "x@-bad.example.org",
    "x@bad-.example.org",
    "x@exa_mple.org",
    "a..b@example.org",
    ".a@example.org",
    "a.@example.org",
    '"quoted"@example.org',
    "jörg@example.org",
    "joerg@münchen.de",
    "joerg@xn--mnchen-3ya.de",
    "user@[127.0.0.1]",
    "no-at-sign.example.org",
    "@example.org",
    "a@",
    "a@b@example.org",
    "a" * 64 + "@example.org",
    "a" * 65 + "@example.org",
    "a@" + "b" * 63 + ".org",
    "a@" + "b" * 64 + ".org",
    "a" * 64 + "@" + ".".join(["b" * 60] * 3) + ".org",
    "a@example.org.",
    "a@1.2.3.4",
    "a@example.123",
    "a b@example.org",
    "a@ex ample.org",
]


def _reference(text: str) -> str | None:
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _ours(text: str) -> str | None:
    try:
        return checked_email(text)
    except EmailNotValidError:
        return None


@pytest.mark.parametrize("address", _EDGES)
def test_edge_addresses_get_the_validators_answer(address):
    assert _ours(address) == _reference(address)


def test_random_ascii_addresses_get_the_validators_answer():
    chance = random.Random(9457)
    alphabet = string.ascii_letters + string.digits + ".-_+'!#$%&*/=?^`{|}~@\"() "
    domains = ["example.org", "Example.COM", "sub.example.de", "localhost", "a-b.example", "x.y"]
    for _ in range(3000):
        local = "".join(chance.choice(alphabet) for _ in range(chance.randint(0, 70)))
        address = f"{local}@{chance.choice(domains)}"
        assert _ours(address) == _reference(address), address
