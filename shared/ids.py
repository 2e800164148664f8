"""Identifiers and keyed hashes."""

import hashlib
import hmac
import secrets
import uuid

from shared.config import get_settings


def new_id() -> str:
    return uuid.uuid4().hex


def new_secret_token() -> str:
    """A URL-safe random token of 256 bits."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database stores instead of a secret token."""
    return hashlib.sha256(token.encode()).hexdigest()


def lookup_hash(kind: str, value: str) -> str:
    """A keyed hash, so that stored lookup keys do not reveal e-mail or client addresses."""
    key = get_settings().lookup_hmac_key.get_secret_value().encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def normalize_email(email: str) -> str:
    return email.strip().lower()
