"""Idempotency markers for queue handlers: messages arrive at least once."""

from shared.clock import utc_iso
from shared.cosmos.repository import Document, KeyedRepository


class JobMarker(Document):
    doc_type = "job-marker"

    done_at: str


markers = KeyedRepository(container="jobs", model=JobMarker)


def already_done(key: str) -> bool:
    return markers.get(key) is not None


def mark_done(key: str) -> None:
    markers.upsert(JobMarker(id=key, done_at=utc_iso()))
