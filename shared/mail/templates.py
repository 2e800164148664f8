"""Mail templates: customer texts render in a Jinja2 sandbox; the HTML part is autoescaped."""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    Environment,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    meta,
    nodes,
)
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from shared.errors import InvalidField, invalid_fields
from shared.mail.defaults import DEFAULTS, FOOTER
from shared.mail.models import TemplateKind, TemplateOverrides, TemplateText
from shared.webcasts.models import Language, Schedule

_MAX_REPEAT = 10_000
_MAX_OUTPUT = 100_000

# What a customer's text may use: variables, constants, `if`, comparisons, `~`, `+`/`-`,
# and filters that never make a text longer than its input plus their arguments. Loops,
# macros, assignments, calls, attribute access, `*`, `/`, `%` (printf widths) and the
# other filters are refused when the text is saved: they let a small text run for hours
# or allocate without bound in a process every tenant shares.
_ALLOWED_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.If,
    nodes.CondExpr,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Concat,
    nodes.Add,
    nodes.Sub,
    nodes.Neg,
    nodes.Pos,
    nodes.Keyword,
    nodes.Filter,
    nodes.Test,
)
ALLOWED_FILTERS = frozenset(
    {"capitalize", "d", "default", "length", "lower", "title", "trim", "truncate", "upper"}
)
ALLOWED_TESTS = frozenset({"defined", "undefined", "none", "true", "false"})
_REFUSED_NODES: dict[type[nodes.Node], str] = {
    nodes.For: "loops ({% for %})",
    nodes.Macro: "macros",
    nodes.CallBlock: "macros",
    nodes.Assign: "assignments ({% set %})",
    nodes.AssignBlock: "assignments ({% set %})",
    nodes.Call: "function calls",
    nodes.Getattr: "attribute access",
    nodes.Getitem: "attribute access",
}


class TextTooLongError(TemplateError):
    """A text rendered longer than a mail may be (it was cut off while rendering)."""


class _Sandbox(SandboxedEnvironment):
    """The stock sandbox plus limits on `*` and `**`, which could build huge values."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise SecurityError("the power operator is not allowed in mail templates")
        sizes = [len(v) for v in (left, right) if isinstance(v, str | list | tuple)]
        counts = [v for v in (left, right) if isinstance(v, int)]
        if sizes and counts and max(sizes) * max(counts) > _MAX_REPEAT:
            raise SecurityError("the template repeats a text too often")
        return super().call_binop(context, operator, left, right)


# The text part and the subject are plain text: nothing to escape there. The HTML part is
# made from the rendered text by the autoescaping layout below.
_text_env = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_html_env = Environment(undefined=StrictUndefined, autoescape=True)

_LAYOUT = _html_env.from_string(
    """<!DOCTYPE html>
