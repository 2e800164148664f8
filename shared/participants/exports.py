"""Participant export (P03): every participant of a webcast with the answers, as CSV or XLSX.

One column per form field ever asked (removed fields too, marked), labelled by the field's
label; every cell passes `safe_cell`, so a spreadsheet program never runs one as a formula.
CSV is produced row by row; XLSX by openpyxl's write-only mode into a temporary file that is
then streamed, so neither holds all participants in memory.
"""

from collections.abc import Iterator
from typing import Any

from shared.audit import operations
from shared.audit.models import RequestContext
from shared.auth.models import Permission, Principal
from shared.participants.models import Consent, FieldType, FormField, Participant
from shared.participants.repository import get_form, participants
from shared.spreadsheet import ExportFile, ExportFormat, export_file, safe_cell
from shared.webcasts.models import Webcast
from shared.webcasts.service import admin_webcast

CSV_DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t"}
_FIXED = (
    ("email", "E-mail"),
    ("username", "User name"),
    ("name", "Name"),
    ("status", "Status"),
    ("source", "Source"),
    ("created_at", "Created at"),
)


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


def export_participants(
    *,
    principal: Principal,
    webcast_id: str,
    file_format: ExportFormat,
    context: RequestContext,
    delimiter: str = ",",
) -> ExportFile:
    """The export as a stream; permission checked and the export audited before it starts."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=False)
    form = get_form(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
    answer_fields = _answer_fields(form.fields)
    operations.record_event(
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
    return export_file(
        filename=f"participants-{webcast.slug}.{file_format}",
        file_format=file_format,
        header=header,
        rows=rows,
        sheet="Participants",
        delimiter=delimiter,
    )
