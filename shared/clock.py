"""Time in one place, so that tests can move it forward."""

import time
from datetime import UTC, datetime

_offset = 0.0


def now() -> float:
    """Seconds since the epoch (UTC)."""
    return time.time() + _offset


def advance(seconds: float) -> None:
    """Move the platform's clock forward (tests of timeouts and one-time codes)."""
    global _offset
    _offset += seconds


def utc_iso(timestamp: float | None = None) -> str:
    """An ISO 8601 UTC timestamp with milliseconds."""
    moment = datetime.fromtimestamp(now() if timestamp is None else timestamp, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
