"""One person across the tenant's webcasts, found by the person key their login keys carry."""

from enum import StrEnum

from shared.participants.models import Participant
from shared.participants.repository import EXTERNAL, logins, participants, person_key


class LoginKind(StrEnum):
    """What a data-subject request names a person by."""

    email = "email"
    username = "username"
    external_id = EXTERNAL  # the `sub` a customer's server vouches for in an embed token


def find_person(
    *, tenant_id: str, kind: LoginKind, value: str, limit: int, blocked: bool = False
) -> list[Participant]:
    """The participant records of every webcast of the tenant where `value` is the login of
    `kind`, at most `limit`, oldest first; blocked records only when `blocked` (and then
    only they: lifting a hold reaches nothing else)."""
    keys = logins.iterate_tenant(
        tenant_id=tenant_id,
        where="c.person = @person",
        parameters={"@person": person_key(tenant_id=tenant_id, kind=kind.value, value=value)},
        max_items=limit,
    )
    found: dict[str, Participant] = {}
    for key in keys:
        participant = participants.get(
            tenant_id=tenant_id,
            partition_key=key.webcast_id,
            item_id=key.participant_id,
            include_blocked=blocked,
        )
        if participant is not None and (participant.blocked_at is not None) == blocked:
            found[participant.id] = participant
    return sorted(found.values(), key=lambda each: (each.created_at, each.id))
