"""Audit entries and the heads of their chains, partitioned per tenant and month."""

from shared.audit.models import AuditEntry, ChainHead
from shared.cosmos.repository import TenantRepository

entries = TenantRepository(container="audit", model=AuditEntry, partition_field="partition")
heads = TenantRepository(container="audit", model=ChainHead, partition_field="partition")
