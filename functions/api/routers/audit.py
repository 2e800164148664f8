"""Read, filter, export (CSV) and verify the tenant's audit log."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from functions.api.deps import Context, CurrentPrincipal
from functions.api.downloads import ATTACHMENT, CsvDownload
from functions.api.routing import DeferredAPIRoute
from shared.accounts.service import tenant_opened_at
from shared.audit import service
from shared.audit.models import AuditEntry, AuditFilter, VerifyReport
from shared.auth.permissions import require_manager

router = APIRouter(prefix="/api/audit", tags=["audit"], route_class=DeferredAPIRoute)


class AuditPage(BaseModel):
    items: list[AuditEntry]
    continuation: str | None


Filters = Annotated[AuditFilter, Query()]


@router.get("")
def list_entries(
    principal: CurrentPrincipal,
    filters: Filters,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    continuation: Annotated[str | None, Query(max_length=4096)] = None,
) -> AuditPage:
    tenant_id = require_manager(principal, write=False)
    page = service.list_entries(
        tenant_id=tenant_id,
        query=filters,
        max_items=limit,
        continuation=continuation,
        opened_at=tenant_opened_at(tenant_id),
    )
    return AuditPage(items=page.items, continuation=page.continuation)


@router.get("/export.csv", response_class=CsvDownload, responses=ATTACHMENT)
def export_entries(
    principal: CurrentPrincipal, filters: Filters, context: Context
) -> StreamingResponse:
    tenant_id = require_manager(principal, write=False)
    return StreamingResponse(
        service.export_csv(
            tenant_id=tenant_id,
            query=filters,
            actor=principal.actor,
            context=context,
            opened_at=tenant_opened_at(tenant_id),
        ),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )


@router.get("/verify")
def verify(principal: CurrentPrincipal, filters: Filters) -> VerifyReport:
    tenant_id = require_manager(principal, write=False)
    return service.verify(
        tenant_id=tenant_id,
        since=filters.since,
        until=filters.until,
        opened_at=tenant_opened_at(tenant_id),
    )
