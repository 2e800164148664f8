"""Whose data an exporter or eraser handles, and the shape every exporter and eraser has."""

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class DataSubject:
    """Whose data an exporter or eraser handles: an admin-side account, a participant, a
    speaker named on a webcast's page (neither account nor participant), or with none of
    them the whole webcast.

    Every handler takes `subject=` and returns nothing (or 0) for a kind of subject whose
    data its store does not hold."""

    tenant_id: str
    account_id: str | None = None
    webcast_id: str | None = None
    participant_id: str | None = None
    speaker_id: str | None = None

    @property
    def is_whole_webcast(self) -> bool:
        """A webcast's own deletion: no single person is named."""
        people = (self.account_id, self.participant_id, self.speaker_id)
        return self.webcast_id is not None and all(each is None for each in people)


@dataclass(frozen=True)
class NotYet:
    """An exporter or eraser that a later issue delivers."""

    reason: str


class Exporter(Protocol):
    """Everything one store holds about the subject, as JSON-ready records."""

    def __call__(self, *, subject: DataSubject) -> list[dict[str, Any]]: ...


class Eraser(Protocol):
    """Remove or blank what one store holds about the subject; how many items it changed."""

    def __call__(self, *, subject: DataSubject) -> int: ...
