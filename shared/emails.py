"""E-mail address validation, fast for the plain addresses that fill imported files."""

import re
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

__all__ = ["EmailNotValidError", "checked_email"]

# An unquoted ASCII local part (RFC 5322 dot-atom): email_validator leaves it as it is.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_MAX_LOCAL = 64
_MAX_ADDRESS = 254


@lru_cache(maxsize=4096)
def _domain(domain: str) -> str:
    """The normalised domain, validated once per domain (an import holds few of them)."""
    return validate_email(f"x@{domain}", check_deliverability=False).domain


def checked_email(text: str) -> str:
    """The address as email_validator normalises it; raises EmailNotValidError.

    Plain ASCII addresses have only their domain validated, once per domain; every other
    address goes through the whole validator."""
    local, at, domain = text.rpartition("@")
    if at and domain.isascii() and len(local) <= _MAX_LOCAL and _PLAIN_LOCAL.fullmatch(local):
        address = f"{local}@{_domain(domain)}"
        if len(address) <= _MAX_ADDRESS:
            return address
    return validate_email(text, check_deliverability=False).normalized
