"""Reading the rows of an import: the column mapping, each row checked, the whole file validated."""

import array
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from shared.auth.passwords import check_policy
from shared.emails import EmailNotValidError, checked_email
from shared.errors import DomainError, InvalidField
from shared.participants.forms import check_answers
from shared.participants.import_models import (
    EMAIL,
    IGNORE,
    PASSWORD,
    RESERVED_TARGETS,
    USERNAME,
    ImportCounts,
    RowError,
)
from shared.participants.models import FieldType, FormField, ParticipantInput
from shared.participants.service import PARTICIPANT_PASSWORD_MIN
from shared.participants.tabular import BadFileError, Table
from shared.text import text_problem

MAX_ROWS = 200_000
MAX_REPORTED_ERRORS = 1000
CHECKPOINT_ROWS = 10_000

_TRUE = {"true", "yes", "ja", "y", "j", "1", "x", "wahr", "✓"}
_FALSE = {"false", "no", "nein", "n", "0", "falsch", "-"}
_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_SPLIT = re.compile(r"\s*[;|\n,]\s*")
_ALIASES = {
    EMAIL: {"email", "emailadresse", "emailaddress", "mail", "mailadresse"},
    USERNAME: {"username", "benutzername", "benutzer", "login", "user"},
    PASSWORD: {"password", "passwort", "kennwort"},
}


def _importable(fields: list[FormField]) -> dict[str, FormField]:
    return {
        f.id: f
        for f in fields
        if not f.removed and f.type not in (FieldType.display_text, FieldType.consent)
    }


def mapping_errors(
    mapping: dict[str, str], fields: list[FormField], columns: list[str] | None
) -> list[InvalidField]:
    importable = _importable(fields)
    consent_ids = {f.id for f in fields if f.type == FieldType.consent}
    errors: list[InvalidField] = []
    used: set[str] = set()
    for header, target in mapping.items():
        where = f"mapping.{header}"
        if columns is not None and header not in columns:
            errors.append(InvalidField(where, "is not a column of the file"))
            continue
        if target == IGNORE:
            continue
        if target in consent_ids:
            errors.append(InvalidField(where, "consents can only be given by participants"))
        elif target not in RESERVED_TARGETS and target not in importable:
            errors.append(InvalidField(where, "is not a field of this form"))
        elif target in used:
            errors.append(InvalidField(where, "names a target that another column has already"))
        used.add(target)
    if not used & {EMAIL, USERNAME}:
        errors.append(InvalidField("mapping", "must map a column to email or username"))
    return errors


def _normal(name: str) -> str:
    return re.sub(r"[\s_\-.:]+", "", name.lower())


def auto_mapping(columns: list[str], fields: list[FormField]) -> dict[str, str]:
    """Columns matched to targets by name (field id or label, or a usual name for e-mail)."""
    names: dict[str, str] = {}
    for target, aliases in _ALIASES.items():
        names.update(dict.fromkeys(aliases, target))
    for form_field in _importable(fields).values():
        names.setdefault(_normal(form_field.id), form_field.id)
        names.setdefault(_normal(form_field.label), form_field.id)
    mapping: dict[str, str] = {}
    for column in columns:
        found = names.get(_normal(column))
        if found and found not in mapping.values():
            mapping[column] = found
    return mapping


def _coerce(form_field: FormField, text: str) -> Any:
    """A cell's text as the answer type the form expects (check_answers judges it after)."""
    kind = form_field.type
    if kind == FieldType.checkbox:
        lowered = text.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else text
    if kind == FieldType.date:
        match = _GERMAN_DATE.match(text)
        if match:
            day, month, year = match.groups()
            return f"{year}-{int(month):02d}-{int(day):02d}"
        return text[:10] if re.match(r"^\d{4}-\d{2}-\d{2}[ T]00:00(:00)?$", text) else text
    if kind in (FieldType.single_choice, FieldType.multiple_choice):
        options = {o.id.lower(): o.id for o in form_field.options}
        options.update({o.label.lower(): o.id for o in form_field.options})
        if kind == FieldType.single_choice:
            return options.get(text.lower(), text)
        parts = [p for p in _SPLIT.split(text) if p]
        return [options.get(p.lower(), p) for p in parts]
    return text


