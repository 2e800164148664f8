"""Answers against registration forms: every field type, required rules, errors per field."""

import pytest
from pydantic import ValidationError

from shared.errors import DomainError
from shared.participants.forms import check_answers, display_name
from shared.participants.models import FormDefinition, FormField


def _form() -> list[FormField]:
    return FormDefinition.model_validate(
        {
            "fields": [
                {"id": "intro", "type": "display_text", "label": "Welcome to the town hall"},
                {
                    "id": "first_name",
                    "type": "short_text",
                    "label": "First name",
                    "required": True,
                    "max_length": 50,
                },
                {"id": "last_name", "type": "short_text", "label": "Last name"},
                {"id": "bio", "type": "long_text", "label": "About you", "min_length": 5},
                {"id": "work_email", "type": "email", "label": "Work e-mail"},
                {"id": "age", "type": "number", "label": "Age", "minimum": 18, "maximum": 120},
                {"id": "birthday", "type": "date", "label": "Birthday"},
                {"id": "phone", "type": "phone", "label": "Phone"},
                {"id": "country", "type": "country", "label": "Country"},
                {
                    "id": "team",
                    "type": "single_choice",
                    "label": "Team",
                    "options": [{"id": "sales", "label": "Sales"}, {"id": "it", "label": "IT"}],
                },
                {
                    "id": "topics",
                    "type": "multiple_choice",
                    "label": "Topics",
                    "options": [{"id": "ai", "label": "AI"}, {"id": "cloud", "label": "Cloud"}],
                },
                {"id": "newsletter", "type": "checkbox", "label": "Newsletter"},
                {
                    "id": "privacy",
                    "type": "consent",
                    "label": "I agree to the privacy notice v3",
                    "required": True,
                },
                {
                    "id": "employee_no",
                    "type": "short_text",
                    "label": "Employee no.",
                    "pattern": "[A-Z]{2}[0-9]{4}",
                },
            ]
        }
    ).fields


@pytest.mark.claim("P10")
def test_every_field_type_is_checked_and_cleaned():
    answers, consents = check_answers(
        _form(),
        {
            "first_name": " Jürgen ",
            "last_name": "Groß",
            "bio": "Hello world",
            "work_email": "Juergen@Example.ORG",
            "age": "42",
            "birthday": "1984-02-29",
            "phone": "+49 89 123456",
            "country": "de",
            "team": "it",
            "topics": ["cloud", "ai", "ai"],
            "newsletter": False,
            "privacy": True,
            "employee_no": "AB1234",
        },
    )
    assert answers["first_name"] == "Jürgen" and answers["age"] == 42
    assert answers["work_email"] == "Juergen@example.org"
    assert answers["country"] == "DE" and answers["topics"] == ["ai", "cloud"]
    assert "intro" not in answers
    [consent] = consents
    assert consent.field_id == "privacy" and consent.text == "I agree to the privacy notice v3"
    assert consent.given_at.endswith("Z")
    assert display_name(answers) == "Jürgen Groß"


@pytest.mark.claim("P10")
def test_errors_name_each_wrong_field():
    with pytest.raises(DomainError) as refused:
        check_answers(
            _form(),
            {
                "first_name": "x" * 51,
                "age": 12,
                "birthday": "31.12.2020",
                "phone": "call me",
                "country": "XX",
                "team": "hr",
                "topics": ["ai", "hr"],
                "newsletter": "yes",
                "employee_no": "ab12",
                "bio": "hi",
                "intro": "text",
                "surprise": 1,
            },
        )
    fields = {e.field for e in refused.value.errors}
    assert fields == {
        f"answers.{name}"
        for name in (
            "first_name",
            "age",
            "birthday",
            "phone",
            "country",
            "team",
            "topics",
            "newsletter",
            "employee_no",
            "bio",
            "intro",
            "surprise",
            "privacy",
        )
    }
    assert refused.value.status == 422


@pytest.mark.claim("P10")
def test_required_fields_and_partial_edits():
    with pytest.raises(DomainError) as refused:
        check_answers(_form(), {})
    reasons = {e.field: e.reason for e in refused.value.errors}
    assert reasons == {"answers.first_name": "is required", "answers.privacy": "must be accepted"}
    answers, _ = check_answers(_form(), {"last_name": "Only"}, partial=True)
    assert answers == {"last_name": "Only"}


def test_removed_fields_take_no_new_answers():
    fields = _form()
    fields[2] = fields[2].model_copy(update={"removed": True})
    with pytest.raises(DomainError) as refused:
        check_answers(fields, {"first_name": "A", "privacy": True, "last_name": "B"})
    assert [e.field for e in refused.value.errors] == ["answers.last_name"]


@pytest.mark.parametrize(
    "bad",
    [
        {"fields": [{"id": "a", "type": "single_choice", "label": "A"}]},
        {
            "fields": [
                {
                    "id": "a",
                    "type": "short_text",
                    "label": "A",
                    "options": [{"id": "x", "label": "X"}],
                }
            ]
        },
        {"fields": [{"id": "a", "type": "display_text", "label": "A", "required": True}]},
        {
            "fields": [
                {"id": "a", "type": "short_text", "label": "A"},
                {"id": "a", "type": "email", "label": "B"},
            ]
        },
        {"fields": [{"id": "Bad Id", "type": "short_text", "label": "A"}]},
    ],
)
def test_inconsistent_forms_are_refused(bad):
    with pytest.raises(ValueError):
        FormDefinition.model_validate(bad)


@pytest.mark.claim("P10")
def test_patterns_are_re2_checked_when_saved_and_match_in_linear_time():
    """A customer's pattern runs on anonymous answers in a shared process: RE2 (no
    backtracking), so `(a+)+b` against a long answer ends; what RE2 cannot parse (a
    backreference) is refused when the form is saved, naming the field."""
    [field] = FormDefinition.model_validate(
        {
            "fields": [
                {
                    "id": "code",
                    "type": "long_text",
                    "label": "Code",
                    "max_length": 10_000,
                    "pattern": "(a+)+b",
                }
            ]
        }
    ).fields
    answers, _ = check_answers([field], {"code": "aaab"})
    assert answers == {"code": "aaab"}
    with pytest.raises(DomainError) as refused:
        check_answers([field], {"code": "a" * 9_999})
    [error] = refused.value.errors
    assert (error.field, error.reason) == ("answers.code", "does not have the expected form")
    for unparsable in (r"(a)\1", "(?=a)b", "a{2000}{2000}"):
        with pytest.raises(ValidationError) as invalid:
            FormDefinition.model_validate(
                {
                    "fields": [
                        {"id": "code", "type": "short_text", "label": "C", "pattern": unparsable}
                    ]
                }
            )
        [problem] = invalid.value.errors()
        assert problem["loc"] == ("fields", 0, "pattern")
        assert "RE2" in problem["msg"]
