"""Every text the system reads is valid Unicode without control characters (decision 0030).

Input models derive from `InputModel`, whose one validator checks every string in every
field (dict keys and values, list items, nested answers); a field that may hold line
breaks and tabs carries the `LINE_BREAKS` mark. Single values outside a model (query, path
and form parameters) use `Text`, or are checked by `text_problem` directly.
"""

import re
from collections.abc import Iterator
from functools import cache
from typing import Annotated, Any, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

# C0 and C1 controls, DEL, lone surrogates (not Unicode scalar values, so they cannot be
# encoded as UTF-8) and the noncharacters, which XML (and so XLSX) does not allow either.
_REFUSED = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
_REFUSED_MULTI_LINE = re.compile(f"[{_REFUSED}]")
_REFUSED_SINGLE_LINE = re.compile(f"[{_REFUSED}\t\n\r]")


class LineBreaks:
    """Marks a field of an InputModel whose text may hold line breaks (CR, LF) and tabs."""


LINE_BREAKS = LineBreaks()


def text_problem(value: str, *, multi_line: bool = False) -> str | None:
    """Why a text is refused, or None when it is fine."""
    pattern = _REFUSED_MULTI_LINE if multi_line else _REFUSED_SINGLE_LINE
    found = pattern.search(value)
    if found is None:
        return None
    char = found.group()
    if char in "\t\n\r":
        return "must be a single line without tabs"
    if "\ud800" <= char <= "\udfff":
        return "is not valid Unicode (a lone surrogate)"
    return f"must not contain the control or non-character U+{ord(char):04X}"


def _single_line(value: str) -> str:
    reason = text_problem(value)
    if reason is not None:
        raise PydanticCustomError("text", reason)
    return value


Text = Annotated[str, AfterValidator(_single_line)]
"""A single-line text parameter outside an InputModel."""

HttpsUrl = Annotated[str, StringConstraints(pattern=r"^https://[^\s<>\"']{1,2000}$")]
"""An absolute https address that a page links to."""


def _strings(
    value: Any, location: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string in a validated field value, with where it sits."""
    if isinstance(value, str):
        yield location, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield (*location, key), key
            yield from _strings(item, (*location, str(key)))
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            yield from _strings(item, (*location, index))
    # Nested models are InputModels and check their own fields.


def _marked(annotation: Any) -> bool:
    if get_origin(annotation) is Annotated and any(
        isinstance(extra, LineBreaks) for extra in annotation.__metadata__
    ):
        return True
    return any(_marked(argument) for argument in get_args(annotation))


@cache
def _multi_line_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        name
        for name, info in model.model_fields.items()
        if any(isinstance(extra, LineBreaks) for extra in info.metadata) or _marked(info.annotation)
    )


class InputModel(BaseModel):
    """The base of every model the API, an import or a trigger reads from outside."""

    # Python's JSON reader takes NaN and Infinity (and reads 1e309 as infinity); no stored
    # document or JSON answer can hold them.
    model_config = ConfigDict(allow_inf_nan=False)

    @field_validator("*")
    @classmethod
    def _valid_text(cls, value: Any, info: ValidationInfo) -> Any:
        multi_line = info.field_name in _multi_line_fields(cls)
        problems = [
            InitErrorDetails(type=PydanticCustomError("text", reason), loc=location, input=text)
            for location, text in _strings(value)
            if (reason := text_problem(text, multi_line=multi_line)) is not None
        ]
        if problems:
            # Raised inside a field validator, the locations are taken as under the field.
            raise ValidationError.from_exception_data(cls.__name__, problems)
        return value
