"""Streamed export downloads: an attachment that no cache keeps."""

from fastapi.responses import StreamingResponse

from shared.spreadsheet import ExportFile


def download(export: ExportFile) -> StreamingResponse:
    return StreamingResponse(
        export.chunks,
        media_type=export.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Cache-Control": "no-store",
        },
    )
