"""Participant export (P03): CSV and XLSX with every form field, neutralised cells, audited."""

import csv
import io
from typing import Any

import openpyxl
import pytest

from shared.auth.models import Permission
from tests import helpers

FORM: dict[str, list[dict[str, Any]]] = {
    "fields": [
        {"id": "intro", "type": "display_text", "label": "Welcome"},
        {"id": "first_name", "type": "short_text", "label": "First name", "required": True},
        {"id": "company", "type": "short_text", "label": "Company"},
        {
            "id": "track",
            "type": "multiple_choice",
            "label": "Tracks",
            "options": [{"id": "tech", "label": "Technology"}, {"id": "biz", "label": "Business"}],
        },
        {"id": "newsletter", "type": "checkbox", "label": "Newsletter"},
        {"id": "privacy", "type": "consent", "label": "I accept the privacy notice (v1)"},
    ]
}
HEADER = [
    "E-mail",
    "User name",
    "Name",
    "Status",
    "Source",
    "Created at",
    "First name",
    "Tracks",
    "Newsletter",
    "I accept the privacy notice (v1)",
    "Company (removed)",
    "Consents",
]


@pytest.fixture(scope="module")
def exported_webcast(stack: Any) -> tuple[helpers.Admin, str]:
    owner = helpers.new_owner("exporter")
    webcast_id = helpers.new_webcast(
        owner,
        "export",
        title="Export",
        access_mode="registration",
        admit_before_confirmation=True,
        form=FORM,
    )
    registered = helpers.client().post(
        f"/api/w/{webcast_id}/registrations",
        json={
            "email": "gruen@example.org",
            "answers": {
                "first_name": "Grün",
                "company": "Müller AG",
                "track": ["tech", "biz"],
                "newsletter": True,
                "privacy": True,
            },
        },
    )
    assert registered.status_code == 202, registered.text
    planted = owner.post(
        f"/api/webcasts/{webcast_id}/participants",
        json={
            "email": "evil@example.org",
            "username": "@admin",
            "answers": {"first_name": "=cmd|' /C calc'!A0", "company": "+49 30 1234", "track": []},
        },
    )
    assert planted.status_code == 201, planted.text
    # The company field is removed from the form: its answers stay in the export.
    kept = {"fields": [f for f in FORM["fields"] if f["id"] != "company"]}
    assert owner.request("PUT", f"/api/webcasts/{webcast_id}/form", json=kept).status_code == 200
    return owner, webcast_id


def _by_email(rows: list[list[str]]) -> dict[str, dict[str, str]]:
    header, *body = rows
    return {row[0]: dict(zip(header, row, strict=True)) for row in body}


@pytest.mark.claim("P03")
def test_csv_export_has_every_answer_with_labels_consents_and_neutralised_cells(exported_webcast):
    owner, webcast_id = exported_webcast
    response = owner.get(f"/api/webcasts/{webcast_id}/participants/export.csv")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        'attachment; filename="participants-export.csv"'
    )
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, for Excel"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == HEADER
    people = _by_email(rows)
    gruen = people["gruen@example.org"]
    assert gruen["Name"] == "Grün" and gruen["Company (removed)"] == "Müller AG"
    assert gruen["Tracks"] == "Business; Technology" or gruen["Tracks"] == "Technology; Business"
    assert gruen["Newsletter"] == "yes" and gruen["Source"] == "self"
    assert gruen["Consents"].startswith("I accept the privacy notice (v1) (given 20")
    evil = people["evil@example.org"]
    assert evil["User name"] == "'@admin"
    assert evil["First name"] == "'=cmd|' /C calc'!A0"
    assert evil["Company (removed)"] == "'+49 30 1234"
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    semicolon = owner.get(
        f"/api/webcasts/{webcast_id}/participants/export.csv", params={"delimiter": "semicolon"}
    )
    assert semicolon.content.decode("utf-8-sig").splitlines()[0] == ";".join(HEADER)
    logged = helpers.audit_entries(owner.tenant_id, action="participant.export")
    assert len(logged) == 2 and all(e.entity_type == "webcast" for e in logged)
    assert all(e.entity_id == webcast_id and e.actor_id == owner.account_id for e in logged)
    assert "company" in logged[0].changed_fields


@pytest.mark.claim("P03")
def test_xlsx_export_has_the_same_cells_and_no_formulas(exported_webcast):
    owner, webcast_id = exported_webcast
    response = owner.get(f"/api/webcasts/{webcast_id}/participants/export.xlsx")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        'attachment; filename="participants-export.xlsx"'
    )
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[0]
    cells = list(sheet.iter_rows())
    assert all(cell.data_type != "f" for row in cells for cell in row)
    rows = [["" if c.value is None else str(c.value) for c in row] for row in cells]
    assert rows[0] == HEADER
    people = _by_email(rows)
    assert people["gruen@example.org"]["First name"] == "Grün"
    assert people["evil@example.org"]["First name"] == "'=cmd|' /C calc'!A0"


@pytest.mark.claim("P03")
def test_export_needs_the_participants_permission(exported_webcast):
    owner, webcast_id = exported_webcast
    fresh = helpers.sign_in(owner.email, owner.password, owner.secret)
    without = helpers.new_subaccount(fresh, [p for p in Permission if p != Permission.participants])
    with_permission = helpers.new_subaccount(fresh, [Permission.participants])
    for suffix in ("csv", "xlsx"):
        url = f"/api/webcasts/{webcast_id}/participants/export.{suffix}"
        assert without.get(url).status_code == 403
        assert with_permission.get(url).status_code == 200
    other = helpers.new_owner("stranger")
    assert other.get(f"/api/webcasts/{webcast_id}/participants/export.csv").status_code == 404
