"""Purging a webcast's files from the CDN (Front Door caches segments as `immutable`).

In Azure (`cdn_purge_endpoint` set) the purge goes to the Front Door endpoint's ARM API
with the managed identity. The purge is a long-running operation that Front Door finishes
within minutes; the job does not wait for it: it asks, records the paths, and its second
sweep comes hours later (decision 0050). Locally there is no CDN: the purge is recorded (in
this process and in the log) and does nothing else; the paths are the ones Front Door
would be asked to purge."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from azure.core.credentials import TokenCredential

from shared.clients import blob_container_name
from shared.config import get_settings

log = logging.getLogger("webcast.cdn")

# The blob containers viewers read through the CDN.
DELIVERED_CONTAINERS = ("media", "live", "downloads")
ARM_BASE_URL = "https://management.azure.com"
ARM_SCOPE = "https://management.azure.com/.default"
# AFDEndpoints_PurgeContent, Microsoft.Cdn (Front Door Standard and Premium).
PURGE_API_VERSION = "2023-05-01"
_ENDPOINT_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Cdn/profiles/[^/]+"
    r"/afdEndpoints/[^/]+$",
    re.IGNORECASE,
)
_TIMEOUT_SECONDS = 30.0

# httpx is imported when Front Door is first asked: most processes never purge.
if TYPE_CHECKING:
    import httpx

recorded: list[str] = []


class CdnPurgeError(RuntimeError):
    """Front Door refused the purge; the deletion step fails and is retried."""


class FrontDoorPurger:
    """Purges paths of one Front Door endpoint through its ARM API."""

    def __init__(
        self,
        *,
        endpoint_id: str,
        credential: TokenCredential,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not _ENDPOINT_ID.match(endpoint_id):
            raise ValueError("cdn_purge_endpoint must be the ARM id of an afdEndpoints resource")
        import httpx

        self.endpoint_id = endpoint_id
        self.credential = credential
        self.http = httpx.Client(
            base_url=ARM_BASE_URL, transport=transport, timeout=_TIMEOUT_SECONDS
        )

    def purge(self, paths: list[str]) -> str | None:
        """Ask Front Door to drop the paths (wildcards allowed); the URL of the running
        operation when Front Door accepted it to finish later."""
        token = self.credential.get_token(ARM_SCOPE).token
        response = self.http.post(
            f"{self.endpoint_id}/purge",
            params={"api-version": PURGE_API_VERSION},
            json={"contentPaths": paths},
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code not in (200, 202):
            raise CdnPurgeError(
                f"Front Door answered the purge with {response.status_code}: {response.text[:500]}"
            )
        operation: str | None = response.headers.get(
            "azure-asyncoperation"
        ) or response.headers.get("location")
        return operation


@lru_cache(maxsize=1)
def _front_door(endpoint_id: str) -> FrontDoorPurger:
    from azure.identity import DefaultAzureCredential

    return FrontDoorPurger(endpoint_id=endpoint_id, credential=DefaultAzureCredential())


def webcast_paths(*, tenant_id: str, webcast_id: str) -> list[str]:
    """The CDN paths (wildcards) under which the webcast's files were delivered."""
    return [
        f"/{blob_container_name(container)}/{tenant_id}/{webcast_id}/*"
        for container in DELIVERED_CONTAINERS
    ]


def purge_webcast(*, tenant_id: str, webcast_id: str) -> list[str]:
    """Ask the CDN to drop every cached file of the webcast; the paths purged."""
    paths = webcast_paths(tenant_id=tenant_id, webcast_id=webcast_id)
    endpoint_id = get_settings().cdn_purge_endpoint
    if endpoint_id is None:
        recorded.extend(paths)
        log.info("CDN purge recorded (no CDN locally): %s", " ".join(paths))
        return paths
    operation = _front_door(endpoint_id).purge(paths)
    log.info("Front Door purge of %s accepted (operation %s)", " ".join(paths), operation)
    return paths
