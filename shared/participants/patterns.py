"""Customer-written answer patterns, compiled and matched with RE2.

Patterns come from tenants and run on anonymous answers in processes every tenant shares.
RE2 matches in time linear in the answer (no backtracking), so `(a+)+b` cannot hang a worker;
it has no backreferences or lookaround, and such patterns are refused when a form is saved.
"""

from functools import lru_cache
from typing import Any

import re2

# Compiled programs beyond this are refused: a counted repetition like a{1000}{1000} would
# otherwise cost memory on every process that checks answers.
_MAX_PROGRAM_BYTES = 1 << 20


class PatternError(ValueError):
    """RE2 cannot use the pattern; the message says why."""


def _options() -> Any:
    options = re2.Options()
    options.max_mem = _MAX_PROGRAM_BYTES
    options.log_errors = False
    return options


@lru_cache(maxsize=512)
def compiled(pattern: str) -> Any:
    """The RE2 program of a pattern; PatternError when RE2 cannot parse or hold it."""
    try:
        return re2.compile(pattern, options=_options())
    except re2.error as error:
        detail = error.args[0] if error.args else error
        if isinstance(detail, bytes):
            detail = detail.decode(errors="replace")
        raise PatternError(f"is not a pattern RE2 accepts ({detail})") from error


def full_match(pattern: str, text: str) -> bool:
    """Whether the whole of `text` matches `pattern`."""
    return compiled(pattern).fullmatch(text) is not None
