"""Speakers on a webcast's page are data subjects of their own: what the designs hold about
one of them, and its erasure from the draft and from every published version."""

from typing import Any

from shared.designs import images
from shared.designs.models import IMAGE_UPLOADS, IMAGES, Design
from shared.designs.repository import designs
from shared.designs.service import render
from shared.privacy.blobs import erase_prefix, export_prefix
from shared.privacy.models import DataSubject


def _versions(subject: DataSubject) -> list[Design]:
    if subject.speaker_id is None or subject.webcast_id is None:
        return []
    return designs.query(tenant_id=subject.tenant_id, partition_key=subject.webcast_id)


def export_speaker(*, subject: DataSubject) -> list[dict[str, Any]]:
    """The speaker's entries (name, role per language) in each version that names them."""
    return [
        {
            "design_version": design.version,
            "block": block.id,
            **speaker.model_dump(mode="json"),
        }
        for design in _versions(subject)
        for block in design.blocks
        for speaker in block.speakers
        if speaker.id == subject.speaker_id
    ]


def erase_speaker(*, subject: DataSubject) -> int:
    """Remove the speaker from the draft and from every published version (which is
    rendered again without them), and delete their photos; the versions changed."""
    changed = 0
    for design in _versions(subject):
        named = [s for b in design.blocks for s in b.speakers if s.id == subject.speaker_id]
        if not named:
            continue
        for photo in {s.photo for s in named if s.photo is not None}:
            images.erase_image(subject.tenant_id, design.webcast_id, photo)
        for block in design.blocks:
            block.speakers = [s for s in block.speakers if s.id != subject.speaker_id]
        if design.rendered is not None:
            design.rendered = render(
                webcast_id=design.webcast_id,
                version=design.version,
                published_at=design.rendered.published_at,
                theme=design.theme,
                blocks=design.blocks,
            )
        designs.replace(tenant_id=subject.tenant_id, item=design)
        changed += 1
    return changed


def export_image_uploads(*, subject: DataSubject) -> list[dict[str, Any]]:
    return export_prefix(IMAGE_UPLOADS, subject)


def erase_image_uploads(*, subject: DataSubject) -> int:
    return erase_prefix(IMAGE_UPLOADS, subject)


def export_images(*, subject: DataSubject) -> list[dict[str, Any]]:
    return export_prefix(IMAGES, subject)


def erase_images(*, subject: DataSubject) -> int:
    return erase_prefix(IMAGES, subject)
