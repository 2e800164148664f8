"""Personal-data registry: every store is registered; exporters and erasers work."""

import json

import pytest

from shared import clients
from shared.accounts.repository import find_by_email
from shared.auth.models import Permission
from shared.config import get_settings
from shared.participants import access
from shared.participants.repository import participants
from shared.privacy.registry import (
    BLOB_CONTAINERS,
    COSMOS_CONTAINERS,
    QUEUES,
    BlobContainerSpec,
    CosmosContainerSpec,
    DataSubject,
    NotYet,
    resolve_handler,
)
from tests import helpers


def _strip(names: list[str], prefix: str) -> set[str]:
    return {name[len(prefix) :] for name in names if name.startswith(prefix)}


def test_every_store_that_exists_is_registered(stack):
    settings = get_settings()
    database = clients.cosmos_database()
    cosmos = _strip([c["id"] for c in database.list_containers()], settings.cosmos_container_prefix)
    blobs = _strip(
        [c["name"] for c in clients.blob_service().list_containers()], settings.storage_prefix
    )
    queues = _strip(
        [q["name"] for q in clients.queue_service().list_queues()], settings.storage_prefix
    )
    assert cosmos and cosmos <= {s.name for s in COSMOS_CONTAINERS}
    assert blobs and blobs <= {s.name for s in BLOB_CONTAINERS}
    assert queues and queues <= {s.name for s in QUEUES}
    with pytest.raises(KeyError):
        clients.cosmos_container("unregistered")


def test_every_personal_store_names_an_exporter_and_an_eraser():
    specs: list[CosmosContainerSpec | BlobContainerSpec] = [*COSMOS_CONTAINERS, *BLOB_CONTAINERS]
    for spec in specs:
        if not spec.personal_data:
            continue
        for handler in (spec.exporter, spec.eraser):
            assert handler is not None, f"{spec.name} holds personal data without a handler"
            if isinstance(handler, NotYet):
                assert handler.reason, spec.name
            else:
                assert callable(resolve_handler(handler)), handler


def test_exporters_and_erasers_of_account_data_work(stack):
    owner = helpers.new_owner("dsr")
    sub = helpers.new_subaccount(owner, [Permission.moderation])
    owner.patch(f"/api/accounts/{sub.account_id}", json={"display_name": "Moritz Moderator"})
    handlers = {
        (spec.name, kind): getattr(spec, kind)
        for spec in COSMOS_CONTAINERS
        for kind in ("exporter", "eraser")
        if spec.personal_data and not isinstance(getattr(spec, kind), NotYet)
    }
    subject = DataSubject(tenant_id=owner.tenant_id, account_id=sub.account_id)
    exported = {}
    for (name, kind), handler in handlers.items():
        if kind == "exporter":
            exported[name] = resolve_handler(handler)(subject=subject)
    text = json.dumps(exported)
    assert sub.email in text and "Moritz Moderator" in text
    assert "$argon2id$" not in text and sub.secret not in text
    assert exported["sessions"], "the signed-in session is part of the export"
    assert exported["audit"], "entries about the person are part of the export"

    for (_, kind), handler in handlers.items():
        if kind == "eraser":
            resolve_handler(handler)(subject=subject)
    assert sub.get("/api/auth/session").status_code == 401
    assert find_by_email(sub.email) is None
    login = helpers.client().post(
        "/api/auth/login", json={"email": sub.email, "password": sub.password}
    )
    assert login.status_code == 401
    again = resolve_handler("shared.accounts.privacy:export_account")(subject=subject)
    assert sub.email not in json.dumps(again) and "Moritz" not in json.dumps(again)
    audit_after = resolve_handler("shared.audit.privacy:export_actor_entries")(subject=subject)
    assert all(
        entry.get("client_ip") is None
        for entry in audit_after
        if entry["actor_id"] == sub.account_id
    )


def test_exporters_and_erasers_of_participant_data_work(stack):
    owner = helpers.new_owner("participant-dsr")
    webcast = owner.post(
        "/api/webcasts",
        json={
            "title": "DSR",
            "slug": "dsr",
            "access_mode": "registration",
            "admit_before_confirmation": True,
        },
    ).json()
    viewer = helpers.client()
    email = helpers.unique_email("pia")
    registered = viewer.post(
        f"/api/w/{webcast['id']}/registrations", json={"email": email, "answers": {}}
    )
    assert registered.status_code == 202
    participant = participants.get(
        tenant_id=owner.tenant_id,
        partition_key=webcast["id"],
        item_id=registered.json()["participant_id"],
    )
    assert participant is not None
    access.issue_link(participant=participant, single_use=True)
    subject = DataSubject(
        tenant_id=owner.tenant_id, webcast_id=webcast["id"], participant_id=participant.id
    )
    specs = [s for s in COSMOS_CONTAINERS if s.personal_data]
    exported = {
        s.name: resolve_handler(s.exporter)(subject=subject)
        for s in specs
        if isinstance(s.exporter, str)
    }
    assert exported["participants"][0]["email"] == email
    assert "password_hash" not in json.dumps(exported)
    assert exported["tokens"] and exported["audit"]
    for spec in specs:
        if isinstance(spec.eraser, str):
            resolve_handler(spec.eraser)(subject=subject)
    assert viewer.get(f"/api/w/{webcast['id']}/me").status_code == 403
    after = {
        s.name: resolve_handler(s.exporter)(subject=subject)
        for s in specs
        if isinstance(s.exporter, str) and s.name in ("participants", "tokens")
    }
    assert after == {"participants": [], "tokens": []}
