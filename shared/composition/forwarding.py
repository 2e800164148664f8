"""Requests sent to the vendor (issue 16): which customer accounts hold data about a person,
so that the request is forwarded to each controller. Only the controller's name and contact
are shown, found through the vendor's index (one read, not one per webcast)."""

from pydantic import BaseModel

from shared.accounts.service import controller_profile, stored_tenant, tenant_owner
from shared.audit import operations
from shared.audit.models import PLATFORM_TENANT, SYSTEM_ACTOR
from shared.participants.people import LoginKind
from shared.participants.people_index import tenants_of


class ControllerContact(BaseModel):
    tenant_id: str
    name: str
    contact_email: str


def _contact(tenant_id: str) -> ControllerContact | None:
    profile = controller_profile(tenant_id)
    if profile is not None:
        return ControllerContact(
            tenant_id=tenant_id, name=profile.legal_name, contact_email=profile.contact_email
        )
    tenant = stored_tenant(tenant_id)
    owner = tenant_owner(tenant_id)
    if tenant is None or tenant.deletion_started_at or owner is None:
        return None
    return ControllerContact(tenant_id=tenant_id, name=tenant.name, contact_email=owner.email)


def controllers_holding(*, kind: LoginKind, value: str) -> list[ControllerContact]:
    """The controllers holding participants by the value; audited under the platform with
    the tenants' ids and their count, never the value."""
    found = [contact for t in tenants_of(kind=kind, value=value) if (contact := _contact(t))]
    operations.record_event(
        tenant_id=PLATFORM_TENANT,
        actor=SYSTEM_ACTOR.model_copy(update={"id": "operator-cli", "role": "operator"}),
        action="subject.forward_lookup",
        entity_type="person",
        entity_id=None,
        entity_ids=[contact.tenant_id for contact in found],
        store_counts={"people_index": [len(found)]},
    )
    return found