@dataclass
class ParsedRow:
    row: int
    data: ParticipantInput | None
    email_key: str | None = None
    username_key: str | None = None
    errors: list[RowError] = field(default_factory=list)


class Plan:
    """Which column feeds which target, and how one row becomes a participant input."""

    def __init__(self, mapping: dict[str, str], columns: list[str], fields: list[FormField]):
        index = {name: position for position, name in enumerate(columns)}
        self.fields = fields
        self.targets: dict[str, tuple[int, str]] = {}
        self.answers: list[tuple[int, str, FormField]] = []
        self.header_of: dict[str, str] = {}
        importable = _importable(fields)
        for header, target in mapping.items():
            if target == IGNORE or header not in index:
                continue
            self.header_of[target] = header
            if target in RESERVED_TARGETS:
                self.targets[target] = (index[header], header)
            elif target in importable:
                self.answers.append((index[header], header, importable[target]))

    def column(self, target: str) -> str | None:
        return self.header_of.get(target)

    def _cell(self, cells: list[str], target: str) -> tuple[str, str | None]:
        found = self.targets.get(target)
        return (cells[found[0]], found[1]) if found else ("", None)

    def parse(self, row: int, cells: list[str]) -> ParsedRow:
        """The participant input of one row, or the reasons it is wrong (never its values)."""
        errors: list[RowError] = []
        email_text, email_column = self._cell(cells, EMAIL)
        username, username_column = self._cell(cells, USERNAME)
        password, password_column = self._cell(cells, PASSWORD)
        for text, column in (
            (email_text, email_column),
            (username, username_column),
            (password, password_column),
        ):
            if (reason := text_problem(text)) is not None:
                errors.append(RowError(row=row, column=column, reason=reason))
        if errors:
            # A cell that is no valid text is not judged further (nor held in a model).
            return ParsedRow(row=row, data=None, errors=errors)
        email: str | None = None
        if email_text:
            try:
                email = checked_email(email_text).lower()
            except EmailNotValidError:
                errors.append(RowError(row=row, column=email_column, reason=_INVALID_EMAIL))
        if username and len(username) > 200:
            errors.append(
                RowError(row=row, column=username_column, reason="must have at most 200 characters")
            )
        if not email_text and not username:
            errors.append(
                RowError(
                    row=row,
                    column=email_column or username_column,
                    reason="an e-mail address or a user name is required",
                )
            )
        if password:
            try:
                check_policy(password, min_length=PARTICIPANT_PASSWORD_MIN)
            except DomainError as error:
                reason = error.errors[0].reason if error.errors else error.detail
                errors.append(RowError(row=row, column=password_column, reason=reason))
        answers: dict[str, Any] = {}
        for position, header, form_field in self.answers:
            text = cells[position]
            if not text:
                if form_field.required:
                    errors.append(RowError(row=row, column=header, reason="is required"))
                continue
            answers[form_field.id] = _coerce(form_field, text)
        try:
            check_answers(self.fields, answers, partial=True)
        except DomainError as error:
            for invalid in error.errors:
                field_id = invalid.field.removeprefix("answers.")
                column = self.header_of.get(field_id)
                errors.append(RowError(row=row, column=column, reason=invalid.reason))
        if errors:
            return ParsedRow(row=row, data=None, errors=errors)
        try:
            data = ParticipantInput(
                email=email, username=username or None, answers=answers, password=password or None
            )
        except ValidationError:
            return ParsedRow(
                row=row,
                data=None,
                errors=[RowError(row=row, column=None, reason="cannot be read as a participant")],
            )
        return ParsedRow(
            row=row,
            data=data,
            email_key=email,
            username_key=username.lower() if username else None,
        )


_INVALID_EMAIL = "is not a valid e-mail address"


