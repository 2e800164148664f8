"""Audit entries and the heads of their chains, partitioned per tenant and month; entries
waiting for a replay in one pending partition per tenant (decision 0043)."""

from shared.audit.models import AuditEntry, ChainHead, PendingEntry
from shared.cosmos.repository import TenantRepository

entries = TenantRepository(container="audit", model=AuditEntry, partition_field="partition")
heads = TenantRepository(container="audit", model=ChainHead, partition_field="partition")
pending = TenantRepository(container="audit", model=PendingEntry, partition_field="partition")
