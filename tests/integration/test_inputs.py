"""Every text input is valid Unicode without control characters (decision 0030)."""

import io
import json
import typing
from collections.abc import Iterator
from typing import Annotated, Any

import openpyxl
from fastapi.dependencies.models import Dependant
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from functions.api import deps
from functions.api.app import create_app
from shared.participants.imports.rows import Plan
from shared.participants.models import FormField
from shared.text import InputModel
from tests import helpers

FORM = {
    "fields": [
        {"id": "company", "type": "short_text", "label": "Company"},
        {"id": "notes", "type": "long_text", "label": "Notes"},
    ]
}


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Every API route as it is served: an included router's routes carry the app's
    dependencies. Plain Starlette routes (none take parameters) are left out."""
    for route in routes:
        if hasattr(route, "effective_candidates"):
            yield from _routes(route.effective_candidates())
        elif hasattr(route, "dependant"):
            yield route


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    """The models an annotation holds, and every model nested in their fields."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for info in annotation.model_fields.values():
            yield from _models(info.annotation)
    for argument in typing.get_args(annotation):
        yield from _models(argument)


def _takes_a_bell(info: FieldInfo) -> bool:
    annotation: Any = Annotated[(info.annotation, *info.metadata)]  # type: ignore[valid-type]
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    try:
        adapter.validate_python("ring\x07")
    except ValidationError:
        return False
    return True


def test_no_plain_text_input_escapes_the_check():
    """Bodies, form fields and query models are InputModels all the way down or `Text`;
    scalar query and path parameters pass the app-wide parameter check."""
    escaped = []
    routes = list(_routes(create_app().router.routes))
    assert len(routes) > 100
    for route in routes:
        dependants = list(_dependants(route.dependant))
        if not any(d.call is deps.checked_parameters for d in dependants):
            escaped.append(f"{route.path}: parameters unchecked")
        for dependant in dependants:
            params = dependant.body_params + dependant.query_params
            for param in params:
                annotation = param.field_info.annotation
                models = list(_models(annotation))
                if not models:
                    if param in dependant.body_params and _takes_a_bell(param.field_info):
                        escaped.append(f"{route.path}: form field {param.name}")
                    continue
                escaped += [
                    f"{route.path}: {model.__name__}"
                    for model in models
                    if not issubclass(model, InputModel)
                ]
    assert escaped == []


def test_text_inputs_are_refused_with_their_field_and_the_lists_keep_working(stack):
    owner = helpers.new_owner("unicode")
    created = owner.post(
        "/api/webcasts",
        json={"title": "Unicode", "slug": "unicode", "access_mode": "registration"},
    )
    assert created.status_code == 201, created.text
    webcast_id = created.json()["id"]
    assert owner.request("PUT", f"/api/webcasts/{webcast_id}/form", json=FORM).status_code == 200
    viewer = helpers.client()

    def register(answers: str, username: str = '"anna"') -> Any:
        email = json.dumps(helpers.unique_email("unicode"))
        # Raw JSON: a lone surrogate cannot be encoded by the client's own serializer.
        body = f'{{"email": {email}, "username": {username}, "answers": {answers}}}'
        return viewer.post(
            f"/api/w/{webcast_id}/registrations",
            content=body.encode(),
            headers={"Content-Type": "application/json"},
        )

    refused = {
        r'{"company": "\ud800"}': "body.answers.company",
        r'{"company": "bell\u0007"}': "body.answers.company",
        r'{"company": "two\nlines"}': "answers.company",
        r'{"notes": "nul\u0000"}': "body.answers.notes",
    }
    for answers, field in refused.items():
        response = register(answers)
        assert response.status_code == 422, (answers, response.text)
        assert response.json()["errors"][0]["field"] == field, answers
    response = register('{"company": "ACME"}', username=r'"an\u0000na"')
    assert (response.status_code, response.json()["errors"][0]["field"]) == (422, "body.username")
    accepted = register(r'{"company": "ACME", "notes": "first line\n\tsecond line"}')
    assert accepted.status_code == 202, accepted.text

    participants = owner.get(f"/api/webcasts/{webcast_id}/participants")
    assert participants.status_code == 200
    [participant] = participants.json()["items"]
    assert participant["answers"]["notes"] == "first line\n\tsecond line"
    detail = owner.get(f"/api/webcasts/{webcast_id}/participants/{participant['id']}")
    assert detail.status_code == 200
    csv_export = owner.get(f"/api/webcasts/{webcast_id}/participants/export.csv")
    assert csv_export.status_code == 200 and "ACME" in csv_export.text
    xlsx_export = owner.get(f"/api/webcasts/{webcast_id}/participants/export.xlsx")
    assert xlsx_export.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_export.content)).active
    assert sheet is not None and "ACME" in [cell.value for cell in sheet[2]]

    title = owner.patch(f"/api/webcasts/{webcast_id}", json={"title": "Two\nlines"})
    assert (title.status_code, title.json()["errors"][0]["field"]) == (422, "body.title")
    description = owner.patch(f"/api/webcasts/{webcast_id}", json={"description": "Two\nlines"})
    assert description.status_code == 200, description.text

    search = owner.get(f"/api/webcasts/{webcast_id}/participants", params={"search": "a\x07"})
    assert (search.status_code, search.json()["errors"][0]["field"]) == (422, "query.search")
    path = owner.get(f"/api/webcasts/{webcast_id}%00/participants")
    assert (path.status_code, path.json()["errors"][0]["field"]) == (422, "path.webcast_id")


def test_import_rows_with_control_characters_are_row_errors():
    fields = [FormField.model_validate(field) for field in FORM["fields"]]
    columns = ["E-Mail", "Name", "Firma", "Notizen"]
    mapping = {"E-Mail": "email", "Name": "username", "Firma": "company", "Notizen": "notes"}
    plan = Plan(mapping, columns, fields)
    good = plan.parse(2, ["a@example.org", "anna", "ACME", "line\nline"])
    assert good.errors == [] and good.data is not None
    cases = {
        ("b@example.org", "bo\x00b", "ACME", ""): "Name",
        ("c@example.org", "carl", "AC\x1bME", ""): "Firma",
        ("d@example.org", "dora", "two\nlines", ""): "Firma",
        ("e@exam\ud800ple.org", "emil", "", ""): "E-Mail",
        ("f@example.org", "fritz", "", "bell\x07"): "Notizen",
    }
    for row, (cells, column) in enumerate(cases.items(), start=3):
        parsed = plan.parse(row, list(cells))
        assert parsed.data is None, cells
        assert [(e.row, e.column) for e in parsed.errors] == [(row, column)], cells
