"""Participant lists as files: export (CSV, XLSX) and import jobs (participants permission).

Included before the participants router: `/participants/export.csv` must not be taken for a
participant id.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.downloads import ATTACHMENT, CsvDownload, XlsxDownload, download
from functions.api.routing import DeferredAPIRoute
from shared.participants import exports
from shared.participants.import_models import (
    CreatedImport,
    ImportCreate,
    ImportJobView,
    ImportStart,
)
from shared.participants.imports import jobs

router = APIRouter(
    prefix="/api/webcasts/{webcast_id}", tags=["participants"], route_class=DeferredAPIRoute
)


class ImportPage(BaseModel):
    items: list[ImportJobView]
    continuation: str | None


@router.get("/participants/export.csv", response_class=CsvDownload, responses=ATTACHMENT)
def export_csv(
    webcast_id: str,
    principal: CurrentPrincipal,
    context: Context,
    delimiter: Literal["comma", "semicolon", "tab"] = "comma",
) -> StreamingResponse:
    """Every participant with the answers, one column per form field (UTF-8 with BOM)."""
    return download(
        exports.export_participants(
            principal=principal,
            webcast_id=webcast_id,
            file_format="csv",
            delimiter=exports.CSV_DELIMITERS[delimiter],
            context=context,
        )
    )


@router.get("/participants/export.xlsx", response_class=XlsxDownload, responses=ATTACHMENT)
def export_xlsx(
    webcast_id: str, principal: CurrentPrincipal, context: Context
) -> StreamingResponse:
    return download(
        exports.export_participants(
            principal=principal, webcast_id=webcast_id, file_format="xlsx", context=context
        )
    )


@router.post("/imports", status_code=201)
def create_import(
    webcast_id: str, body: ImportCreate, principal: CurrentPrincipal, context: Context
) -> CreatedImport:
    """A new import job and a write-only upload URL for its file (PUT, 15 minutes)."""
    job, ticket = jobs.create_import(
        principal=principal, webcast_id=webcast_id, data=body, context=context
    )
    return CreatedImport(job=ImportJobView.of(job), upload=ticket)


@router.get("/imports")
def list_imports(
    webcast_id: str,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    continuation: Annotated[str | None, Query(max_length=4096)] = None,
) -> ImportPage:
    page = jobs.list_imports(
        principal=principal, webcast_id=webcast_id, max_items=limit, continuation=continuation
    )
    return ImportPage(
        items=[ImportJobView.of(j) for j in page.items], continuation=page.continuation
    )


@router.get("/imports/{job_id}")
def get_import(webcast_id: str, job_id: str, principal: CurrentPrincipal) -> ImportJobView:
    """Status, detected columns, progress and the report (rows, columns, reasons)."""
    return ImportJobView.of(
        jobs.get_import(principal=principal, webcast_id=webcast_id, job_id=job_id)
    )


@router.post("/imports/{job_id}/start", status_code=202, responses=problems.responses(409))
def start_import(
    webcast_id: str,
    job_id: str,
    body: ImportStart,
    principal: CurrentPrincipal,
    context: Context,
) -> ImportJobView:
    return ImportJobView.of(
        jobs.start_import(
            principal=principal, webcast_id=webcast_id, job_id=job_id, data=body, context=context
        )
    )
