"""Check answers against a registration form: every error names its field."""

import re
from datetime import date
from typing import Any

from shared.clock import utc_iso
from shared.emails import EmailNotValidError, checked_email
from shared.errors import InvalidField, invalid_fields
from shared.participants.models import Consent, FieldType, FormField
from shared.participants.patterns import full_match
from shared.text import text_problem

_DEFAULT_MAX = {FieldType.short_text: 500, FieldType.long_text: 10_000}
_PHONE = re.compile(r"^\+?[0-9][0-9 ()/.-]{4,29}$")
# ISO 3166-1 alpha-2 codes.
_COUNTRY_CODES = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRIES = frozenset(_COUNTRY_CODES.split())


class _InvalidAnswerError(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value is False


def _text(field: FormField, value: Any) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise _InvalidAnswerError("must be text")
    text = str(value).strip()
    reason = text_problem(text, multi_line=field.type == FieldType.long_text)
    if reason is not None:
        raise _InvalidAnswerError(reason)
    limit = field.max_length or _DEFAULT_MAX.get(field.type, 500)
    if len(text) > limit:
        raise _InvalidAnswerError(f"must have at most {limit} characters")
    if field.min_length and len(text) < field.min_length:
        raise _InvalidAnswerError(f"must have at least {field.min_length} characters")
    if field.pattern and not full_match(field.pattern, text):
        raise _InvalidAnswerError("does not have the expected form")
    return text


def _number(field: FormField, value: Any) -> float | int:
    if isinstance(value, bool):
        raise _InvalidAnswerError("must be a number")
    try:
        number = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else value
    except ValueError as error:
        raise _InvalidAnswerError("must be a number") from error
    if not isinstance(number, int | float):
        raise _InvalidAnswerError("must be a number")
    if field.minimum is not None and number < field.minimum:
        raise _InvalidAnswerError(f"must be at least {field.minimum:g}")
    if field.maximum is not None and number > field.maximum:
        raise _InvalidAnswerError(f"must be at most {field.maximum:g}")
    return int(number) if float(number).is_integer() else number


def _value(field: FormField, value: Any) -> Any:
    kind = field.type
    if kind in (FieldType.short_text, FieldType.long_text):
        return _text(field, value)
    if kind == FieldType.email:
        try:
            return checked_email(str(value).strip())
        except EmailNotValidError as error:
            raise _InvalidAnswerError("is not a valid e-mail address") from error
    if kind == FieldType.number:
        return _number(field, value)
    if kind == FieldType.date:
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError as error:
            raise _InvalidAnswerError("must be a date like 2026-12-31") from error
    if kind == FieldType.phone:
        text = str(value).strip()
        if not _PHONE.match(text):
            raise _InvalidAnswerError("is not a valid phone number")
        return text
    if kind == FieldType.country:
        code = str(value).strip().upper()
        if code not in COUNTRIES:
            raise _InvalidAnswerError("must be an ISO 3166 country code such as DE")
        return code
    option_ids = {o.id for o in field.options}
    if kind == FieldType.single_choice:
        if value not in option_ids:
            raise _InvalidAnswerError("is not one of the options")
        return value
    if kind == FieldType.multiple_choice:
        chosen = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) and v in option_ids for v in chosen):
            raise _InvalidAnswerError("contains a value that is not one of the options")
        return sorted(set(chosen))
    if kind in (FieldType.checkbox, FieldType.consent):
        if not isinstance(value, bool):
            raise _InvalidAnswerError("must be true or false")
        return value
    raise _InvalidAnswerError("takes no answer")


def check_answers(
    fields: list[FormField],
    answers: dict[str, Any],
    *,
    partial: bool = False,
    prefix: str = "answers",
) -> tuple[dict[str, Any], list[Consent]]:
    """Cleaned answers and the consents given; raises one 422 listing every wrong field.

    With partial=True (an admin edit), missing required fields are not an error."""
    active = {f.id: f for f in fields if not f.removed and f.type != FieldType.display_text}
    errors: list[InvalidField] = []
    cleaned: dict[str, Any] = {}
    consents: list[Consent] = []
    for key in answers:
        if key not in active:
            errors.append(
                InvalidField(field=f"{prefix}.{key}", reason="is not a field of this form")
            )
    for field in active.values():
        value = answers.get(field.id)
        if _empty(value):
            if field.required and not partial:
                reason = "must be accepted" if field.type == FieldType.consent else "is required"
                errors.append(InvalidField(field=f"{prefix}.{field.id}", reason=reason))
            continue
        try:
            cleaned[field.id] = _value(field, value)
        except _InvalidAnswerError as invalid:
            errors.append(InvalidField(field=f"{prefix}.{field.id}", reason=invalid.reason))
            continue
        if field.type == FieldType.consent and cleaned[field.id] is True:
            # The exact text shown is kept with the time, as proof of what was agreed to.
            consents.append(Consent(field_id=field.id, text=field.label, given_at=utc_iso()))
    if errors:
        raise invalid_fields(errors)
    return cleaned, consents


def display_name(answers: dict[str, Any]) -> str:
    """A name for lists and mails, from the usual name fields when the form has them."""
    parts = [str(answers[k]) for k in ("first_name", "last_name") if answers.get(k)]
    if parts:
        return " ".join(parts)
    return str(answers.get("name", ""))
