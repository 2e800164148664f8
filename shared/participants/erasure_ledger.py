"""The erasure ledger: the logins of people erased at their request, per original webcast,
as keyed hashes, so that an import running meanwhile (or a restored backup) skips them. A
person's own later self-registration is not held against them."""

from collections.abc import Iterable, Mapping
from typing import Any

from shared.clock import utc_iso
from shared.cosmos.repository import TenantRepository
from shared.participants.models import ErasedLogin, Participant, ParticipantInput
from shared.participants.repository import login_id, logins_of, participants
from shared.privacy.models import DataSubject

ledger = TenantRepository(container="erasures", model=ErasedLogin, partition_field="webcast_id")


def _entry_id(*, webcast_id: str, kind: str, value: str) -> str:
    return f"erased:{login_id(webcast_id=webcast_id, kind=kind, value=value)}"


def record(participant: Participant) -> int:
    """Enter the participant's logins before the record is erased; how many entries."""
    moment = utc_iso()
    for kind, value in logins_of(participant):
        ledger.upsert(
            tenant_id=participant.tenant_id,
            item=ErasedLogin(
                id=_entry_id(webcast_id=participant.webcast_id, kind=kind, value=value),
                tenant_id=participant.tenant_id,
                webcast_id=participant.webcast_id,
                kind=kind,
                erased_at=moment,
            ),
        )
    return len(logins_of(participant))


def erased_in(*, tenant_id: str, webcast_id: str) -> frozenset[str]:
    """The ledger's entry ids of the webcast, read once per chunk of an import."""
    return frozenset(
        entry.id for entry in ledger.iterate(tenant_id=tenant_id, partition_key=webcast_id)
    )


def erased_at_of(*, tenant_id: str, webcast_id: str) -> dict[str, str]:
    """The ledger of a webcast: entry id -> when that login was erased."""
    return {
        entry.id: entry.erased_at
        for entry in ledger.iterate(tenant_id=tenant_id, partition_key=webcast_id)
    }


def erased_since(
    participant: Participant, *, original_webcast_id: str, entries: Mapping[str, str]
) -> bool:
    """Whether a record from a backup of `original_webcast_id` is of a person erased at
    their request after it was made (a later registration of theirs is not held against
    them)."""
    return any(
        participant.created_at <= erased_at
        for kind, value in logins_of(participant)
        if (
            erased_at := entries.get(
                _entry_id(webcast_id=original_webcast_id, kind=kind, value=value)
            )
        )
        is not None
    )


def names_erased(row: ParticipantInput, *, webcast_id: str, erased: Iterable[str]) -> bool:
    """Whether an imported row names a person erased at their request."""
    held = set(erased)
    return any(
        _entry_id(webcast_id=webcast_id, kind=kind, value=value) in held
        for kind, value in (("email", row.email), ("username", row.username))
        if value
    )


def export_entries(*, subject: DataSubject) -> list[dict[str, Any]]:
    """For a participant who registered again after an erasure: that an earlier record with
    the same login was erased, and when."""
    if subject.participant_id is None or subject.webcast_id is None:
        return []
    participant = participants.get(
        tenant_id=subject.tenant_id,
        partition_key=subject.webcast_id,
        item_id=subject.participant_id,
        include_blocked=True,
    )
    if participant is None:
        return []
    found = []
    for kind, value in logins_of(participant):
        entry = ledger.get(
            tenant_id=subject.tenant_id,
            partition_key=subject.webcast_id,
            item_id=_entry_id(webcast_id=subject.webcast_id, kind=kind, value=value),
        )
        if entry is not None:
            found.append({"login": kind, "erased_at": entry.erased_at})
    return found


def keep_entries(*, subject: DataSubject) -> int:
    """The ledger is the record that someone was erased: no request erases it (it holds keyed
    hashes only), and a webcast's deletion leaves it to its time to live."""
    del subject
    return 0


def purge_tenant(tenant_id: str, *, max_items: int) -> int:
    """A deleted customer account's ledger, once its audit log is purged too: nothing of the
    account is left to restore; how many entries went."""
    found = ledger.iterate_tenant(tenant_id=tenant_id, where="", parameters={}, max_items=max_items)
    return sum(
        ledger.delete(tenant_id=tenant_id, item_id=entry.id, partition_key=entry.webcast_id)
        for entry in list(found)
    )
