"""An iCalendar (RFC 5545) file for a scheduled webcast: one VEVENT in its own time zone."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from shared.clock import now
from shared.webcasts.models import Webcast


def event_ics(*, webcast: Webcast, url: str) -> bytes | None:
    """The webcast's date as a calendar file, None without a schedule.

    The UID stays the same for a webcast, so a later mail updates the entry. The URL is the
    public page, never a personal link: calendars are often shared."""
    from icalendar import Calendar, Event  # on first use, not at the API's cold start

    schedule = webcast.schedule
    if schedule is None:
        return None
    zone = ZoneInfo(schedule.time_zone)
    start = schedule.starts_at.astimezone(zone)
    end = schedule.ends_at.astimezone(zone)
    host = urlsplit(url).hostname or "webcast.invalid"
    event = Event()
    event.add("uid", f"webcast-{webcast.id}@{host}")
    event.add("dtstamp", datetime.fromtimestamp(now(), tz=UTC))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", webcast.title)
    event.add("url", url)
    if webcast.description:
        event.add("description", f"{webcast.description}\n\n{url}")
    else:
        event.add("description", url)
    calendar = Calendar()
    calendar.add("prodid", "-//Webcast Platform//Mail//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add_component(event)
    # A VTIMEZONE for the time zone, with the transitions around the event only.
    calendar.add_missing_timezones(
        first_date=start.date() - timedelta(days=366), last_date=end.date() + timedelta(days=366)
    )
    ics: bytes = calendar.to_ical()
    return ics
