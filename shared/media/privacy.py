"""Exporters and erasers of the media feature's blob containers (sources, renditions, exports)."""

from typing import Any

from shared.privacy.blobs import erase_prefix, export_prefix
from shared.privacy.models import DataSubject


def export_uploads(*, subject: DataSubject) -> list[dict[str, Any]]:
    return export_prefix("uploads", subject)


def erase_uploads(*, subject: DataSubject) -> int:
    return erase_prefix("uploads", subject)


def export_media(*, subject: DataSubject) -> list[dict[str, Any]]:
    return export_prefix("media", subject)


def erase_media(*, subject: DataSubject) -> int:
    return erase_prefix("media", subject)


def export_exports(*, subject: DataSubject) -> list[dict[str, Any]]:
    return export_prefix("exports", subject)


def erase_exports(*, subject: DataSubject) -> int:
    return erase_prefix("exports", subject)
