"""Webcasts are tenant data: one document per webcast in the tenant's partition."""

from shared.cosmos.repository import TenantRepository
from shared.webcasts.models import SlugReservation, Webcast

webcasts = TenantRepository(container="webcasts", model=Webcast)
slugs = TenantRepository(container="webcasts", model=SlugReservation)
