"""Purging a webcast's files from the CDN (Front Door caches segments as `immutable`).

Locally there is no CDN: the purge is recorded (in this process and in the log) and does
nothing else; the paths it names are the ones Front Door would be asked to purge."""

import logging

from shared.clients import blob_container_name

log = logging.getLogger("webcast.cdn")

# The blob containers viewers read through the CDN.
DELIVERED_CONTAINERS = ("media", "live", "downloads")

recorded: list[str] = []


def webcast_paths(*, tenant_id: str, webcast_id: str) -> list[str]:
    """The CDN paths (wildcards) under which the webcast's files were delivered."""
    return [
        f"/{blob_container_name(container)}/{tenant_id}/{webcast_id}/*"
        for container in DELIVERED_CONTAINERS
    ]


def purge_webcast(*, tenant_id: str, webcast_id: str) -> list[str]:
    """Ask the CDN to drop every cached file of the webcast; the paths purged."""
    paths = webcast_paths(tenant_id=tenant_id, webcast_id=webcast_id)
    recorded.extend(paths)
    log.info("CDN purge recorded (no CDN locally): %s", " ".join(paths))
    return paths