<html lang="{{ language }}"><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; line-height: 1.5; color: #222;">
{% for paragraph in paragraphs %}<p>{{ paragraph }}</p>
{% endfor %}<hr>
<p style="font-size: small; color: #555;">{{ footer }}<br>
<a href="{{ privacy_link }}">{{ privacy_link }}</a></p>
</body></html>
"""
)

COMMON_VARIABLES = (
    "name",
    "webcast_title",
    "has_schedule",
    "starts_at",
    "ends_at",
    "time_zone",
    "link",
    "privacy_link",
)
VARIABLES: dict[TemplateKind, tuple[str, ...]] = {
    TemplateKind.invitation: (*COMMON_VARIABLES, "single_use", "link_expires_at"),
    TemplateKind.confirmation: (
        *COMMON_VARIABLES,
        "registered_already",
        "password_generated",
        "forgot_password_link",
    ),
    TemplateKind.reminder: (*COMMON_VARIABLES, "lead"),
    TemplateKind.password_reset: (*COMMON_VARIABLES, "valid_minutes"),
    TemplateKind.erasure: (*COMMON_VARIABLES, "valid_minutes"),
}
_SAMPLE: dict[str, Any] = {
    "name": "Erika Mustermann",
    "webcast_title": "Quarterly results",
    "has_schedule": True,
    "starts_at": "01.12.2026, 10:00",
    "ends_at": "01.12.2026, 11:00",
    "time_zone": "Europe/Berlin",
    "link": "https://example.invalid/w/1#token=sample",
    "privacy_link": "https://example.invalid/w/1/privacy#token=sample",
    "single_use": True,
    "link_expires_at": "31.12.2026, 10:00",
    "registered_already": False,
    "password_generated": True,
    "forgot_password_link": "https://example.invalid/w/1/password-reset",
    "lead": "24 hours",
    "valid_minutes": 30,
}

_MONTHS = {
    Language.de: [
        *("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August"),
        *("September", "Oktober", "November", "Dezember"),
    ],
    Language.en: [
        *("January", "February", "March", "April", "May", "June", "July", "August"),
        *("September", "October", "November", "December"),
    ],
}


def format_time(moment: datetime, language: Language) -> str:
    """A local date and time in the mail's language, e.g. '1. Dezember 2026, 10:00 Uhr'."""
    month = _MONTHS[language][moment.month - 1]
    if language == Language.de:
        return f"{moment.day}. {month} {moment.year}, {moment:%H:%M} Uhr"
    return f"{moment.day} {month} {moment.year}, {moment:%H:%M}"


