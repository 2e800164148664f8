"""The exporter and eraser of every store that holds personal data, by function reference.

Keyed by the store's name in `shared.stores` (Cosmos and blob containers apart: `media` and
`downloads` name one of each). Data-subject requests and deletions run what is listed here.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from shared.accounts import privacy as accounts
from shared.audit import privacy as audit
from shared.auth import privacy as auth
from shared.composition import restore_uploads
from shared.designs import privacy as designs
from shared.downloads import privacy as downloads
from shared.live import privacy as live
from shared.media import privacy as media
from shared.messages import privacy as messages
from shared.participants import erasure_ledger, people_index
from shared.participants import privacy as participants
from shared.participants.imports import privacy as import_privacy
from shared.polls import privacy as polls
from shared.privacy.models import DataSubject, Eraser, Exporter, NotYet
from shared.stores import COSMOS_CONTAINERS
from shared.tracking import privacy as tracking


@dataclass(frozen=True)
class StoreHandlers:
    """How one store's personal data is exported and erased."""

    exporter: Exporter | NotYet
    eraser: Eraser | NotYet


def _export_sessions(*, subject: DataSubject) -> list[dict[str, Any]]:
    """Admin sessions of an account and viewer sessions of a participant share the store."""
    return auth.export_sessions(subject=subject) + participants.export_sessions(subject=subject)


def _erase_sessions(*, subject: DataSubject) -> int:
    return auth.erase_sessions(subject=subject) + participants.erase_sessions(subject=subject)


COSMOS_HANDLERS: Mapping[str, StoreHandlers] = {
    "tenants": StoreHandlers(accounts.export_account, accounts.erase_account),
    "logins": StoreHandlers(accounts.export_account, accounts.erase_account),
    "sessions": StoreHandlers(_export_sessions, _erase_sessions),
    "tokens": StoreHandlers(auth.export_tokens, auth.erase_tokens),
    "throttles": StoreHandlers(accounts.export_throttles, accounts.erase_throttles),
    "participants": StoreHandlers(participants.export_participant, participants.erase_participant),
    "people_index": StoreHandlers(people_index.export_entries, people_index.release),
    "erasures": StoreHandlers(erasure_ledger.export_entries, erasure_ledger.keep_entries),
    "audit": StoreHandlers(audit.export_actor_entries, audit.redact_actor_addresses),
    "messages": StoreHandlers(messages.export_messages, messages.erase_messages),
    "polls": StoreHandlers(polls.export_answers, polls.erase_answers),
    "tracking": StoreHandlers(tracking.export_viewings, tracking.erase_viewings),
    "designs": StoreHandlers(designs.export_speaker, designs.erase_speaker),
}

BLOB_HANDLERS: Mapping[str, StoreHandlers] = {
    "uploads": StoreHandlers(media.export_uploads, media.erase_uploads),
    "media": StoreHandlers(media.export_media, media.erase_media),
    "live": StoreHandlers(live.export_live, live.erase_live),
    "exports": StoreHandlers(media.export_exports, media.erase_exports),
    "downloads": StoreHandlers(downloads.export_downloads, downloads.erase_downloads),
    "imports": StoreHandlers(import_privacy.export_sources, import_privacy.erase_sources),
    "page-uploads": StoreHandlers(designs.export_image_uploads, designs.erase_image_uploads),
    "page-images": StoreHandlers(designs.export_images, designs.erase_images),
    "restores": StoreHandlers(restore_uploads.export_uploads, restore_uploads.erase_uploads),
}

# Left out when a participant is deleted: the participant's own record (the caller removes
# it last, so that a failed step can be repeated), the audit log, which keeps its entries as
# the processing log (ids only, P31), and the erasure ledger, which records that a person was
# erased at their request (keyed hashes only). Blob containers are left out too: their
# erasers work on a whole webcast (video and import files are not one person's data alone).
_NOT_ERASED_WITH_A_PARTICIPANT = {"participants", "audit", "erasures"}


def erase_tied_to_participant(subject: DataSubject) -> dict[str, int]:
    """Run every Cosmos eraser for the participant (messages, poll answers, viewings, links
    and whatever store is listed next); how many items each removed."""
    erased: dict[str, int] = {}
    for spec in COSMOS_CONTAINERS:
        if spec.name in _NOT_ERASED_WITH_A_PARTICIPANT or not spec.personal_data:
            continue
        eraser = COSMOS_HANDLERS[spec.name].eraser
        if isinstance(eraser, NotYet):
            continue
        erased[spec.name] = eraser(subject=subject)
    return erased


class Blocker(Protocol):
    """Stamp (`blocked_at` a time) or clear (None) the hold on what one store ties to the
    subject; how many items it changed."""

    def __call__(self, *, subject: DataSubject, blocked_at: str | None) -> int: ...


# The stores whose documents tie a participant besides the record itself (P24): their
# documents carry the hold too, so that no list, feed, report or export shows them.
TIED_BLOCKERS: Mapping[str, Blocker] = {
    "messages": messages.set_blocked,
    "polls": polls.set_blocked,
    "tracking": tracking.set_blocked,
}


def block_tied_to_participant(subject: DataSubject, blocked_at: str | None) -> dict[str, int]:
    """Stamp or clear the hold on everything tied to the participant; items per store."""
    return {
        name: blocker(subject=subject, blocked_at=blocked_at)
        for name, blocker in TIED_BLOCKERS.items()
    }
