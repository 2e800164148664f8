"""Read participant lists from CSV, XLSX and XLS files row by row; refuse bad files whole.

Nothing here holds all rows: CSV is read through `csv.reader` over a text stream, XLSX with
openpyxl in read-only mode (formulas come back as their text and are never evaluated), XLS
with xlrd (the format stops at 65,536 rows). Which reader applies is decided by the bytes,
not by the name, and a name whose kind does not match the bytes is refused.
"""

import codecs
import csv
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal

Kind = Literal["csv", "xlsx", "xls"]
Cell = str | int | float | bool | date | datetime | time | None

MAX_COLUMNS = 500
# Zip bombs: an XLSX is refused before openpyxl opens it when its members would unpack to
# more than this, or when one large member packs better than any real sheet does.
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
MAX_ZIP_MEMBERS = 10_000
# openpyxl keeps the shared-string table in memory even in read-only mode.
MAX_SHARED_STRINGS_BYTES = 200 * 1024 * 1024

_EXTENSIONS: dict[str, Kind] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xls": "xls",
}
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SNIFF_BYTES = 64 * 1024
_DECODE_CHUNK = 1024 * 1024
_DELIMITERS = (";", ",", "\t")  # on a tie, the German Excel separator wins
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class BadFileError(Exception):
    """The file as a whole cannot be imported; `reason` says why, without its contents."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Source:
    """How to read a file: its kind, and for CSV the encoding and the delimiter."""

    kind: Kind
    encoding: str | None = None
    delimiter: str | None = None


def kind_of_name(filename: str) -> Kind | None:
    """The kind a file name promises, from its extension (None: not a supported name)."""
    suffix = Path(filename).suffix.lower()
    return _EXTENSIONS.get(suffix)


def supported_extensions() -> list[str]:
    return sorted(_EXTENSIONS)


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            names = {member.filename for member in members}
            if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
                raise BadFileError(
                    "wrong-type", "the file is a zip archive but not an Excel workbook"
                )
            if len(members) > MAX_ZIP_MEMBERS:
                raise BadFileError("zip-bomb", "the workbook has too many parts")
            total = 0
            for member in members:
                total += member.file_size
                ratio = member.file_size / max(member.compress_size, 1)
                if member.file_size > 1024 * 1024 and ratio > MAX_COMPRESSION_RATIO:
                    raise BadFileError(
                        "zip-bomb",
                        "the workbook unpacks to far more than its size (a zip bomb?)",
                    )
                if member.filename == "xl/sharedStrings.xml" and (
                    member.file_size > MAX_SHARED_STRINGS_BYTES
                ):
                    raise BadFileError("too-large", "the workbook's text table is too large")
            if total > MAX_UNCOMPRESSED_BYTES:
                raise BadFileError("zip-bomb", "the workbook unpacks to more than 1 GiB")
    except zipfile.BadZipFile as error:
        raise BadFileError("unreadable", "the workbook is damaged and cannot be read") from error


def _text_encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text" export: UTF-16 with BOM, tab-separated
    if b"\x00" in head:
        raise BadFileError("wrong-type", "the file is not a text (CSV) file")
    for encoding in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(_DECODE_CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise BadFileError(
        "undecodable", "the text is neither UTF-8 nor Windows-1252; save it as CSV UTF-8"
    )


def _first_record(text: str) -> str:
    """The first non-empty line of the text, quotes respected (a header may span lines)."""
    quoted = False
    start = 0
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char in "\r\n" and not quoted:
            if text[start:index].strip():
                return text[start:index]
            start = index + 1
    return text[start:]


def _delimiter(text: str) -> str:
    record = _first_record(text)
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for char in record:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def detect(path: Path, *, filename: str) -> Source:
    """What the file is, by its bytes; refuses what is not a readable list."""
    expected = kind_of_name(filename)
    if expected is None:
        raise BadFileError(
            "wrong-type", f"only {', '.join(supported_extensions())} files can be imported"
        )
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if not head.strip():
        raise BadFileError("empty", "the file is empty")
    actual: Kind
    if head.startswith(_ZIP_MAGIC):
        actual = "xlsx"
    elif head.startswith(_OLE_MAGIC):
        actual = "xls"
    else:
        actual = "csv"
    if actual != expected:
        raise BadFileError(
            "wrong-type", f"the file's content is not what its name says ({expected.upper()})"
        )
    if actual == "xlsx":
        _check_zip(path)
        return Source(kind="xlsx")
    if actual == "xls":
        return Source(kind="xls")
    encoding = _text_encoding(path, head)
    sample = head.decode(encoding, errors="ignore")
    if len(_CONTROL.findall(sample)) > max(8, len(sample) // 1000):
        raise BadFileError("wrong-type", "the file is not a text (CSV) file")
    return Source(kind="csv", encoding=encoding, delimiter=_delimiter(sample))


def _csv_rows(path: Path, source: Source) -> Iterator[tuple[int, list[Cell]]]:
    assert source.encoding and source.delimiter
    with path.open(encoding=source.encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=source.delimiter, strict=False)
        number = 0
        try:
            for number, record in enumerate(reader, start=1):
                yield number, list(record)
        except csv.Error as error:
            raise BadFileError(
                "malformed", f"the CSV text cannot be read after row {number}"
            ) from error
        except UnicodeDecodeError as error:
            raise BadFileError("undecodable", "the text cannot be decoded") from error


def _formula_text(value: Any) -> Cell:
    """openpyxl gives array and table formulas as objects: their formula text, never a result."""
    if value is None or isinstance(value, str | int | float | bool | date | datetime | time):
        return value  # type: ignore[no-any-return]
    return str(getattr(value, "text", None) or value)


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Cell]]]:
    import openpyxl

    # A file object, not the path: openpyxl would judge a path by its extension.
    with path.open("rb") as handle:
        try:
            workbook = openpyxl.load_workbook(
                handle, read_only=True, data_only=False, keep_links=False, keep_vba=False
            )
        except Exception as error:  # openpyxl raises many kinds for damaged files
            raise BadFileError("unreadable", "the workbook cannot be read") from error
        try:
            if not workbook.worksheets:
                raise BadFileError("empty", "the workbook has no worksheet")
            sheet = workbook.worksheets[0]
            # Some writers store a wrong size; read every cell there is instead.
            sheet.reset_dimensions()  # type: ignore[union-attr]
            number = 0
            try:
                for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                    yield number, [_formula_text(v) for v in values]
            except BadFileError:
                raise
            except Exception as error:
                raise BadFileError(
                    "unreadable", f"the workbook cannot be read after row {number}"
                ) from error
        finally:
            workbook.close()


def _xls_rows(path: Path) -> Iterator[tuple[int, list[Cell]]]:
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except Exception as error:  # xlrd raises XLRDError, CompDocError, struct errors...
        raise BadFileError("unreadable", "the Excel 97-2003 workbook cannot be read") from error
    try:
        if book.nsheets < 1:
            raise BadFileError("empty", "the workbook has no worksheet")
        sheet = book.sheet_by_index(0)
        for index in range(sheet.nrows):
            cells: list[Cell] = []
            for cell in sheet.row(index):
                kind = cell.ctype
                if kind == xlrd.XL_CELL_DATE:
                    try:
                        cells.append(
                            xlrd.xldate.xldate_as_datetime(float(cell.value), book.datemode)
                        )
                    except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                        cells.append(None)
                elif kind == xlrd.XL_CELL_BOOLEAN:
                    cells.append(bool(cell.value))
                elif kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
                    cells.append(None)
                else:
                    cells.append(cell.value)
            yield index + 1, cells
    finally:
        book.release_resources()


def raw_rows(path: Path, source: Source) -> Iterator[tuple[int, list[Cell]]]:
    """Every row with its number as a spreadsheet program shows it (the first row is 1)."""
    if source.kind == "csv":
        return _csv_rows(path, source)
    if source.kind == "xlsx":
        return _xlsx_rows(path)
    return _xls_rows(path)


def cell_text(value: Cell) -> str:
    """A cell as text: whole numbers without '.0', dates as ISO 8601, formulas as their text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def header_names(values: list[Cell]) -> list[str]:
    """Column names from the header row: blanks named by letter, repeats numbered."""
    while values and cell_text(values[-1]) == "":
        values = values[:-1]
    if len(values) > MAX_COLUMNS:
        raise BadFileError("too-wide", f"the file has more than {MAX_COLUMNS} columns")
    names: list[str] = []
    seen: dict[str, int] = {}
    for index, value in enumerate(values):
        name = " ".join(cell_text(value).split())[:200] or f"Column {_column_letter(index)}"
        key = name.lower()
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            name = f"{name} ({seen[key]})"
        names.append(name)
    return names


@dataclass
class Table:
    """A file opened for reading: its header and an iterator over the data rows after it."""

    columns: list[str]
    header_row: int
    rows: Iterator[tuple[int, list[str]]]


def open_table(path: Path, source: Source) -> Table:
    """The header (the first non-empty row) and the non-empty data rows as text cells."""
    iterator = raw_rows(path, source)
    for number, values in iterator:
        if any(cell_text(v) for v in values):
            columns = header_names(values)
            return Table(columns=columns, header_row=number, rows=_data(iterator, len(columns)))
    raise BadFileError("empty", "the file has no header row")


def _data(
    iterator: Iterator[tuple[int, list[Cell]]], width: int
) -> Iterator[tuple[int, list[str]]]:
    for number, values in iterator:
        texts = [cell_text(v) for v in values[:width]]
        if not any(texts):
            continue
        texts.extend([""] * (width - len(texts)))
        yield number, texts
