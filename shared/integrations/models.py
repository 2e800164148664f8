"""Embed settings and keys, server credentials: webcast-level documents without personal data."""

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.cosmos.repository import Document
from shared.text import InputModel

_HOST = re.compile(
    r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_LOCAL_HOSTS = {"localhost", "127.0.0.1"}


def _origin(value: str) -> str:
    """An https origin (http only for localhost), normalised to scheme://host[:port]."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError as error:
        raise ValueError("must be an origin such as https://www.example.com") from error
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not _HOST.match(host):
        raise ValueError("must be an origin such as https://www.example.com")
    if parts.scheme == "http" and host not in _LOCAL_HOSTS:
        raise ValueError("must use https (http only for localhost and 127.0.0.1)")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("must be an origin only: no user, query or fragment")
    if parts.path not in ("", "/"):
        raise ValueError("must be an origin only, without a path")
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


Origin = Annotated[str, StringConstraints(max_length=300), AfterValidator(_origin)]


class EmbedSettingsInput(InputModel):
    """Whether the webcast may be embedded, and by which sites (CSP frame-ancestors)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    allowed_origins: Annotated[list[Origin], Field(max_length=20)] = []


class EmbedSettings(Document):
    doc_type = "embed-settings"

    tenant_id: str
    webcast_id: str
    enabled: bool = False
    allowed_origins: list[str] = []
    updated_at: str = ""


class EmbedKey(BaseModel):
    kid: str
    secret: str
    created_at: float


class EmbedKeys(Document):
    """The HS256 secret customer servers sign embed tokens with, and the one it replaced.

    Locally a document; in Azure this belongs in Key Vault (one secret per webcast whose
    versions are the rotations), read through the same two functions of the repository."""

    doc_type = "embed-keys"

    tenant_id: str
    webcast_id: str
    current: EmbedKey
    previous: EmbedKey | None = None
    previous_valid_until: float | None = None


class ServerCredential(Document):
    """A customer server's key for one webcast; only a keyed hash of the secret is stored."""

    doc_type = "server-credential"

    tenant_id: str
    webcast_id: str
    credential_id: str
    label: str = ""
    secret_hash: str
    created_at: str
    created_by: str
    revoked_at: str | None = None


class EmbedSettingsView(BaseModel):
    webcast_id: str
    enabled: bool
    allowed_origins: list[str]
    updated_at: str
    has_secret: bool
    secret_kid: str | None
    previous_secret_valid_until: float | None
    # The iframe for the customer's page; their server replaces {EMBED_TOKEN} per page view.
    snippet: str


class RotatedSecret(BaseModel):
    """The new secret: shown in this answer only."""

    webcast_id: str
    kid: str
    secret: str
    algorithm: str = "HS256"
    previous_secret_valid_until: float | None


Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
CredentialId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{1,64}$")]


class CredentialCreate(InputModel):
    model_config = ConfigDict(extra="forbid")

    label: Label = ""


class CredentialRevoke(InputModel):
    model_config = ConfigDict(extra="forbid")

    id: CredentialId


class CredentialView(BaseModel):
    id: str
    webcast_id: str
    label: str
    created_at: str
    created_by: str
    revoked_at: str | None

    @classmethod
    def of(cls, credential: ServerCredential) -> "CredentialView":
        return cls(
            id=credential.credential_id,
            webcast_id=credential.webcast_id,
            label=credential.label,
            created_at=credential.created_at,
            created_by=credential.created_by,
            revoked_at=credential.revoked_at,
        )


class IssuedCredential(CredentialView):
    """The secret and the ready bearer token: shown in this answer only."""

    secret: str
    token: str