def format_lead(seconds: int, language: Language) -> str:
    """'24 Stunden' / '1 hour' / '30 minutes'."""
    if seconds % 3600 == 0:
        hours = seconds // 3600
        if language == Language.de:
            return f"{hours} Stunde" if hours == 1 else f"{hours} Stunden"
        return f"{hours} hour" if hours == 1 else f"{hours} hours"
    minutes = max(seconds // 60, 1)
    if language == Language.de:
        return f"{minutes} Minute" if minutes == 1 else f"{minutes} Minuten"
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"


def schedule_values(schedule: Schedule | None, language: Language) -> dict[str, Any]:
    if schedule is None:
        return {"has_schedule": False, "starts_at": "", "ends_at": "", "time_zone": ""}
    zone = ZoneInfo(schedule.time_zone)
    return {
        "has_schedule": True,
        "starts_at": format_time(schedule.starts_at.astimezone(zone), language),
        "ends_at": format_time(schedule.ends_at.astimezone(zone), language),
        "time_zone": schedule.time_zone,
    }


def effective(overrides: TemplateOverrides, kind: TemplateKind, language: Language) -> TemplateText:
    return overrides.get(kind, language) or DEFAULTS[kind][language]


def _refused(node: nodes.Node) -> str | None:
    """What the first construct outside the allowed language is, in the admin's words."""
    reason: str | None = None
    if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
        allowed = ", ".join(sorted(ALLOWED_FILTERS))
        return f"uses the filter '{node.name}' (allowed: {allowed})"
    if isinstance(node, nodes.Test) and node.name not in ALLOWED_TESTS:
        return f"uses the test '{node.name}' (allowed: {', '.join(sorted(ALLOWED_TESTS))})"
    if isinstance(node, nodes.Mul | nodes.Div | nodes.FloorDiv | nodes.Mod | nodes.Pow):
        reason = f"the operator {node.operator}"
    elif not isinstance(node, _ALLOWED_NODES):
        reason = next(
            (text for kind, text in _REFUSED_NODES.items() if isinstance(node, kind)),
            f"'{type(node).__name__}'",
        )
    if reason is not None:
        return f"uses {reason}, which mail templates do not allow"
    for child in node.iter_child_nodes():
        found = _refused(child)
        if found is not None:
            return found
    return None


def _render_capped(source: str, values: dict[str, Any]) -> str:
    """Render, stopping as soon as the text exceeds what a mail may hold."""
    parts: list[str] = []
    length = 0
    for part in _text_env.from_string(source).generate(values):
        length += len(part)
        if length > _MAX_OUTPUT:
            raise TextTooLongError(f"the text is longer than {_MAX_OUTPUT} characters")
        parts.append(part)
    return "".join(parts)


def _problems(kind: TemplateKind, source: str) -> list[str]:
    """Why a template cannot be used: syntax, a refused construct, unknown variables, or a
    failing render."""
    try:
        parsed = _text_env.parse(source)
    except TemplateSyntaxError as error:
        return [f"line {error.lineno}: {error.message}"]
    refused = _refused(parsed)
    if refused is not None:
        return [refused]
    unknown = sorted(meta.find_undeclared_variables(parsed) - set(VARIABLES[kind]))
    if unknown:
        known = ", ".join(VARIABLES[kind])
        return [f"uses the unknown variable '{name}' (known: {known})" for name in unknown]
    for has_schedule in (True, False):
        values = _SAMPLE | {"has_schedule": has_schedule}
        try:
            _render_capped(source, values)
        except TextTooLongError:
            return ["renders a text that is too long"]
        except (TemplateError, SecurityError, TypeError, ValueError, ArithmeticError) as error:
            return [f"does not render: {error}"]
    return []


def validate(overrides: TemplateOverrides) -> None:
    """Raise one 422 naming every template field that does not render."""
    errors: list[InvalidField] = []
    for kind in TemplateKind:
        for language in Language:
            texts = overrides.get(kind, language)
            if texts is None:
                continue
            for part in ("subject", "text"):
                for reason in _problems(kind, getattr(texts, part)):
                    field = f"templates.{kind.value}.{language.value}.{part}"
                    errors.append(InvalidField(field=field, reason=reason))
    if errors:
        raise invalid_fields(errors)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


_URL = re.compile(r"https?://[^\s<>\"']+")


def _html_paragraphs(text: str) -> list[Markup]:
    """Escape the rendered text, keep its line breaks and make its links clickable."""
    paragraphs: list[Markup] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [
            _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', str(escape(line)))
            for line in block.splitlines()
        ]
        # Each line is escaped above; the links are matched in the escaped text, and their
        # pattern excludes quotes and angle brackets, so no text leaves the href attribute.
        # nosemgrep: markup-of-unescaped-text
        paragraphs.append(Markup("<br>\n".join(lines)))  # noqa: S704 - see above
    return paragraphs


def render(
    *, texts: TemplateText, language: Language, values: dict[str, Any], privacy_link: str
) -> Rendered:
    """Subject, text part and HTML part of one mail; the data link is always appended."""
    values = values | {"privacy_link": privacy_link}
    subject = " ".join(_render_capped(texts.subject, values).split())[:300]
    body = _render_capped(texts.text, values).strip()
    footer = FOOTER[language]
    text = f"{body}\n\n-- \n{footer}\n{privacy_link}\n"
    html = _LAYOUT.render(
        language=language.value,
        subject=subject,
        paragraphs=_html_paragraphs(body),
        footer=footer,
        privacy_link=privacy_link,
    )
    return Rendered(subject=subject, text=text, html=html)


def render_kind(
    *,
    overrides: TemplateOverrides,
    kind: TemplateKind,
    language: Language,
    values: dict[str, Any],
    privacy_link: str,
) -> Rendered:
    """Render the webcast's text; a stored text that fails at send time falls back to the
    default, so that a mail still goes out."""
    texts = effective(overrides, kind, language)
    try:
        return render(texts=texts, language=language, values=values, privacy_link=privacy_link)
    except (TemplateError, SecurityError, TypeError, ValueError, ArithmeticError):
        if texts is DEFAULTS[kind][language]:
            raise
        return render(
            texts=DEFAULTS[kind][language],
            language=language,
            values=values,
            privacy_link=privacy_link,
        )
