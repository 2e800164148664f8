"""The 6-field NCRONTAB parser of the local trigger runner."""

from datetime import UTC, datetime

import pytest

from devtools.runner import CronSchedule


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_every_five_minutes_of_the_maintenance_timer():
    schedule = CronSchedule.parse("0 */5 * * * *")
    assert schedule.seconds == {0}
    assert schedule.minutes == set(range(0, 60, 5))
    assert schedule.hours == set(range(24))
    assert schedule.next_after(at("2025-03-01T12:04:59")) == at("2025-03-01T12:05:00")
    # strictly after: a moment on the schedule gives the next one
    assert schedule.next_after(at("2025-03-01T12:05:00")) == at("2025-03-01T12:10:00")
    assert schedule.next_after(at("2025-03-01T12:05:00.500000")) == at("2025-03-01T12:10:00")
    assert schedule.next_after(at("2025-12-31T23:58:00")) == at("2026-01-01T00:00:00")


def test_plain_numbers_and_lists():
    schedule = CronSchedule.parse("30 15 3,9,21 * * *")
    assert schedule.next_after(at("2025-03-01T04:00:00")) == at("2025-03-01T09:15:30")
    assert schedule.next_after(at("2025-03-01T21:15:30")) == at("2025-03-02T03:15:30")
    assert schedule.matches(at("2025-03-01T09:15:30"))
    assert not schedule.matches(at("2025-03-01T09:15:31"))


def test_ranges_steps_and_names():
    schedule = CronSchedule.parse("0 0 9-17/4 * JAN,jul MON-FRI")
    assert schedule.hours == {9, 13, 17}
    assert schedule.months == {1, 7}
    assert schedule.weekdays == {1, 2, 3, 4, 5}
    assert CronSchedule.parse("10/20 * * * * *").seconds == {10, 30, 50}


def test_day_of_week_counts_from_sunday_and_must_match_with_the_day():
    sundays = CronSchedule.parse("0 0 6 * * 0")
    # 2025-03-01 is a Saturday
    assert sundays.next_after(at("2025-03-01T10:00:00")) == at("2025-03-02T06:00:00")
    # the 13th that is a Friday (NCrontab: day and day of week both apply)
    friday_13th = CronSchedule.parse("0 0 0 13 * FRI")
    assert friday_13th.next_after(at("2025-01-01T00:00:00")) == at("2025-06-13T00:00:00")


def test_month_and_year_roll_over():
    leap_day = CronSchedule.parse("0 0 0 29 2 *")
    assert leap_day.next_after(at("2025-03-01T00:00:00")) == at("2028-02-29T00:00:00")
    yearly = CronSchedule.parse("0 0 0 1 1 *")
    assert yearly.next_after(at("2025-12-31T23:59:59")) == at("2026-01-01T00:00:00")


def test_naive_times_are_utc():
    schedule = CronSchedule.parse("0 */5 * * * *")
    assert schedule.next_after(datetime(2025, 3, 1, 12, 1)) == at("2025-03-01T12:05:00")


@pytest.mark.parametrize(
    "expression",
    [
        "*/5 * * * *",  # five fields: NCRONTAB for Functions has six
        "0 */5 * * * * *",
        "60 * * * * *",
        "0 0 24 * * *",
        "0 0 0 0 * *",
        "0 0 0 * 13 *",
        "0 0 0 * * 7",
        "0 */0 * * * *",
        "0 5-1 * * * *",
        "0 1,,2 * * * *",
        "0 x * * * *",
        "0 0 0 * FOO *",
        "00:05:00",
    ],
)
def test_invalid_expressions_are_refused(expression):
    with pytest.raises(ValueError):
        CronSchedule.parse(expression)


def test_a_schedule_that_never_fires_says_so():
    never = CronSchedule.parse("0 0 0 30 2 *")
    with pytest.raises(ValueError, match="never fires"):
        never.next_after(at("2025-01-01T00:00:00"))
