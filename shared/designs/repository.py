"""Page designs and page images in the `designs` container, partitioned by webcast."""

from shared.cosmos.repository import TenantRepository
from shared.designs.models import CONTAINER, Design, PageImage

designs = TenantRepository(container=CONTAINER, model=Design, partition_field="webcast_id")
page_images = TenantRepository(container=CONTAINER, model=PageImage, partition_field="webcast_id")
