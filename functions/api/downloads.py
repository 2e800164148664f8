"""Streamed export downloads: an attachment that no cache keeps."""

from typing import Any

from fastapi.responses import Response, StreamingResponse

from shared.spreadsheet import XLSX_TYPE, ExportFile

CSV_TYPE = "text/csv"
ATTACHMENT: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            "Content-Disposition": {
                "description": "attachment, with the file's name",
                "schema": {"type": "string", "pattern": "^attachment; filename="},
                "required": True,
            }
        }
    }
}
# For the route whose format is a path parameter: the other of the two.
OR_XLSX: dict[int | str, dict[str, Any]] = {
    200: {**ATTACHMENT[200], "content": {XLSX_TYPE: {"schema": {"type": "string"}}}}
}


ZIP_TYPE = "application/zip"
ZIP_ATTACHMENT: dict[int | str, dict[str, Any]] = {
    200: {
        **ATTACHMENT[200],
        "content": {ZIP_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}


class CsvDownload(StreamingResponse):
    """As a route's `response_class`, documents its answer as a CSV file."""

    media_type = CSV_TYPE


class ZipDownload(Response):
    """As a route's `response_class`, documents its answer as a ZIP file."""

    media_type = ZIP_TYPE


class XlsxDownload(StreamingResponse):
    """As a route's `response_class`, documents its answer as an Excel workbook."""

    media_type = XLSX_TYPE


def _attachment_headers(filename: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }


def download(export: ExportFile) -> StreamingResponse:
    return StreamingResponse(
        export.chunks, media_type=export.media_type, headers=_attachment_headers(export.filename)
    )


def attachment(data: bytes, *, media_type: str, filename: str) -> Response:
    """A file built whole in memory, as an attachment that no cache keeps."""
    return Response(data, media_type=media_type, headers=_attachment_headers(filename))
