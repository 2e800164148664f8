"""Deletion jobs, by tenant: they outlive the webcast they delete (the owner's receipt)."""

from shared.cosmos.repository import TenantRepository
from shared.deletions.models import AccountDeletionJob, DeletionJob

jobs = TenantRepository(container="deletions", model=DeletionJob)
account_jobs = TenantRepository(container="deletions", model=AccountDeletionJob)
