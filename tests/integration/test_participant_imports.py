"""Participant import jobs (P09): CSV, XLSX and XLS through the real emulators and the runner."""

import csv
import functools
import io
import json
import random
import zipfile
from datetime import datetime
from typing import Any

import httpx
import openpyxl
import pytest

from shared import clock
from shared.audit import service as audit_service
from shared.auth.models import Permission
from shared.clients import blob_container_name, blob_service, queue_client
from shared.composition.privacy_handlers import BLOB_HANDLERS
from shared.participants import service as participant_service
from shared.participants.import_models import ImportMessage
from shared.participants.imports import jobs, worker
from shared.participants.imports import rows as import_rows
from shared.participants.models import ParticipantLogin
from shared.participants.repository import import_jobs, login_id, logins
from shared.privacy.models import DataSubject, NotYet
from tests import helpers

FORM: dict[str, list[dict[str, Any]]] = {
    "fields": [
        {"id": "intro", "type": "display_text", "label": "Willkommen"},
        {"id": "first_name", "type": "short_text", "label": "Vorname", "required": True},
        {"id": "last_name", "type": "short_text", "label": "Nachname"},
        {"id": "company", "type": "short_text", "label": "Firma"},
        {"id": "seats", "type": "number", "label": "Plätze", "minimum": 1, "maximum": 10},
        {"id": "birthday", "type": "date", "label": "Stichtag"},
        {"id": "newsletter", "type": "checkbox", "label": "Newsletter"},
        {
            "id": "track",
            "type": "single_choice",
            "label": "Track",
            "options": [{"id": "tech", "label": "Technik"}, {"id": "biz", "label": "Business"}],
        },
        {"id": "privacy", "type": "consent", "label": "Ich stimme zu (v1)"},
    ]
}
MAPPING = {
    "E-Mail": "email",
    "Vorname": "first_name",
    "Nachname": "last_name",
    "Firma": "company",
}
# The import worker and the blob events only (other tests' queues stay as they are).
TRIGGERS = helpers.Triggers({"participant_import", "blob_created"}, watch=("imports",))


_webcast = functools.partial(helpers.new_webcast, participant_passwords="predefined", form=FORM)


def _source_exists(job: dict[str, Any]) -> bool:
    name = f"{job['tenant_id']}/{job['webcast_id']}/{job['id']}/source"
    return bool(blob_service().get_blob_client(blob_container_name("imports"), name).exists())


