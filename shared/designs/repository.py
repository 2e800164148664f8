"""Page designs in the `designs` container, partitioned by webcast."""

from shared.cosmos.repository import TenantRepository
from shared.designs.models import CONTAINER, Design

designs = TenantRepository(container=CONTAINER, model=Design, partition_field="webcast_id")
