"""Assets and the VOD publication in the `media` container, partitioned by webcast."""

from shared.cosmos.repository import TenantRepository
from shared.media.models import Asset, Publication

CONTAINER = "media"
PUBLICATION_ID = "vod"

assets = TenantRepository(container=CONTAINER, model=Asset, partition_field="webcast_id")
publications = TenantRepository(
    container=CONTAINER, model=Publication, partition_field="webcast_id"
)