def upload(admin: helpers.Admin, webcast_id: str, filename: str, content: bytes) -> dict[str, Any]:
    """Create the job, PUT the file to its SAS URL (as a browser does), let the event run."""
    created = admin.post(
        f"/api/webcasts/{webcast_id}/imports", json={"filename": filename, "size": len(content)}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    ticket = body["upload"]
    put = httpx.put(ticket["url"], content=content, headers=ticket["headers"], timeout=30)
    assert put.status_code == 201, put.text
    TRIGGERS.drain()
    return job(admin, webcast_id, body["job"]["id"])


def job(admin: helpers.Admin, webcast_id: str, job_id: str) -> dict[str, Any]:
    response = admin.get(f"/api/webcasts/{webcast_id}/imports/{job_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    found["tenant_id"] = admin.tenant_id
    return found


def start(admin: helpers.Admin, webcast_id: str, job_id: str, **body: Any) -> dict[str, Any]:
    response = admin.post(f"/api/webcasts/{webcast_id}/imports/{job_id}/start", json=body)
    assert response.status_code == 202, response.text
    TRIGGERS.drain()
    return job(admin, webcast_id, job_id)


def csv_bytes(
    rows: list[list[str]], *, delimiter: str = ";", encoding: str = "utf-8", bom: bool = False
) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = buffer.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _no_values_in(report: dict[str, Any], values: list[str]) -> None:
    text = json.dumps(report)
    for value in values:
        assert value.lower() not in text.lower(), "a report names rows and reasons, never values"


@pytest.fixture(scope="module")
def owner(stack: Any) -> helpers.Admin:
    return helpers.new_owner("importer")


@pytest.mark.claim("P09")
def test_csv_with_bom_semicolons_umlauts_empty_rows_case_duplicates_and_reimport(owner):
    webcast_id = _webcast(owner, "csv-bom")
    rows = [
        ["E-Mail", "Vorname", "Nachname", "Firma", "Einwilligung"],
        ["joerg@example.org", "Jörg", "Bäcker", "=1+1", "ja"],
        ["", "", "", "", ""],
        ["zoe@example.org", "Zoë", "Straße", "Müller & Söhne; GmbH", ""],
        ["JOERG@Example.org", "Jörg", "Doppelt", "", ""],
        [],
        ["ana@example.org", "Ana", "Østergård", "", ""],
    ]
    found = upload(owner, webcast_id, "Teilnehmer.csv", csv_bytes(rows, bom=True))
    assert found["status"] == "uploaded"
    assert found["file_format"] == "csv"
    assert found["columns"] == ["E-Mail", "Vorname", "Nachname", "Firma", "Einwilligung"]
    bad = owner.post(
        f"/api/webcasts/{webcast_id}/imports/{found['id']}/start",
        json={"mapping": MAPPING | {"Einwilligung": "privacy", "Spalte X": "company"}},
    )
    assert bad.status_code == 422
    fields = {e["field"]: e["reason"] for e in bad.json()["errors"]}
    assert "participants" in fields["mapping.Einwilligung"], "consents are never imported"
    assert fields["mapping.Spalte X"] == "is not a column of the file"
    done = start(owner, webcast_id, found["id"], mapping=MAPPING)
    assert done["status"] == "done", done
    assert (done["counts"]["rows"], done["counts"]["created"]) == (4, 3)
    assert (done["counts"]["duplicates"], done["counts"]["invalid"]) == (1, 1)
    assert done["counts"]["blank"] == 2
    assert done["report"]["blank_rows"] == [3, 6], "skipped, and said so"
    assert 1 + done["counts"]["rows"] + done["counts"]["blank"] == done["progress"], "header 1"
    assert done["report"]["errors"] == [
        {
            "row": 5,
            "column": "E-Mail",
            "reason": "names the same person as row 2",
            "phase": "validation",
        }
    ]
    _no_values_in(done["report"], ["joerg@example.org", "Doppelt"])
    stored = {p["email"]: p for p in helpers.stored_participants(webcast_id)}
    assert set(stored) == {"joerg@example.org", "zoe@example.org", "ana@example.org"}
    assert stored["zoe@example.org"]["name"] == "Zoë Straße"
    assert stored["zoe@example.org"]["answers"]["last_name"] == "Straße"
    assert stored["zoe@example.org"]["answers"]["company"] == "Müller & Söhne; GmbH"
    assert stored["joerg@example.org"]["answers"]["company"] == "=1+1", "kept as text"
    assert all(p["source"] == "import" and not p["consents"] for p in stored.values())
    assert done["source_deleted"] and not _source_exists(done)
    actions = helpers.audit_entries(owner.tenant_id, entity_id=found["id"])
    assert {"participant.import.create", "participant.import.start"} <= {e.action for e in actions}
    stored_ids = {p["id"] for p in stored.values()}
    creates = [
        e
        for e in helpers.audit_entries(owner.tenant_id, action="participant.create")
        if set(e.entity_ids or []) & stored_ids
    ]
    assert len(creates) == 1, "one entry for the chunk"
    assert set(creates[0].entity_ids or []) == stored_ids
    assert creates[0].request_id == f"import-{found['id']}"
    assert creates[0].actor_kind == "system" and creates[0].actor_id == owner.account_id
    one = next(iter(stored_ids))
    assert creates[0].id in {e.id for e in helpers.audit_entries(owner.tenant_id, entity_id=one)}

    again = upload(owner, webcast_id, "Teilnehmer (2).csv", csv_bytes(rows, bom=True))
    redone = start(owner, webcast_id, again["id"], mapping=MAPPING)
    assert redone["status"] == "done"
    assert (redone["counts"]["created"], redone["counts"]["updated"]) == (0, 3)
    assert len(helpers.stored_participants(webcast_id)) == 3, "upserted by e-mail: nobody twice"


@pytest.mark.claim("P09")
@pytest.mark.parametrize(
    ("encoding", "delimiter", "bom"),
    [("cp1252", ";", False), ("cp1252", ",", False), ("utf-8", "\t", False), ("utf-8", ",", True)],
)
def test_windows_1252_and_utf8_with_comma_semicolon_or_tab(owner, encoding, delimiter, bom):
    slug = f"enc-{encoding}-{ord(delimiter)}-{int(bom)}"
    webcast_id = _webcast(owner, slug)
    rows = [
        ["E-Mail", "Vorname", "Nachname", "Firma"],
        ["juergen@example.org", "Jürgen", "Müller", "Café, Größe & Co"],
        ["francoise@example.org", "Françoise", "Weiß", "€uro"],
    ]
    content = csv_bytes(rows, delimiter=delimiter, encoding=encoding, bom=bom)
    found = upload(owner, webcast_id, "liste.csv", content)
    assert found["columns"] == rows[0]
    done = start(owner, webcast_id, found["id"], mapping=MAPPING)
    assert done["status"] == "done" and done["counts"]["created"] == 2, done
    stored = {p["email"]: p["answers"] for p in helpers.stored_participants(webcast_id)}
    assert stored["juergen@example.org"]["last_name"] == "Müller"
    assert stored["juergen@example.org"]["company"] == "Café, Größe & Co"
    assert stored["francoise@example.org"] == {
        "first_name": "Françoise",
        "last_name": "Weiß",
        "company": "€uro",
    }


def _thousand_rows(bad_at: int) -> list[list[str]]:
    rows = [["email", "first_name", "Plätze", "Stichtag", "Newsletter", "Track"]]
    for number in range(1000):
        email = f"person{number:04d}@example.org" if number != bad_at else "not-an-address"
        rows.append(
            [email, f"Person {number}", str(number % 10 + 1), "24.12.2026", "ja", "Technik"]
        )
    return rows


@pytest.mark.claim("P09")
def test_a_malformed_row_among_1000_is_reported_and_the_others_imported(owner):
    webcast_id = _webcast(owner, "thousand")
    content = csv_bytes(_thousand_rows(bad_at=499), delimiter=",")
    found = upload(owner, webcast_id, "thousand.csv", content)
    assert found["status"] == "uploaded"
    dry = start(owner, webcast_id, found["id"], dry_run=True)
    assert dry["status"] == "validated"
    assert dry["mapping"] == {
        "email": "email",
        "first_name": "first_name",
        "Plätze": "seats",
        "Stichtag": "birthday",
        "Newsletter": "newsletter",
        "Track": "track",
    }, "without a mapping a dry run matches columns by id, label or usual name"
    mapping = dry["mapping"]
    done = start(owner, webcast_id, found["id"], mapping=mapping)
    assert done["status"] == "done", done
    assert (
        done["counts"] | {"rows": 1000, "valid": 999, "invalid": 1, "created": 999}
        == done["counts"]
    )
    assert done["report"]["errors"] == [
        {
            "row": 501,
            "column": "email",
            "reason": "is not a valid e-mail address",
            "phase": "validation",
        }
    ]
    assert done["progress"] == 1001
    stored = helpers.stored_participants(webcast_id)
    assert len(stored) == 999
    sample = next(p for p in stored if p["email"] == "person0007@example.org")
    assert sample["answers"] == {
        "first_name": "Person 7",
        "seats": 8,
        "birthday": "2026-12-24",
        "newsletter": True,
        "track": "tech",
    }


@pytest.mark.claim("P09")
def test_strict_mode_and_dry_runs_write_nothing(owner):
    webcast_id = _webcast(owner, "strict")
    rows = [
        ["E-Mail", "Vorname", "Plätze"],
        ["one@example.org", "Eins", "2"],
        ["two@example.org", "", "3"],
        ["three@example.org", "Drei", "99"],
    ]
    mapping = {"E-Mail": "email", "Vorname": "first_name", "Plätze": "seats"}
    strict = upload(owner, webcast_id, "strict.csv", csv_bytes(rows))
    failed = start(owner, webcast_id, strict["id"], mapping=mapping, strict=True)
    assert failed["status"] == "failed" and failed["failure"]["code"] == "invalid-rows"
    assert [(e["row"], e["column"], e["reason"]) for e in failed["report"]["errors"]] == [
        (3, "Vorname", "is required"),
        (4, "Plätze", "must be at most 10"),
    ]
    assert helpers.stored_participants(webcast_id) == [] and not _source_exists(failed)
    again = owner.post(
        f"/api/webcasts/{webcast_id}/imports/{strict['id']}/start", json={"mapping": mapping}
    )
    assert again.status_code == 409, "an ended job does not run again"

    dry = upload(owner, webcast_id, "dry.csv", csv_bytes(rows))
    checked = start(owner, webcast_id, dry["id"], mapping=mapping, dry_run=True)
    assert checked["status"] == "validated"
    assert (checked["counts"]["valid"], checked["counts"]["invalid"]) == (1, 2)
    assert helpers.stored_participants(webcast_id) == []
    assert _source_exists(checked), "kept after a dry run, for the real run"
    real = start(owner, webcast_id, dry["id"], mapping=mapping)
    assert real["status"] == "done" and real["counts"]["created"] == 1
    assert [p["email"] for p in helpers.stored_participants(webcast_id)] == ["one@example.org"]


@pytest.mark.claim("P09")
@pytest.mark.claim("P03")
def test_xlsx_formulas_arrive_as_text_and_exports_neutralise_them(owner):
    webcast_id = _webcast(owner, "xlsx")
    rows: list[list[Any]] = [
        ["E-Mail", "Vorname", "Firma", "Plätze", "Stichtag"],
        ["calc@example.org", "Cälc", "=1+1", 3, datetime(2026, 12, 24)],
        ["link@example.org", "Link", '=HYPERLINK("http://evil.example","x")', 4.0, "2026-01-02"],
        ["plus@example.org", "+Plus", "@SUM(A1)", None, None],
    ]
    found = upload(owner, webcast_id, "liste.xlsx", xlsx_bytes(rows))
    assert found["file_format"] == "xlsx" and found["columns"] == rows[0], found["failure"]
    mapping = {
        "E-Mail": "email",
        "Vorname": "first_name",
        "Firma": "company",
        "Plätze": "seats",
        "Stichtag": "birthday",
    }
    done = start(owner, webcast_id, found["id"], mapping=mapping)
    assert done["status"] == "done" and done["counts"]["created"] == 3, done
    stored = {p["email"]: p["answers"] for p in helpers.stored_participants(webcast_id)}
    assert stored["calc@example.org"] == {
        "first_name": "Cälc",
        "company": "=1+1",
        "seats": 3,
        "birthday": "2026-12-24",
    }
    assert stored["link@example.org"]["company"] == '=HYPERLINK("http://evil.example","x")'

    exported = owner.get(f"/api/webcasts/{webcast_id}/participants/export.csv")
    assert exported.status_code == 200
    cells = [c for row in csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))) for c in row]
    assert "'=1+1" in cells and "=1+1" not in cells
    assert "'+Plus" in cells and "'@SUM(A1)" in cells
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    sheet = owner.get(f"/api/webcasts/{webcast_id}/participants/export.xlsx")
    assert sheet.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(sheet.content))
    ws = workbook.worksheets[0]
    values = [c for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in values), "no formula cells in the export"
    assert "'=1+1" in [c.value for c in values]


