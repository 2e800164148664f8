"""Poll answers as CSV or XLSX (P04): one row per answer, one column per question.

Rows are read shard by shard and written as they come; every cell passes `safe_cell`. The
participant column exists only when the webcast ties poll results to participants.
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
from shared.polls.models import CHOICE_TYPES, Poll, PollKind, Question
from shared.polls.repository import VOTE_SHARDS, shard_partition, votes
from shared.polls.service import get as get_poll
from shared.spreadsheet import safe_cell
from shared.webcasts.repository import webcasts

ExportFormat = Literal["csv", "xlsx"]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FLUSH_BYTES = 64 * 1024
_XLSX_CELL_LIMIT = 32_767


@dataclass
class ExportFile:
    filename: str
    media_type: str
    chunks: Iterator[bytes]


def _cell(question: Question, value: Any) -> str:
    if value is None:
        return ""
    labels = {o.id: o.label for o in question.options} if question.type in CHOICE_TYPES else {}
    if isinstance(value, list):
        return "; ".join(labels.get(str(v), str(v)) for v in value)
    return labels.get(str(value), str(value))


def _header(poll: Poll, tied: bool) -> list[str]:
    fixed = ["Submitted at"] + (["Participant id"] if tied else [])
    if poll.kind == PollKind.quiz:
        fixed.append("Score")
    return [safe_cell(h) for h in fixed + [q.text for q in poll.questions]]


def _rows(poll: Poll, tied: bool) -> Iterator[list[str]]:
    for shard in range(VOTE_SHARDS):
        partition = shard_partition(webcast_id=poll.webcast_id, poll_id=poll.id, shard=shard)
        for vote in votes.iterate(tenant_id=poll.tenant_id, partition_key=partition):
            fixed: list[Any] = [vote.created_at]
            if tied:
                fixed.append(vote.participant_id or "")
            if poll.kind == PollKind.quiz:
                fixed.append(vote.score)
            cells = [_cell(q, vote.answers.get(q.id)) for q in poll.questions]
            yield [safe_cell(v) for v in (*fixed, *cells)]


def _csv_chunks(header: list[str], rows: Iterator[list[str]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")  # Excel reads UTF-8 only with the BOM
    writer.writerow(header)
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

    descriptor, name = tempfile.mkstemp(prefix="poll-export-", suffix=".xlsx")
    os.close(descriptor)
    path = Path(name)
    try:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Answers")
        sheet.append([_xlsx_text(h) for h in header])
        for row in rows:
            # safe_cell leaves no value starting with "=", so openpyxl writes text, not formulas
            sheet.append([_xlsx_text(cell) for cell in row])
        workbook.save(path)
        with path.open("rb") as handle:
            while chunk := handle.read(_FLUSH_BYTES):
                yield chunk
    finally:
        path.unlink(missing_ok=True)


def export_answers(
    *,
    principal: Principal,
    webcast_id: str,
    poll_id: str,
    file_format: ExportFormat,
    context: RequestContext,
) -> ExportFile:
    """The answers as a stream; permission checked and the export audited before it starts."""
    poll = get_poll(principal=principal, webcast_id=webcast_id, poll_id=poll_id)
    webcast = webcasts.get(tenant_id=poll.tenant_id, item_id=poll.webcast_id)
    tied = bool(webcast and webcast.privacy.poll_results_tied_to_participant)
    audit.record(
        tenant_id=poll.tenant_id,
        actor=principal.actor,
        action="poll.export",
        entity_type="poll",
        entity_id=poll.id,
        changed_fields=["answers", "participant_id"] if tied else ["answers"],
        context=context,
    )
    header = _header(poll, tied)
    rows = _rows(poll, tied)
    filename = f"poll-{poll.id}.{file_format}"
    if file_format == "csv":
        return ExportFile(filename, "text/csv; charset=utf-8", _csv_chunks(header, rows))
    return ExportFile(filename, XLSX_TYPE, _xlsx_chunks(header, rows))
