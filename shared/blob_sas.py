"""Short-lived SAS URLs for single blobs: user-delegation SAS in Azure, account key locally.

Shared keys are switched off in Azure, so there a user-delegation key (Entra ID) signs the
URL; against Azurite the account key from the connection string does. One function picks.
Times come from the real clock, not `shared.clock`: the storage service checks them.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from pydantic import BaseModel

from shared.clients import blob_container_name, blob_service
from shared.config import get_settings

# The blob SDK is imported when a URL is first signed: every cold start imports this module,
# and the SDK alone is about a tenth of the import of function_app (make bench, cold_import).
if TYPE_CHECKING:
    from azure.storage.blob import BlobSasPermissions, UserDelegationKey

_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_at: datetime


class UploadTicket(BaseModel):
    """Where and how a browser puts a file: a write-only URL for one blob that expires soon.

    One PUT with `headers`; files larger than `block_bytes` (when given) go as blocks: Put
    Block (`&comp=block&blockid=...`) and then Put Block List (`&comp=blocklist`)."""

    url: str
    method: str = "PUT"
    headers: dict[str, str]
    expires_at: str
    max_bytes: int
    block_bytes: int | None = None


def _connection_values(connection_string: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for part in connection_string.split(";"):
        name, _, value = part.partition("=")
        if name:
            values[name.strip()] = value.strip()
    return values


@lru_cache(maxsize=64)
def _delegation_key(start: datetime, expiry: datetime) -> "UserDelegationKey":
    """One user-delegation key per validity window, so that equal windows sign equal URLs."""
    return blob_service().get_user_delegation_key(key_start_time=start, key_expiry_time=expiry)


@lru_cache(maxsize=1)
def _account(connection_string: str | None, environment: str) -> tuple[str, str, str | None]:
    """Account URL, account name and (locally) the account key."""
    service = blob_service()
    base = service.url.rstrip("/")
    if connection_string and environment != "azure":
        values = _connection_values(connection_string)
        return base, values["AccountName"], values["AccountKey"]
    return base, service.account_name or "", None


def _signed(
    *,
    container: str,
    blob_name: str,
    permission: "BlobSasPermissions",
    start: datetime,
    expiry: datetime,
    content_disposition: str | None = None,
    content_type: str | None = None,
    base_url: str | None = None,
) -> str:
    from azure.storage.blob import generate_blob_sas

    settings = get_settings()
    physical = blob_container_name(container)
    # Built from strings, not a BlobClient: playlists sign thousands of segment URLs.
    account_url, account_name, account_key = _account(
        settings.storage_connection_string, settings.environment
    )
    token = generate_blob_sas(
        account_name=account_name,
        container_name=physical,
        blob_name=blob_name,
        account_key=account_key,
        user_delegation_key=None if account_key else _delegation_key(start, expiry),
        permission=permission,
        start=start,
        expiry=expiry,
        protocol="https,http" if account_url.startswith("http://") else "https",
        content_disposition=content_disposition,
        content_type=content_type,
    )
    base = (base_url or account_url).rstrip("/")
    return f"{base}/{physical}/{quote(blob_name, safe='~/')}?{token}"


def upload_url(*, container: str, blob_name: str, lifetime_seconds: int = 15 * 60) -> SignedUrl:
    """A URL that may only create or overwrite this one blob, until it expires."""
    from azure.storage.blob import BlobSasPermissions

    moment = datetime.now(UTC)
    start, expiry = moment - _SKEW, moment + timedelta(seconds=lifetime_seconds)
    url = _signed(
        container=container,
        blob_name=blob_name,
        permission=BlobSasPermissions(create=True, write=True),
        start=start,
        expiry=expiry,
    )
    return SignedUrl(url=url, expires_at=expiry)


def upload_ticket(
    *,
    container: str,
    blob_name: str,
    lifetime_seconds: int,
    max_bytes: int,
    content_type: str | None = None,
    block_bytes: int | None = None,
) -> UploadTicket:
    """An `upload_url` with the headers the browser must send along."""
    signed = upload_url(container=container, blob_name=blob_name, lifetime_seconds=lifetime_seconds)
    headers = {"x-ms-blob-type": "BlockBlob"}
    if content_type is not None:
        headers["x-ms-blob-content-type"] = content_type
    return UploadTicket(
        url=signed.url,
        headers=headers,
        expires_at=signed.expires_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        max_bytes=max_bytes,
        block_bytes=block_bytes,
    )


def read_url(
    *,
    container: str,
    blob_name: str,
    start: datetime,
    expiry: datetime,
    content_disposition: str | None = None,
    content_type: str | None = None,
) -> str:
    """A read-only URL for one blob, valid from `start` to `expiry`.

    The same blob, window and response headers always give the same URL, so callers that
    round the window (all viewers of a webcast in one time window) hand out cacheable URLs.
    """
    from azure.storage.blob import BlobSasPermissions

    return _signed(
        container=container,
        blob_name=blob_name,
        permission=BlobSasPermissions(read=True),
        start=start,
        expiry=expiry,
        content_disposition=content_disposition,
        content_type=content_type,
        base_url=get_settings().media_delivery_base_url,
    )


def shared_window(seconds: int) -> tuple[datetime, datetime]:
    """A read URL's validity that every caller within one window of `seconds` shares (so
    the URL is the same and cacheable): from one window before it opened (clock skew) to two
    after, so that a URL handed out stays valid for at least one more window."""
    # The real clock, not shared.clock: the storage service checks the window.
    opened = int(time.time()) // seconds * seconds
    return (
        datetime.fromtimestamp(opened - seconds, UTC),
        datetime.fromtimestamp(opened + 2 * seconds, UTC),
    )


def read_origin() -> str:
    """The origin (scheme, host, port) of every read URL `read_url` hands out: a page's
    Content-Security-Policy lets media and fetches come from there."""
    settings = get_settings()
    base = settings.media_delivery_base_url
    if base is None:
        base, _, _ = _account(settings.storage_connection_string, settings.environment)
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}"
