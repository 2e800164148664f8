"""Exporter and eraser of the handout files offered with a webcast."""

from typing import Any

from shared.downloads.models import CONTAINER
from shared.privacy.blobs import erase_prefix, export_prefix
from shared.privacy.models import DataSubject


def export_downloads(*, subject: DataSubject) -> list[dict[str, Any]]:
    return export_prefix(CONTAINER, subject)


def erase_downloads(*, subject: DataSubject) -> int:
    return erase_prefix(CONTAINER, subject)
