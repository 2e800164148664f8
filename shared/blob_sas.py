"""Short-lived SAS URLs for single blobs: user-delegation SAS in Azure, account key locally.

Shared keys are switched off in Azure, so there a user-delegation key (Entra ID) signs the
URL; against Azurite the account key from the connection string does. One function picks.
Times come from the real clock, not `shared.clock`: the storage service checks them.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from azure.storage.blob import (
    BlobSasPermissions,
    UserDelegationKey,
    generate_blob_sas,
)

from shared.clients import blob_container_name, blob_service
from shared.config import get_settings

_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_at: datetime


def _connection_values(connection_string: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for part in connection_string.split(";"):
        name, _, value = part.partition("=")
        if name:
            values[name.strip()] = value.strip()
    return values


@lru_cache(maxsize=8)
def _delegation_key(start: datetime, expiry: datetime) -> UserDelegationKey:
    """One user-delegation key per validity window, so that equal windows sign equal URLs."""
    return blob_service().get_user_delegation_key(key_start_time=start, key_expiry_time=expiry)


def _signed(
    *,
    container: str,
    blob_name: str,
    permission: BlobSasPermissions,
    start: datetime,
    expiry: datetime,
    content_disposition: str | None = None,
    content_type: str | None = None,
) -> str:
    settings = get_settings()
    physical = blob_container_name(container)
    blob = blob_service().get_blob_client(physical, blob_name)
    if settings.storage_connection_string and not settings.is_azure:
        values = _connection_values(settings.storage_connection_string)
        token = generate_blob_sas(
            account_name=values["AccountName"],
            container_name=physical,
            blob_name=blob_name,
            account_key=values["AccountKey"],
            permission=permission,
            start=start,
            expiry=expiry,
            protocol="https,http" if blob.url.startswith("http://") else "https",
            content_disposition=content_disposition,
            content_type=content_type,
        )
    else:
        token = generate_blob_sas(
            account_name=blob.account_name or "",
            container_name=physical,
            blob_name=blob_name,
            user_delegation_key=_delegation_key(start, expiry),
            permission=permission,
            start=start,
            expiry=expiry,
            protocol="https",
            content_disposition=content_disposition,
            content_type=content_type,
        )
    return f"{blob.url}?{token}"


def upload_url(*, container: str, blob_name: str, lifetime_seconds: int = 15 * 60) -> SignedUrl:
    """A URL that may only create or overwrite this one blob, until it expires."""
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
    return _signed(
        container=container,
        blob_name=blob_name,
        permission=BlobSasPermissions(read=True),
        start=start,
        expiry=expiry,
        content_disposition=content_disposition,
        content_type=content_type,
    )
