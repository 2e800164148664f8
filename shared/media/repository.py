"""Assets and the VOD publication in the `media` container, partitioned by webcast."""

from shared.cache import ShortCache
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
_published_cache: ShortCache[Asset | None] = ShortCache(
    seconds=PUBLISHED_CACHE_SECONDS, max_entries=4096
)


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
    return _published_cache.get(
        webcast_id, lambda: published_asset(tenant_id=tenant_id, webcast_id=webcast_id)
    )


def forget_published(webcast_id: str) -> None:
    """Drop the cached published asset after a publish or unpublish in this process."""
    _published_cache.forget(webcast_id)
