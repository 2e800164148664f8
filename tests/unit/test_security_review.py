"""The yearly security review is due when its newest run is old or covered other checks (P39)."""

import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest

from security import review

TODAY = date(2026, 12, 1)
CHECKS = {"tests/integration/test_isolation.py::test_a", ".semgrep/rules.yml::rule-b"}


def _entry(day: date, checks: str, commit: str = "abc1234") -> review.RunLogEntry:
    return review.RunLogEntry(day=day, commit=commit, checks=checks, security="", loadtest="")


@pytest.mark.claim("P39")
def test_the_newest_run_log_entry_is_recent_and_covers_the_suites_checks():
    text = (review.ROOT / review.SECURITY_DOC).read_text(encoding="utf-8")
    entries = review.read_run_log(text)
    current = review.current_checks()
    assert len(current) > 20, "the check sources define the review's checks"
    # Without history (a shallow clone or an export) the named commit cannot be read; the
    # digest is then checked against today's checks only.
    checks_of = review.checks_at if review.history_complete() else lambda _: current
    problems = review.review_problems(
        entries,
        today=datetime.now(UTC).date(),
        current=current,
        checks_of=checks_of,
    )
    assert problems == [], "rerun `make security` and `make loadtest`, then record them"


def test_an_old_run_a_future_run_or_other_checks_make_the_review_due():
    recent = [_entry(TODAY - timedelta(days=365), review.digest(CHECKS))]
    assert (
        review.review_problems(recent, today=TODAY, current=CHECKS, checks_of=lambda _: CHECKS)
        == []
    )
    old = [_entry(TODAY - timedelta(days=366), review.digest(CHECKS))]
    assert "older than 365 days" in " ".join(
        review.review_problems(old, today=TODAY, current=CHECKS, checks_of=lambda _: CHECKS)
    )
    future = [_entry(TODAY + timedelta(days=1), review.digest(CHECKS))]
    assert "future" in " ".join(
        review.review_problems(future, today=TODAY, current=CHECKS, checks_of=lambda _: CHECKS)
    )
    added = CHECKS | {"tests/integration/test_hostile_inputs.py::test_new"}
    assert review.review_problems(recent, today=TODAY, current=added, checks_of=lambda _: added)
    # A row claiming today's checks for a commit that holds fewer is caught at the commit.
    fewer = {next(iter(CHECKS))}
    assert "holds checks" in " ".join(
        review.review_problems(recent, today=TODAY, current=CHECKS, checks_of=lambda _: fewer)
    )
    assert "not in this repository" in " ".join(
        review.review_problems(recent, today=TODAY, current=CHECKS, checks_of=lambda _: None)
    )
    assert review.review_problems([], today=TODAY, current=CHECKS, checks_of=lambda _: CHECKS)


def test_the_run_log_table_is_read_and_only_its_rows_count():
    text = (
        "# Security\n\n| Date | Commit | Checks | make security | make loadtest |\n"
        "|---|---|---|---|---|\n| 2020-01-01 | `0000000` | `1:aa` | x | y |\n\n"
        f"{review.RUN_LOG_HEADING}\n\n| Date | Commit | Checks | make security | make loadtest |\n"
        "|---|---|---|---|---|\n| 2026-11-30 | `abc1234` | `2:ff` | 0 errors | exact |\n"
        "| 2026-12-01 | `def5678` | `2:ee` | 0 errors | exact |\n\n## After\n"
        "| 2027-01-01 | `9999999` | `1:aa` | x | y |\n"
    )
    entries = review.read_run_log(text)
    assert [(e.day.isoformat(), e.commit, e.checks) for e in entries] == [
        ("2026-11-30", "abc1234", "2:ff"),
        ("2026-12-01", "def5678", "2:ee"),
    ]


def test_checks_are_named_from_tests_check_lists_and_rules():
    python = "CHECKS = ('a', 'b')\n\ndef test_one():\n    pass\n\ndef helper():\n    pass\n"
    assert review.checks_in("x.py", python) == {"x.py::a", "x.py::b", "x.py::test_one"}
    rules = "rules:\n  - id: no-cross-partition\n    message: m\n  - id: no-shell\n"
    assert review.checks_in("r.yml", rules) == {"r.yml::no-cross-partition", "r.yml::no-shell"}
    assert review.digest(["b", "a"]) == review.digest(["a", "b", "a"])
    assert review.checks_at("not-a-commit") is None
    assert review.checks_at("0" * 40) is None


def test_a_shallow_clone_or_an_export_is_known_to_lack_history(tmp_path):
    shallow = tmp_path / "shallow"
    cloned = subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{review.ROOT}", str(shallow)],
        capture_output=True,
        check=False,
    )
    assert cloned.returncode == 0, cloned.stderr
    assert review.history_complete(shallow) is False
    assert review.history_complete(tmp_path) is False, "not a repository at all"