@pytest.mark.claim("P09")
def test_legacy_xls(owner):
    import xlwt  # type: ignore[import-untyped]

    webcast_id = _webcast(owner, "xls")
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Teilnehmer")
    date_style = xlwt.easyxf(num_format_str="DD.MM.YYYY")
    header = ["E-Mail", "Vorname", "Nachname", "Plätze", "Stichtag"]
    for column, name in enumerate(header):
        sheet.write(0, column, name)

    data: list[list[object]] = [
        ["grete@example.org", "Grete", "Größer", 2, datetime(2026, 3, 1)],
        ["oeoe@example.org", "Ödön", "Ärmel", 5.0, datetime(2026, 12, 31)],
    ]
    for row, values in enumerate(data, start=2):  # row 2 (index 1) stays empty
        for column, value in enumerate(values):
            style = date_style if isinstance(value, datetime) else xlwt.Style.default_style
            sheet.write(row, column, value, style)
    buffer = io.BytesIO()
    book.save(buffer)
    found = upload(owner, webcast_id, "alt.xls", buffer.getvalue())
    assert found["file_format"] == "xls" and found["columns"] == header
    mapping = {
        "E-Mail": "email",
        "Vorname": "first_name",
        "Nachname": "last_name",
        "Plätze": "seats",
        "Stichtag": "birthday",
    }
    done = start(owner, webcast_id, found["id"], mapping=mapping)
    assert done["status"] == "done" and done["counts"]["created"] == 2, done
    stored = {p["email"]: p["answers"] for p in helpers.stored_participants(webcast_id)}
    assert stored["oeoe@example.org"] == {
        "first_name": "Ödön",
        "last_name": "Ärmel",
        "seats": 5,
        "birthday": "2026-12-31",
    }


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (64 * 1024 * 1024))
    return buffer.getvalue()


