"""Data-subject requests across a tenant's webcasts (P23): a person found by e-mail address,
user name or external identity, given everything every store holds about them, and erased
from all of them while every other person's data stays."""

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any
from unittest import mock

import jsonschema
import pytest

from shared import cli
from shared.audit.models import PLATFORM_TENANT, Actor, ActorKind
from shared.auth.models import Permission
from shared.clients import cosmos_container
from shared.participants import access, people_index
from shared.participants.imports import worker
from shared.participants.models import ParticipantInput
from shared.participants.repository import participants
from shared.participants.service import save_participant
from shared.stores import COSMOS_CONTAINERS
from shared.webcasts.service import find_in_tenant
from tests import helpers
from tests.integration.test_isolation import _POLL
from tests.integration.test_participant_deletion import TRACKING, _signed_in_activity
from tests.integration.test_participant_imports import csv_bytes, start, upload

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "docs" / "data-subject-export.schema.json").read_text()
)
TIED = {
    "messages_show_sender_to_moderators": True,
    "poll_results_tied_to_participant": True,
    "attendance_tied_to_participant": True,
}
# Any moment the ledger records, as ISO 8601 text.
ANY_TIME = mock.ANY
# Account-side stores: a participant has no admin account, sign-in lookup or page to design.
ACCOUNT_SIDE = {"tenants", "logins", "designs"}


def _webcast_with_a_poll(owner: helpers.Admin, name: str) -> tuple[str, str]:
    webcast_id = helpers.new_webcast(
        owner,
        name,
        title=f"Webcast {name}",
        access_mode="login",
        modules={"message_box": True, "polls": True, "tracking": True},
        privacy=TIED,
    )
    poll_id = owner.post(f"/api/webcasts/{webcast_id}/polls", json=_POLL).json()["id"]
    opened = owner.post(f"/api/webcasts/{webcast_id}/polls/{poll_id}/open", json={})
    assert opened.status_code == 200, opened.text
    return webcast_id, poll_id


def _participant(owner: helpers.Admin, webcast_id: str, **body: Any) -> dict[str, Any]:
    created = owner.post(f"/api/webcasts/{webcast_id}/participants", json=body)
    assert created.status_code == 201, created.text
    answer: dict[str, Any] = created.json()
    return answer


def _active(owner: helpers.Admin, webcast_id: str, poll_id: str, login: str) -> str:
    """A participant who signed in, wrote, answered, watched and got a personal link."""
    created = _participant(owner, webcast_id, email=login, username=login.split("@")[0])
    _signed_in_activity(webcast_id, login, created["generated_password"], poll_id)
    participant = participants.get(
        tenant_id=owner.tenant_id, partition_key=webcast_id, item_id=created["id"]
    )
    assert participant is not None
    access.issue_link(participant=participant, single_use=False)
    return str(created["id"])


def _documents_naming(person_ids: set[str]) -> dict[str, int]:
    """How many documents of each personal Cosmos store mention one of the ids anywhere,
    read raw past every repository: the stores the export and the erasure must reach."""
    names = [f"@p{index}" for index in range(len(person_ids))]
    # ToString of a document is its JSON text: one query per container finds every field.
    where = " OR ".join(f"CONTAINS(ToString(c), {name})" for name in names)
    parameters: list[dict[str, Any]] = [
        {"name": name, "value": person}
        for name, person in zip(names, sorted(person_ids), strict=True)
    ]
    found: dict[str, int] = {}
    for spec in COSMOS_CONTAINERS:
        if not spec.personal_data:
            continue
        items = cosmos_container(spec.name).query_items(
            f"SELECT c.id FROM c WHERE {where}",  # noqa: S608 - fixed names, values as parameters
            parameters=parameters,
            enable_cross_partition_query=True,
        )
        count = len(list(items))
        if count:
            found[spec.name] = count
    return found