def _key_hash(kind: str, value: str) -> int:
    digest = hashlib.blake2b(f"{kind}:{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass
class Validation:
    """What the validation pass found; `skip` marks the n-th data row to leave out."""

    counts: ImportCounts
    errors: list[RowError]
    truncated: bool
    skip: bytearray
    blank_rows: list[int]


class _Keys:
    """Compact (hash, ordinal, row) triples of e-mails or user names: 16 bytes per row."""

    def __init__(self) -> None:
        self.hashes = array.array("Q")
        self.ordinals = array.array("L")
        self.rows = array.array("L")

    def add(self, value: int, ordinal: int, row: int) -> None:
        self.hashes.append(value)
        self.ordinals.append(ordinal)
        self.rows.append(row)

    def repeats(self) -> Iterator[tuple[int, int, int]]:
        """(ordinal, row, row of the first occurrence) of every repeated key.

        A 2 MiB bit set finds the few hashes seen before (repeats, and about 1 % false
        alarms at 200,000 rows); only those are looked at again."""
        seen = bytearray(1 << 21)
        candidates: set[int] = set()
        for value in self.hashes:
            slot = value & 0xFFFFFF
            bit = 1 << (slot & 7)
            if seen[slot >> 3] & bit:
                candidates.add(value)
            else:
                seen[slot >> 3] |= bit
        first: dict[int, int] = {}
        for index, value in enumerate(self.hashes):
            if value not in candidates:
                continue
            if value in first:
                yield self.ordinals[index], self.rows[index], self.rows[first[value]]
            else:
                first[value] = index


def validate_rows(table: Table, plan: Plan, on_progress: Any = None) -> Validation:
    """Check every row of the file (form rules, e-mail, duplicates) without writing anything."""
    counts = ImportCounts()
    errors: list[RowError] = []
    truncated = False
    skip = bytearray()
    blank_rows: list[int] = []
    previous = table.header_row
    emails, usernames = _Keys(), _Keys()

    def report(new: list[RowError]) -> None:
        nonlocal truncated
        room = MAX_REPORTED_ERRORS - len(errors)
        errors.extend(new[: max(room, 0)])
        truncated = truncated or len(new) > room

    for ordinal, (row, cells) in enumerate(table.rows):
        if ordinal >= MAX_ROWS:
            raise BadFileError("too-many-rows", f"the file has more than {MAX_ROWS:,} rows")
        if row > previous + 1:
            # The table leaves empty rows out; the gap in the row numbers shows them.
            counts.blank += row - previous - 1
            room = max(MAX_REPORTED_ERRORS - len(blank_rows), 0)
            blank_rows.extend(range(previous + 1, row)[:room])
        previous = row
        parsed = plan.parse(row, cells)
        counts.rows += 1
        if parsed.errors:
            counts.invalid += 1
            skip.append(1)
            report(parsed.errors)
        else:
            counts.valid += 1
            skip.append(0)
            if parsed.email_key:
                emails.add(_key_hash("email", parsed.email_key), ordinal, row)
            if parsed.username_key:
                usernames.add(_key_hash("username", parsed.username_key), ordinal, row)
        if on_progress is not None and counts.rows % CHECKPOINT_ROWS == 0:
            on_progress(counts.rows)
    repeated: list[RowError] = []
    for keys, target in ((emails, EMAIL), (usernames, USERNAME)):
        for ordinal, row, first in keys.repeats():
            if skip[ordinal]:
                continue  # repeats its e-mail and its user name: reported once
            skip[ordinal] = 1
            counts.duplicates += 1
            counts.valid -= 1
            counts.invalid += 1
            repeated.append(
                RowError(
                    row=row,
                    column=plan.column(target),
                    reason=f"names the same person as row {first}",
                )
            )
    report(sorted(repeated, key=lambda e: e.row))
    errors.sort(key=lambda e: e.row)
    return Validation(
        counts=counts, errors=errors, truncated=truncated, skip=skip, blank_rows=blank_rows
    )
