"""Speakers on a webcast's page are data subjects of their own: what the designs hold about
one of them, and its erasure from the draft and from every published version."""

from typing import Any

from shared.designs.models import Design
from shared.designs.repository import designs
from shared.designs.service import render
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
    rendered again without them); the versions changed."""
    changed = 0
    for design in _versions(subject):
        named = any(s.id == subject.speaker_id for b in design.blocks for s in b.speakers)
        if not named:
            continue
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
