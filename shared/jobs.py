"""Idempotency markers for queue handlers: messages arrive at least once."""

from shared.clock import utc_iso
from shared.cosmos.repository import Document, KeyedRepository


class JobMarker(Document):
    doc_type = "job-marker"

    done_at: str
    # The webcast the job was about, if any: its deletion removes the marker with it.
    webcast_id: str | None = None


markers = KeyedRepository(container="jobs", model=JobMarker)


def already_done(key: str) -> bool:
    return markers.get(key) is not None


def mark_done(key: str, *, webcast_id: str | None = None) -> None:
    markers.upsert(JobMarker(id=key, done_at=utc_iso(), webcast_id=webcast_id))
