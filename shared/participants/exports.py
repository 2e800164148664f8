"""Participant export (P03): every participant of a webcast with the answers, as CSV or XLSX.

One column per form field ever asked (removed fields too, marked), labelled by the field's
label; every cell passes `safe_cell`, so a spreadsheet program never runs one as a formula.
CSV is produced row by row; XLSX by openpyxl's write-only mode into a temporary file that is
then streamed, so neither holds all participants in memory.
"""

import csv
import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from shared.audit import service as audit
from shared.audit.models import RequestContext
from shared.auth.models import Principal
from shared.participants.models import Consent, FieldType, FormField, Participant
from shared.participants.repository import get_form, participants
from shared.participants.service import webcast_for
from shared.spreadsheet import safe_cell
from shared.webcasts.models import Webcast

ExportFormat = Literal["csv", "xlsx"]
CSV_DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t"}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FLUSH_BYTES = 64 * 1024
_XLSX_CELL_LIMIT = 32_767
_FIXED = (
    ("email", "E-mail"),
    ("username", "User name"),
    ("name", "Name"),
    ("status", "Status"),
    ("source", "Source"),
    ("created_at", "Created at"),
)


@dataclass
class ExportFile:
    filename: str
    media_type: str
    chunks: Iterator[bytes]


def _answer(field: FormField, value: Any) -> str:
    if value is None:
        return ""
    labels = {option.id: option.label for option in field.options}
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(labels.get(str(v), str(v)) for v in value)
    if field.type == FieldType.single_choice:
        return labels.get(str(value), str(value))
    return str(value)


def _consents(consents: list[Consent]) -> str:
    parts = []
    for consent in consents:
        text = f"{consent.text} (given {consent.given_at}"
        if consent.withdrawn_at:
            text += f", withdrawn {consent.withdrawn_at}"
        parts.append(text + ")")
    return "; ".join(parts)


def _answer_fields(fields: list[FormField]) -> list[tuple[FormField, str]]:
    """The fields that hold answers, with a unique column label each."""
    chosen = [f for f in fields if f.type != FieldType.display_text]
    seen: dict[str, int] = {}
    for f in chosen:
        seen[f.label.lower()] = seen.get(f.label.lower(), 0) + 1
    labelled = []
    for f in chosen:
        label = f.label if seen[f.label.lower()] == 1 else f"{f.label} [{f.id}]"
        labelled.append((f, f"{label} (removed)" if f.removed else label))
    return labelled


def _header(answer_fields: list[tuple[FormField, str]]) -> list[str]:
    return [label for _, label in _FIXED] + [label for _, label in answer_fields] + ["Consents"]


def _row(participant: Participant, answer_fields: list[tuple[FormField, str]]) -> list[str]:
    fixed = [getattr(participant, name) for name, _ in _FIXED]
    answers = [_answer(f, participant.answers.get(f.id)) for f, _ in answer_fields]
    return [safe_cell(v) for v in (*fixed, *answers, _consents(participant.consents))]


def _rows(webcast: Webcast, answer_fields: list[tuple[FormField, str]]) -> Iterator[list[str]]:
    for participant in participants.iterate(
        tenant_id=webcast.tenant_id, partition_key=webcast.id, order_by="c.created_at"
    ):
        yield _row(participant, answer_fields)


def _csv_chunks(header: list[str], rows: Iterator[list[str]], delimiter: str) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    buffer.write("\ufeff")  # Excel reads UTF-8 (umlauts) only with the BOM
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


def _xlsx_chunks(header: list[str], rows: Iterator[list[str]]) -> Iterator[bytes]:
    from openpyxl import Workbook

    descriptor, name = tempfile.mkstemp(prefix="export-", suffix=".xlsx")
    os.close(descriptor)
    path = Path(name)
    try:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Participants")
        sheet.append([_xlsx_text(safe_cell(h)) for h in header])
        for row in rows:
            # safe_cell leaves no value starting with "=", so openpyxl writes text, not formulas
            sheet.append([_xlsx_text(cell) for cell in row])
        workbook.save(path)
        with path.open("rb") as handle:
            while chunk := handle.read(_FLUSH_BYTES):
                yield chunk
    finally:
        path.unlink(missing_ok=True)


def export_participants(
    *,
    principal: Principal,
    webcast_id: str,
    file_format: ExportFormat,
    context: RequestContext,
    delimiter: str = ",",
) -> ExportFile:
    """The export as a stream; permission checked and the export audited before it starts."""
    webcast = webcast_for(principal, webcast_id, write=False)
    form = get_form(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
    answer_fields = _answer_fields(form.fields)
    audit.record(
        tenant_id=webcast.tenant_id,
        actor=principal.actor,
        action="participant.export",
        entity_type="webcast",
        entity_id=webcast.id,
        changed_fields=[name for name, _ in _FIXED]
        + [f.id for f, _ in answer_fields]
        + ["consents"],
        context=context,
    )
    header = _header(answer_fields)
    rows = _rows(webcast, answer_fields)
    filename = f"participants-{webcast.slug}.{file_format}"
    if file_format == "csv":
        return ExportFile(filename, "text/csv; charset=utf-8", _csv_chunks(header, rows, delimiter))
    return ExportFile(filename, XLSX_TYPE, _xlsx_chunks(header, rows))
