"""Reading participant lists (P09): kinds by bytes, encodings, delimiters, headers, formulas."""

import io
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from shared.participants import tabular
from shared.participants.imports.rows import _key_hash, _Keys, auto_mapping
from shared.participants.models import FormField


def _write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _table(tmp_path: Path, name: str, content: bytes) -> tuple[tabular.Source, tabular.Table]:
    path = _write(tmp_path, name, content)
    source = tabular.detect(path, filename=name)
    return source, tabular.open_table(path, source)


@pytest.mark.claim("P09")
@pytest.mark.parametrize(
    ("content", "encoding", "delimiter"),
    [
        ("E-Mail;Name\r\na@x.de;Jörg\r\n".encode("cp1252"), "cp1252", ";"),
        (b"\xef\xbb\xbf" + "E-Mail,Name\na@x.de,Jörg\n".encode(), "utf-8-sig", ","),
        ("E-Mail\tName\na@x.de\tJörg\n".encode(), "utf-8", "\t"),
        ("E-Mail\tName\r\na@x.de\tJörg\r\n".encode("utf-16"), "utf-16", "\t"),
        ('"Name; Vorname",E-Mail\n"Jörg; J",a@x.de\n'.encode(), "utf-8", ","),
    ],
    ids=["cp1252-semicolon", "utf8-bom-comma", "utf8-tab", "utf16-excel-unicode", "quoted"],
)
def test_csv_encodings_and_delimiters_are_detected(tmp_path, content, encoding, delimiter):
    source, table = _table(tmp_path, "list.csv", content)
    assert (source.encoding, source.delimiter) == (encoding, delimiter)
    rows = list(table.rows)
    assert len(rows) == 1 and any("Jörg" in cell for cell in rows[0][1])


@pytest.mark.claim("P09")
def test_headers_blank_rows_repeats_and_row_numbers(tmp_path):
    content = b"\r\n;;\r\nE-Mail;;E-Mail;Name\r\na@x.de;1;b@x.de;A\r\n;;;\r\nc@x.de;;;C;extra\r\n"
    _, table = _table(tmp_path, "list.csv", content)
    assert table.columns == ["E-Mail", "Column B", "E-Mail (2)", "Name"]
    assert table.header_row == 3
    assert list(table.rows) == [(4, ["a@x.de", "1", "b@x.de", "A"]), (6, ["c@x.de", "", "", "C"])]


@pytest.mark.claim("P09")
def test_xlsx_formula_cells_are_read_as_their_text(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["E-Mail", "Calc", "Count", "When"])
    sheet.append(["a@x.de", "=1+1", 3.0, datetime(2026, 5, 1)])
    sheet.append([])
    sheet.append(["b@x.de", "=SUM(C2:C2)", 2.5, datetime(2026, 5, 1, 9, 30)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    source, table = _table(tmp_path, "list.xlsx", buffer.getvalue())
    assert source.kind == "xlsx"
    assert list(table.rows) == [
        (2, ["a@x.de", "=1+1", "3", "2026-05-01"]),
        (4, ["b@x.de", "=SUM(C2:C2)", "2.5", "2026-05-01 09:30:00"]),
    ]


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.claim("P09")
@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("list.pdf", b"%PDF-1.4", "wrong-type"),
        ("list.csv", b"\x7fELF\x02\x01\x01\x00\x00\x00", "wrong-type"),
        ("list.csv", bytes(range(1, 32)) * 40, "wrong-type"),
        ("list.xlsx", b"E-Mail\n", "wrong-type"),
        (
            "list.xlsx",
            _zip(
                {
                    "[Content_Types].xml": b"<Types/>",
                    "xl/workbook.xml": b"<workbook/>",
                    "xl/worksheets/sheet1.xml": b"<" * (8 * 1024 * 1024),
                }
            ),
            "zip-bomb",
        ),
        ("list.csv", b"a@x.de\n\x81\x8d\n", "undecodable"),
        ("list.csv", b"   \r\n", "empty"),
    ],
    ids=["pdf-name", "elf-as-csv", "controls", "text-as-xlsx", "zip-bomb", "undecodable", "empty"],
)
def test_bad_files_are_refused_whole(tmp_path, name, content, code):
    path = _write(tmp_path, name, content)
    with pytest.raises(tabular.BadFileError) as refused:
        tabular.open_table(path, tabular.detect(path, filename=name))
    assert refused.value.code == code


def test_repeated_keys_name_the_first_row():
    keys = _Keys()
    for ordinal, email in enumerate(["a@x.de", "b@x.de", "a@x.de", "c@x.de", "b@x.de", "a@x.de"]):
        keys.add(_key_hash("email", email), ordinal, ordinal + 2)
    assert sorted(keys.repeats()) == [(2, 4, 2), (4, 6, 3), (5, 7, 2)]


def test_auto_mapping_matches_usual_names_ids_and_labels():
    fields = [
        FormField(id="first_name", type="short_text", label="Vorname"),
        FormField(id="privacy", type="consent", label="Datenschutz"),
    ]
    columns = ["E-Mail-Adresse", "VORNAME", "Datenschutz", "Benutzername", "first_name"]
    assert auto_mapping(columns, fields) == {
        "E-Mail-Adresse": "email",
        "VORNAME": "first_name",
        "Benutzername": "username",
    }