def _export(owner: helpers.Admin, **query: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    answer = owner.post("/api/people/export", json=query)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["cache-control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    document = json.loads(members.pop("person.json"))
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    return document, members


@pytest.mark.claim("P23")
def test_a_person_is_found_exported_and_erased_across_webcasts_and_no_one_else(stack):
    owner = helpers.new_owner("subject-requests")
    first, first_poll = _webcast_with_a_poll(owner, "first")
    second, second_poll = _webcast_with_a_poll(owner, "second")
    address = helpers.unique_email("petra")
    leaving = {
        _active(owner, first, first_poll, address),
        # The same address in other letter case is the same person.
        _active(owner, second, second_poll, address.upper()),
    }
    staying = _active(owner, first, first_poll, helpers.unique_email("paul"))
    TRACKING.drain()

    found = owner.post("/api/people/search", json={"email": f"  {address.title()} "})
    assert found.status_code == 200, found.text
    records = found.json()["records"]
    assert {r["participant_id"] for r in records} == leaving
    assert {r["webcast_title"] for r in records} == {"Webcast first", "Webcast second"}

    # Access and portability: every store whose documents name the person contributes.
    naming = _documents_naming(leaving)
    assert {"participants", "messages", "polls", "tracking", "tokens", "sessions"} <= set(naming)
    document, members = _export(owner, email=address)
    assert document["found_by"] == "email"
    assert address not in json.dumps(document["found_by"])
    by_webcast = {entry["webcast_id"]: entry for entry in document["webcasts"]}
    assert set(by_webcast) == {first, second}
    for store in naming:
        assert any(entry["stores"][store] for entry in by_webcast.values()), store
        assert f"csv/{store}.csv" in members, store
    [record] = by_webcast[first]["stores"]["participants"]
    assert record["email"] == address and "password_hash" not in record
    messages = csv.DictReader(io.StringIO(members["csv/messages.csv"].decode("utf-8-sig")))
    assert {row["text"] for row in messages} == {f"From {address}", f"From {address.upper()}"}
    assert staying not in json.dumps(document)
    # The log tells what happened to their data, not who else acted or from where.
    audit_rows = members["csv/audit.csv"].decode("utf-8-sig")
    assert owner.account_id not in audit_rows and owner.account_id not in json.dumps(document)
    assert "198.51." not in audit_rows, "no admin's client address"

    # Erasure: the person goes from every store, the audit log keeps ids only (P31).
    paul_before = _documents_naming({staying})
    erased = owner.post("/api/people/erasure", json={"email": address})
    assert erased.status_code == 200, erased.text
    receipt = erased.json()
    assert receipt["participants"] == 2
    for store in ("participants", "messages", "polls", "tracking", "tokens", "sessions"):
        assert receipt["erased"][store] >= 1, store
    assert set(_documents_naming(leaving)) == {"audit"}
    assert _documents_naming({staying}) == paul_before, "others keep theirs"
    again = owner.post("/api/people/search", json={"email": address})
    assert again.json()["records"] == []

    # Every request and its outcome is audited, without the address it named.
    for action in ("subject.search", "subject.export", "subject.erase"):
        entries = helpers.audit_entries(owner.tenant_id, action=action)
        assert any(set(entry.entity_ids or []) == leaving for entry in entries), action
    [erasure] = helpers.audit_entries(owner.tenant_id, action="subject.erase")
    assert erasure.store_counts is not None and erasure.store_counts["participants"] == [2]
    log = json.dumps(
        [entry.model_dump(mode="json") for entry in helpers.audit_entries(owner.tenant_id)]
    )
    assert address.split("@")[0] not in log.lower()


@pytest.mark.claim("P23")
def test_a_request_names_one_person_of_its_own_tenant_and_needs_the_owner(stack):
    owner = helpers.new_owner("subject-bounds")
    webcast_id = helpers.new_webcast(owner, "bounds", access_mode="login")
    created = _participant(owner, webcast_id, username="only-a-name")
    webcast = find_in_tenant(tenant_id=owner.tenant_id, webcast_id=webcast_id)
    assert webcast is not None
    embedded = save_participant(
        webcast=webcast,
        data=ParticipantInput(),
        source="embed",
        actor=Actor(kind=ActorKind.system, id="embed-key:test", role="embed-token"),
        external_id="crm-4711",
    ).participant

    by_name = owner.post("/api/people/search", json={"username": "ONLY-A-NAME"}).json()
    assert [r["participant_id"] for r in by_name["records"]] == [created["id"]]
    by_sub = owner.post("/api/people/search", json={"external_id": "crm-4711"}).json()
    assert [r["participant_id"] for r in by_sub["records"]] == [embedded.id]
    # External identities keep their case: the customer's system decides what is equal.
    assert owner.post("/api/people/search", json={"external_id": "CRM-4711"}).json() == {
        "found_by": "external",
        "records": [],
    }

    other = helpers.new_owner("subject-other")
    assert (
        other.post("/api/people/search", json={"username": "only-a-name"}).json()["records"] == []
    )
    erased = other.post("/api/people/erasure", json={"username": "only-a-name"})
    assert erased.json()["participants"] == 0
    assert participants.get(
        tenant_id=owner.tenant_id, partition_key=webcast_id, item_id=created["id"]
    )

    manager = helpers.new_subaccount(owner, [Permission.participants])
    refused = manager.post("/api/people/export", json={"username": "only-a-name"})
    assert refused.status_code == 403, refused.text

    for body, field in (
        ({"username": "only-a-name", "email": "a@example.org"}, "email"),
        ({}, "email"),
        ({"email": "\ud800@example.org"}, "body.email"),
        ({"username": "x" * 321}, "body.username"),
    ):
        raw = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        answer = owner.post("/api/people/search", content=raw, headers=headers)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert field in {error["field"] for error in answer.json()["errors"]}, answer.text


@pytest.mark.claim("P23")
def test_an_erased_person_stays_out_of_imports_but_may_register_again_themselves(stack):
    owner = helpers.new_owner("subject-ledger")
    webcast_id = helpers.new_webcast(
        owner, "ledger", access_mode="registration", admit_before_confirmation=True
    )
    erased_address = helpers.unique_email("erased")
    _participant(owner, webcast_id, email=erased_address)
    assert owner.post("/api/people/erasure", json={"email": erased_address}).status_code == 200

    # The import file was made before the request: its row of the erased person is skipped.
    other_address = helpers.unique_email("imported")
    content = csv_bytes([["E-Mail"], [erased_address.upper()], [other_address]])
    job = upload(owner, webcast_id, "list.csv", content)
    done = start(owner, webcast_id, job["id"], mapping={"E-Mail": "email"})
    assert done["status"] == "done", done
    assert (done["counts"]["created"], done["counts"]["erased"]) == (1, 1)
    [skipped] = done["report"]["errors"]
    assert skipped["row"] == 2 and skipped["reason"] == worker.ERASED_ROW
    assert erased_address not in json.dumps(done)
    search = owner.post("/api/people/search", json={"email": erased_address})
    assert search.json()["records"] == []

    # The person's own later registration is theirs to make; the export says what was erased.
    viewer = helpers.Viewer.register(webcast_id, email=erased_address, answers={})
    assert viewer.participant_id is not None
    document, _ = _export(owner, email=erased_address)
    [entry] = document["webcasts"]
    assert entry["stores"]["erasures"] == [{"login": "email", "erased_at": ANY_TIME}]


@pytest.mark.claim("P23")
def test_the_vendor_finds_which_controllers_hold_a_person_to_forward_a_request(stack):
    address = helpers.unique_email("forwarded")
    named = helpers.new_owner("forward-named")
    profile = {"legal_name": "Named GmbH", "postal_address": "Way 1", "contact_email": named.email}
    assert named.request("PUT", "/api/account/controller", json=profile).status_code == 200
    unnamed = helpers.new_owner("forward-unnamed")
    elsewhere = helpers.new_owner("forward-elsewhere")
    for owner in (named, unnamed):
        for name in ("one", "two"):
            _participant(owner, helpers.new_webcast(owner, name), email=address)
    _participant(elsewhere, helpers.new_webcast(elsewhere), email=helpers.unique_email("x"))
    # An entry naming an account that holds no one by the address (a webcast deleted since).
    people_index.add(tenant_id=elsewhere.tenant_id, kind="email", value=address)

    def lookup(*arguments: str) -> str:
        out = io.StringIO()
        assert cli.main(["find-person", *arguments], out=out) == 0
        return out.getvalue()

    shown = lookup("--email", address.upper())
    assert f"Named GmbH <{named.email}>" in shown
    assert unnamed.email in shown and elsewhere.tenant_id not in shown
    entry = people_index.index.get(people_index.entry_id("email", address))
    assert entry is not None and set(entry.tenants) == {named.tenant_id, unnamed.tenant_id}
    [audited] = [
        e
        for e in helpers.audit_entries(PLATFORM_TENANT, action="subject.forward_lookup")
        if set(e.entity_ids or []) == {named.tenant_id, unnamed.tenant_id}
    ]
    assert address.split("@")[0] not in audited.model_dump_json()

    # Once one controller erased the person, the vendor forwards to the other alone.
    assert named.post("/api/people/erasure", json={"email": address}).json()["participants"] == 2
    shown = lookup("--email", address)
    assert "Named GmbH" not in shown and unnamed.email in shown
    assert "no customer account" in lookup("--username", "nobody-by-this-name")
    assert cli.main(["find-person"], out=io.StringIO()) == 2
