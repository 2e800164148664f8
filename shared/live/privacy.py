"""Exporter and eraser of the live feature's blob container (the HLS output of each session)."""

from typing import Any

from shared.live.models import LIVE_CONTAINER
from shared.privacy.blobs import erase_prefix, export_prefix
from shared.privacy.models import DataSubject


def export_live(*, subject: DataSubject) -> list[dict[str, Any]]:
    return export_prefix(LIVE_CONTAINER, subject)


def erase_live(*, subject: DataSubject) -> int:
    return erase_prefix(LIVE_CONTAINER, subject)