def _not_a_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hello")
    return buffer.getvalue()


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(
    random.Random(1).randrange(256) for _ in range(2000)
)


@pytest.mark.claim("P09")
@pytest.mark.parametrize(
    ("filename", "content", "code"),
    [
        ("bild.csv", PNG, "wrong-type"),
        ("liste.xlsx", PNG, "wrong-type"),
        ("liste.xlsx", b"E-Mail;Name\r\na@example.org;A\r\n", "wrong-type"),
        ("liste.csv", xlsx_bytes([["E-Mail"], ["a@example.org"]]), "wrong-type"),
        ("liste.xlsx", _not_a_workbook(), "wrong-type"),
        ("bombe.xlsx", _zip_bomb(), "zip-bomb"),
        ("kaputt.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "unreadable"),
        ("kaputt.xlsx", b"PK\x03\x04" + b"\x00" * 600, "unreadable"),
        ("leer.csv", b"\r\n\r\n", "empty"),
        ("mixed.csv", "E-Mail\r\nä@example.org\r\n".encode() + b"\x81\x8d\x90\r\n", "undecodable"),
    ],
    ids=[
        "png-as-csv",
        "png-as-xlsx",
        "text-as-xlsx",
        "xlsx-as-csv",
        "zip-not-workbook",
        "zip-bomb",
        "broken-xls",
        "broken-xlsx",
        "empty",
        "undecodable",
    ],
)
def test_files_bad_as_a_whole_are_refused_and_write_nothing(owner, filename, content, code):
    webcast_id = _webcast(owner, f"bad-{random.randrange(10**9)}")
    found = upload(owner, webcast_id, filename, content)
    assert found["status"] == "failed", found
    assert found["failure"]["code"] == code, found["failure"]
    assert found["source_deleted"] and not _source_exists(found)
    assert helpers.stored_participants(webcast_id) == []
    refused = owner.post(
        f"/api/webcasts/{webcast_id}/imports/{found['id']}/start",
        json={"mapping": {"E-Mail": "email"}},
    )
    assert refused.status_code == 409


@pytest.mark.claim("P09")
def test_size_and_row_limits_refuse_the_whole_file(owner, monkeypatch):
    webcast_id = _webcast(owner, "limits")
    monkeypatch.setattr(import_rows, "MAX_ROWS", 50)
    rows = [["E-Mail"]] + [[f"r{n}@example.org"] for n in range(51)]
    many = upload(owner, webcast_id, "many.csv", csv_bytes(rows))
    refused = start(owner, webcast_id, many["id"], mapping={"E-Mail": "email"})
    assert refused["status"] == "failed" and refused["failure"]["code"] == "too-many-rows"
    assert helpers.stored_participants(webcast_id) == [] and not _source_exists(refused)
    monkeypatch.setattr(jobs, "MAX_BYTES", 100)
    large = owner.post(
        f"/api/webcasts/{webcast_id}/imports",
        json={"filename": "large.csv", "size": len(csv_bytes(rows[:10]))},
    )
    assert large.status_code == 422, large.text
    assert large.json()["errors"] == [{"field": "size", "reason": "must be at most 100 bytes"}]


@pytest.mark.claim("P09")
def test_predefined_passwords_are_hashed_and_weak_ones_reported_without_values(owner):
    webcast_id = _webcast(owner, "passwords", access_mode="login")
    rows = [
        ["Benutzername", "Passwort", "Vorname"],
        ["anna.k", "Kirschbaum-Allee-7", "Anna"],
        ["bert.l", "password1", "Bert"],
    ]
    found = upload(owner, webcast_id, "logins.csv", csv_bytes(rows))
    done = start(
        owner,
        webcast_id,
        found["id"],
        mapping={"Benutzername": "username", "Passwort": "password", "Vorname": "first_name"},
    )
    assert done["status"] == "done" and done["counts"]["created"] == 1, done
    assert [(e["row"], e["column"]) for e in done["report"]["errors"]] == [(3, "Passwort")]
    _no_values_in(done["report"], ["password1", "bert.l"])
    stored = helpers.stored_participants(webcast_id)
    assert [p["username"] for p in stored] == ["anna.k"]
    assert stored[0]["password_hash"].startswith("$argon2id$")
    signed_in = helpers.client().post(
        f"/api/w/{webcast_id}/login", json={"login": "anna.k", "password": "Kirschbaum-Allee-7"}
    )
    assert signed_in.status_code == 200, signed_in.text


def _message(found: dict[str, Any]) -> ImportMessage:
    return ImportMessage(
        tenant_id=found["tenant_id"], webcast_id=found["webcast_id"], job_id=found["id"], run=1
    )


@pytest.mark.claim("P09")
def test_an_interrupted_job_resumes_and_a_redelivered_message_does_nothing(owner, monkeypatch):
    webcast_id = _webcast(owner, "resume")
    rows = [["E-Mail", "Vorname"]] + [[f"r{n:03d}@example.org", f"R{n}"] for n in range(250)]
    found = upload(owner, webcast_id, "resume.csv", csv_bytes(rows))
    response = owner.post(
        f"/api/webcasts/{webcast_id}/imports/{found['id']}/start",
        json={"mapping": {"E-Mail": "email", "Vorname": "first_name"}},
    )
    assert response.status_code == 202
    queue_client(jobs.QUEUE).clear_messages()  # this test delivers the message itself
    monkeypatch.setattr(worker, "WRITE_CHUNK", 50)
    real_import = participant_service.import_participants
    calls = {"n": 0}

    def dying_import(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            # The host goes away in the middle of the third chunk: half of it is written.
            real_import(**(kwargs | {"rows": kwargs["rows"][:25]}))
            raise RuntimeError("the worker's host went away")
        return real_import(**kwargs)

    monkeypatch.setattr(worker, "import_participants", dying_import)
    with pytest.raises(RuntimeError):
        worker.handle_message(message=_message(found))
    halfway = job(owner, webcast_id, found["id"])
    assert halfway["status"] == "importing"
    assert halfway["progress"] == 101, "the last row of the last finished chunk"
    assert _source_exists(halfway)
    assert len(helpers.stored_participants(webcast_id)) == 125
    monkeypatch.setattr(worker, "import_participants", real_import)
    assert worker.handle_message(message=_message(found)) is True
    done = job(owner, webcast_id, found["id"])
    assert done["status"] == "done" and done["progress"] == 251
    assert (done["counts"]["created"], done["counts"]["updated"]) == (225, 25)
    stored = helpers.stored_participants(webcast_id)
    assert len(stored) == 250 and len({p["email"] for p in stored}) == 250
    before = len(helpers.audit_entries(owner.tenant_id, entity_id=found["id"]))
    assert worker.handle_message(message=_message(found)) is False, "a finished job is done"
    assert job(owner, webcast_id, found["id"]) == done
    assert len(helpers.audit_entries(owner.tenant_id, entity_id=found["id"])) == before


@pytest.mark.claim("P09")
def test_a_key_left_by_a_dead_run_sends_its_batch_row_by_row(owner):
    """The transactional batch holding the left-behind key is refused; its rows then go one
    by one, take the key over, and still count as created, with nobody twice."""
    webcast_id = _webcast(owner, "orphan")
    left_behind = ParticipantLogin(
        id=login_id(webcast_id=webcast_id, kind="email", value="b@example.org"),
        tenant_id=owner.tenant_id,
        webcast_id=webcast_id,
        participant_id="died-before-it-was-stored",
    )
    logins.create(tenant_id=owner.tenant_id, item=left_behind)
    rows = [["E-Mail", "Vorname"]] + [[f"{c}@example.org", c.upper()] for c in "abcd"]
    found = upload(owner, webcast_id, "orphan.csv", csv_bytes(rows))
    done = start(
        owner, webcast_id, found["id"], mapping={"E-Mail": "email", "Vorname": "first_name"}
    )
    assert done["status"] == "done", done
    assert (done["counts"]["created"], done["counts"]["updated"], done["counts"]["failed"]) == (
        4,
        0,
        0,
    )
    stored = {p["email"]: p for p in helpers.stored_participants(webcast_id)}
    assert sorted(stored) == [f"{c}@example.org" for c in "abcd"]
    key = logins.get(tenant_id=owner.tenant_id, partition_key=webcast_id, item_id=left_behind.id)
    assert key is not None and key.participant_id == stored["b@example.org"]["id"]
    assert audit_service.verify(tenant_id=owner.tenant_id).ok


@pytest.mark.claim("P09")
def test_last_failed_attempt_ends_the_job_as_failed(owner, monkeypatch):
    webcast_id = _webcast(owner, "poison")
    found = upload(owner, webcast_id, "p.csv", csv_bytes([["E-Mail"], ["p@example.org"]]))
    owner.post(
        f"/api/webcasts/{webcast_id}/imports/{found['id']}/start",
        json={"mapping": {"E-Mail": "email"}},
    )
    queue_client(jobs.QUEUE).clear_messages()

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("always")

    monkeypatch.setattr(worker, "import_participants", broken)
    with pytest.raises(RuntimeError):
        worker.handle_message(message=_message(found))
    assert worker.handle_message(message=_message(found), final_attempt=True) is True
    failed = job(owner, webcast_id, found["id"])
    assert failed["status"] == "failed" and failed["failure"]["code"] == "internal-error"
    assert not _source_exists(failed)


@pytest.mark.claim("P09")
@pytest.mark.claim("P03")
def test_only_participant_managers_import_and_export(owner):
    webcast_id = _webcast(owner, "perm")
    found = upload(owner, webcast_id, "perm.csv", csv_bytes([["E-Mail"], ["m@example.org"]]))
    outsider = helpers.new_subaccount(
        owner, [p for p in Permission if p != Permission.participants]
    )
    manager = helpers.new_subaccount(owner, [Permission.participants])
    base = f"/api/webcasts/{webcast_id}"
    calls = [
        ("GET", f"{base}/participants/export.csv", None),
        ("GET", f"{base}/participants/export.xlsx", None),
        ("GET", f"{base}/imports", None),
        ("GET", f"{base}/imports/{found['id']}", None),
        ("POST", f"{base}/imports", {"filename": "x.csv", "size": 10}),
        ("POST", f"{base}/imports/{found['id']}/start", {"mapping": {"E-Mail": "email"}}),
    ]
    for method, url, body in calls:
        assert outsider.request(method, url, json=body).status_code == 403, (method, url)
    assert helpers.stored_participants(webcast_id) == []
    for method, url, body in calls:
        expected = {"POST": 202 if url.endswith("/start") else 201}.get(method, 200)
        assert manager.request(method, url, json=body).status_code == expected, (method, url)
    TRIGGERS.drain()
    assert [p["email"] for p in helpers.stored_participants(webcast_id)] == ["m@example.org"]


@pytest.mark.claim("P09")
def test_kept_files_expire_and_the_registry_erases_a_webcasts_import_files(stack):
    owner = helpers.new_owner("expiry")  # the clock jumps a day: keep this test last
    webcast_id = _webcast(owner, "expiry")
    content = csv_bytes([["E-Mail"], ["x@example.org"]])
    kept = upload(owner, webcast_id, "kept.csv", content)
    checked = start(owner, webcast_id, kept["id"], mapping={"E-Mail": "email"}, dry_run=True)
    assert checked["status"] == "validated" and _source_exists(checked)
    pending = upload(owner, webcast_id, "pending.csv", content)
    assert _source_exists(pending)

    handlers = BLOB_HANDLERS["imports"]
    assert not isinstance(handlers.exporter, NotYet) and not isinstance(handlers.eraser, NotYet)
    subject = DataSubject(
        tenant_id=owner.tenant_id, webcast_id=webcast_id, participant_id="someone"
    )
    listed = handlers.exporter(subject=subject)
    assert {item["file"].split("/")[2] for item in listed} == {kept["id"], pending["id"]}
    # One person's erasure leaves the files (the erasure ledger skips them); the webcast's
    # deletion takes them all.
    assert handlers.eraser(subject=subject) == 0 and _source_exists(pending)
    whole = DataSubject(tenant_id=owner.tenant_id, webcast_id=webcast_id)
    assert handlers.eraser(subject=whole) == 2
    assert not _source_exists(checked) and not _source_exists(pending)
    erased = job(owner, webcast_id, pending["id"])
    assert erased["status"] == "failed" and erased["failure"]["code"] == "erased"

    late = upload(owner, webcast_id, "late.csv", content)
    assert worker.expire_sources() == 0, "young files stay"
    clock.advance(worker.SOURCE_MAX_AGE_SECONDS + 60)
    assert worker.expire_sources() >= 1
    expired = import_jobs.get(
        tenant_id=owner.tenant_id, partition_key=webcast_id, item_id=late["id"]
    )
    assert expired is not None and expired.status == "failed"
    assert expired.failure is not None and expired.failure.code == "expired"
    assert expired.source_deleted and not _source_exists(late)
