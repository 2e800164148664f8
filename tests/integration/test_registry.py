"""Store catalogue and privacy handlers: every store is listed; exporters and erasers work."""

import json
from collections.abc import Mapping

import pytest

from shared import clients
from shared.accounts import privacy as accounts_privacy
from shared.accounts.repository import find_by_email
from shared.audit import privacy as audit_privacy
from shared.auth.models import Permission
from shared.composition.privacy_handlers import BLOB_HANDLERS, COSMOS_HANDLERS, StoreHandlers
from shared.config import get_settings
from shared.participants import access
from shared.participants.repository import participants
from shared.privacy.models import DataSubject, NotYet
from shared.stores import BLOB_CONTAINERS, COSMOS_CONTAINERS, QUEUES
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
    tables: list[tuple[set[str], Mapping[str, StoreHandlers]]] = [
        ({s.name for s in COSMOS_CONTAINERS if s.personal_data}, COSMOS_HANDLERS),
        ({s.name for s in BLOB_CONTAINERS if s.personal_data}, BLOB_HANDLERS),
    ]
    for personal, table in tables:
        assert personal - set(table) == set(), "personal data without an exporter and an eraser"
        assert set(table) - personal == set(), "handlers for a store the catalogue has no data in"
        for name in personal:
            for handler in (table[name].exporter, table[name].eraser):
                if isinstance(handler, NotYet):
                    assert handler.reason, name
                else:
                    assert callable(handler), name


def test_exporters_and_erasers_of_account_data_work(stack):
    owner = helpers.new_owner("dsr")
    sub = helpers.new_subaccount(owner, [Permission.moderation])
    owner.patch(f"/api/accounts/{sub.account_id}", json={"display_name": "Moritz Moderator"})
    subject = DataSubject(tenant_id=owner.tenant_id, account_id=sub.account_id)
    exported = {}
    for name, handlers in COSMOS_HANDLERS.items():
        if not isinstance(handlers.exporter, NotYet):
            exported[name] = handlers.exporter(subject=subject)
    text = json.dumps(exported)
    assert sub.email in text and "Moritz Moderator" in text
    assert "$argon2id$" not in text and sub.secret not in text
    assert exported["sessions"], "the signed-in session is part of the export"
    assert exported["audit"], "entries about the person are part of the export"

    for handlers in COSMOS_HANDLERS.values():
        if not isinstance(handlers.eraser, NotYet):
            handlers.eraser(subject=subject)
    assert sub.get("/api/auth/session").status_code == 401
    assert find_by_email(sub.email) is None
    login = helpers.client().post(
        "/api/auth/login", json={"email": sub.email, "password": sub.password}
    )
    assert login.status_code == 401
    again = accounts_privacy.export_account(subject=subject)
    assert sub.email not in json.dumps(again) and "Moritz" not in json.dumps(again)
    audit_after = audit_privacy.export_actor_entries(subject=subject)
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
    exporters = {
        name: handlers.exporter
        for name, handlers in COSMOS_HANDLERS.items()
        if not isinstance(handlers.exporter, NotYet)
    }
    exported = {name: export(subject=subject) for name, export in exporters.items()}
    assert exported["participants"][0]["email"] == email
    assert "password_hash" not in json.dumps(exported)
    assert exported["tokens"] and exported["audit"]
    for handlers in COSMOS_HANDLERS.values():
        if not isinstance(handlers.eraser, NotYet):
            handlers.eraser(subject=subject)
    assert viewer.get(f"/api/w/{webcast['id']}/me").status_code == 403
    after = {name: exporters[name](subject=subject) for name in ("participants", "tokens")}
    assert after == {"participants": [], "tokens": []}
