"""Handouts in the `downloads` container, partitioned by webcast."""

from shared.cosmos.repository import TenantRepository
from shared.downloads.models import CONTAINER, Handout

handouts = TenantRepository(container=CONTAINER, model=Handout, partition_field="webcast_id")
