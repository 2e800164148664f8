"""Streaming CSV and XLSX exports whose cells a spreadsheet program never runs as formulas."""

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ExportFormat = Literal["csv", "xlsx"]
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FLUSH_BYTES = 64 * 1024
_XLSX_CELL_LIMIT = 32_767


@dataclass
class ExportFile:
    filename: str
    media_type: str
    chunks: Iterator[bytes]


def safe_cell(value: object) -> str:
    """The value as text; a leading formula character is escaped with an apostrophe."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def csv_chunks(
    header: list[str], rows: Iterable[list[str]], *, delimiter: str = ","
) -> Iterator[bytes]:
    """CSV with a BOM (Excel reads UTF-8 umlauts only with it), in chunks of about 64 KiB."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= _FLUSH_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _xlsx_text(value: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value)[:_XLSX_CELL_LIMIT]


def xlsx_chunks(header: list[str], rows: Iterable[list[str]], *, sheet: str) -> Iterator[bytes]:
    """XLSX written by openpyxl's write-only mode to a temporary file, then streamed."""
    from openpyxl import Workbook

    descriptor, name = tempfile.mkstemp(prefix="export-", suffix=".xlsx")
    os.close(descriptor)
    path = Path(name)
    try:
        workbook = Workbook(write_only=True)
        worksheet = workbook.create_sheet(sheet)
        worksheet.append([_xlsx_text(safe_cell(h)) for h in header])
        for row in rows:
            # Cells passed safe_cell: none starts with "=", so openpyxl writes text, not formulas.
            worksheet.append([_xlsx_text(cell) for cell in row])
        workbook.save(path)
        with path.open("rb") as handle:
            while chunk := handle.read(_FLUSH_BYTES):
                yield chunk
    finally:
        path.unlink(missing_ok=True)


def export_file(
    *,
    filename: str,
    file_format: ExportFormat,
    header: list[str],
    rows: Iterable[list[str]],
    sheet: str,
    delimiter: str = ",",
) -> ExportFile:
    """The rows as a streamed CSV or XLSX download."""
    if file_format == "csv":
        return ExportFile(filename, CSV_TYPE, csv_chunks(header, rows, delimiter=delimiter))
    return ExportFile(filename, XLSX_TYPE, xlsx_chunks(header, rows, sheet=sheet))
