"""Assets and the VOD publication in the `media` container, partitioned by webcast."""

import threading
import time

from shared.cosmos.repository import TenantRepository
from shared.media.models import Asset, AssetStatus, Publication

CONTAINER = "media"
PUBLICATION_ID = "vod"

assets = TenantRepository(container=CONTAINER, model=Asset, partition_field="webcast_id")
publications = TenantRepository(
    container=CONTAINER, model=Publication, partition_field="webcast_id"
)

# Viewers read the published asset on every playlist request: keep it per process briefly.
PUBLISHED_CACHE_SECONDS = 5.0
_PUBLISHED_CACHE_SIZE = 4096
_published_cache: dict[str, tuple[float, Asset | None]] = {}
_published_lock = threading.Lock()


def published_asset(*, tenant_id: str, webcast_id: str) -> Asset | None:
    """The ready asset a webcast offers as its VOD, if any."""
    publication = publications.get(
        tenant_id=tenant_id, item_id=PUBLICATION_ID, partition_key=webcast_id
    )
    if publication is None:
        return None
    asset = assets.get(tenant_id=tenant_id, item_id=publication.asset_id, partition_key=webcast_id)
    if asset is None or asset.status != AssetStatus.ready:
        return None
    return asset


def published_asset_cached(*, tenant_id: str, webcast_id: str) -> Asset | None:
    """`published_asset` for viewer hot paths, kept for a few seconds per process."""
    moment = time.monotonic()
    with _published_lock:
        cached = _published_cache.get(webcast_id)
    if cached is not None and cached[0] > moment:
        return cached[1]
    asset = published_asset(tenant_id=tenant_id, webcast_id=webcast_id)
    with _published_lock:
        if len(_published_cache) >= _PUBLISHED_CACHE_SIZE:
            _published_cache.clear()
        _published_cache[webcast_id] = (moment + PUBLISHED_CACHE_SECONDS, asset)
    return asset


def forget_published(webcast_id: str) -> None:
    """Drop the cached published asset after a publish or unpublish in this process."""
    with _published_lock:
        _published_cache.pop(webcast_id, None)
