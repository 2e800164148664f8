"""The vendor's index of people across customer accounts (issue 16): a keyed hash of an
e-mail address, user name or external identity to the tenants that hold participants by
it, so that a request sent to the vendor is forwarded without reading every webcast."""

from typing import Any

from azure.cosmos import exceptions as cosmos_errors

from shared.cosmos.repository import KeyedRepository, is_missing
from shared.ids import lookup_hash
from shared.participants.models import IndexedPerson, Participant
from shared.participants.people import LoginKind, find_person
from shared.participants.repository import login_value, logins_of, participants
from shared.privacy.models import DataSubject

index = KeyedRepository(container="people_index", model=IndexedPerson)


def entry_id(kind: str, value: str) -> str:
    return f"person:{kind}:{lookup_hash(f'platform-person-{kind}', login_value(kind, value))}"


def add(*, tenant_id: str, kind: str, value: str) -> None:
    """Name the tenant under the value: one patch, a create for a value seen first."""
    key = entry_id(kind, value)
    operation = [{"op": "set", "path": f"/tenants/{tenant_id}", "value": True}]
    for _ in range(3):
        try:
            index.container.patch_item(key, partition_key=key, patch_operations=operation)
            return
        except cosmos_errors.CosmosHttpResponseError as error:
            if not is_missing(error):
                raise
        try:
            index.container.create_item(IndexedPerson(id=key, tenants={tenant_id: True}).to_item())
            return
        except cosmos_errors.CosmosResourceExistsError:
            continue  # created meanwhile: patch it
    raise RuntimeError("the people index entry kept changing")


def tenants_of(*, kind: LoginKind, value: str) -> list[str]:
    """The tenants that hold a participant by the value now (each one checked again; an
    entry naming one that no longer does is corrected on the way)."""
    key = entry_id(kind.value, value)
    entry = index.get(key)
    if entry is None:
        return []
    holding = [
        tenant_id
        for tenant_id in sorted(entry.tenants)
        if find_person(tenant_id=tenant_id, kind=kind, value=value, limit=1)
    ]
    if len(holding) != len(entry.tenants):
        _keep_only(key, holding)
    return holding


def _keep_only(key: str, holding: list[str]) -> None:
    if holding:
        index.container.upsert_item(
            IndexedPerson(id=key, tenants=dict.fromkeys(holding, True)).to_item()
        )
    else:
        index.delete(key)


def _participant(subject: DataSubject) -> Participant | None:
    if subject.participant_id is None or subject.webcast_id is None:
        return None
    return participants.get(
        tenant_id=subject.tenant_id,
        partition_key=subject.webcast_id,
        item_id=subject.participant_id,
        include_blocked=True,
    )


def export_entries(*, subject: DataSubject) -> list[dict[str, Any]]:
    """That the vendor's index names this customer account under the participant's logins
    (never which other accounts it names: they are other controllers)."""
    participant = _participant(subject)
    if participant is None:
        return []
    found = []
    for kind, value in logins_of(participant):
        entry = index.get(entry_id(kind, value))
        if entry is not None and subject.tenant_id in entry.tenants:
            found.append({"login": kind, "indexed_for_forwarding": True})
    return found


def release(*, subject: DataSubject) -> int:
    """Take the tenant out of the entries of the participant's logins where no other of its
    participants holds them; how many entries changed. A webcast's deletion leaves stale
    names, which the next lookup corrects."""
    participant = _participant(subject)
    if participant is None:
        return 0
    changed = 0
    for kind, value in logins_of(participant):
        others = [
            p
            for p in find_person(
                tenant_id=subject.tenant_id, kind=LoginKind(kind), value=value, limit=2
            )
            if p.id != participant.id
        ]
        key = entry_id(kind, value)
        entry = index.get(key)
        if others or entry is None or subject.tenant_id not in entry.tenants:
            continue
        _keep_only(key, [t for t in entry.tenants if t != subject.tenant_id])
        changed += 1
    return changed


def _naming(tenant_id: str) -> list[IndexedPerson]:
    # Entries are keyed by person, not tenant: only an account's deletion looks across them.
    found = index.container.query_items(  # nosemgrep: cosmos-query-without-partition-key
        "SELECT * FROM c WHERE IS_DEFINED(c.tenants[@t])",
        parameters=[{"name": "@t", "value": tenant_id}],
        enable_cross_partition_query=True,
    )
    return [IndexedPerson.model_validate(item) for item in found]


def forget_tenant(tenant_id: str) -> int:
    """Take a deleted customer account out of every entry; how many entries changed."""
    entries = _naming(tenant_id)
    for entry in entries:
        _keep_only(entry.id, [t for t in entry.tenants if t != tenant_id])
    return len(entries)


def count_tenant(tenant_id: str) -> int:
    """How many entries still name the customer account."""
    return len(_naming(tenant_id))
