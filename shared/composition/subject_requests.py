"""Data-subject requests across a tenant's webcasts (P23): find a person by e-mail address,
user name or external identity; give them everything every store holds about them as a ZIP
(access and portability); erase them and what is tied to them from every store.

It runs every feature's exporter and eraser (`privacy_handlers`), so it lives here. Every
request and its outcome, counts per store, is audited with ids only: never the address or
name it was asked for."""

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, StringConstraints

from shared.audit import operations
from shared.audit.models import SYSTEM_ACTOR, Actor, RequestContext
from shared.auth.models import Principal
from shared.auth.permissions import require_manager
from shared.clock import now, utc_iso
from shared.composition.privacy_handlers import (
    COSMOS_HANDLERS,
    block_tied_to_participant,
    erase_tied_to_participant,
)
from shared.errors import validation_error
from shared.participants import erasure_ledger
from shared.participants import privacy as participant_privacy
from shared.participants.models import Participant
from shared.participants.people import LoginKind, find_person
from shared.participants.service import registration_form
from shared.privacy.models import DataSubject, NotYet
from shared.spreadsheet import csv_chunks, safe_cell
from shared.stores import COSMOS_CONTAINERS
from shared.text import InputModel
from shared.webcasts.service import find_in_tenant

EXPORT_FORMAT = "webcast-data-subject-export"
EXPORT_VERSION = 1
ZIP_TYPE = "application/zip"
# One person's records across the tenant: far more webcasts than anyone attends; more is
# refused rather than answered in part, so that no request is mistaken for complete.
MAX_RECORDS = 1000

_Login = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)]


class PersonQuery(InputModel):
    """Whom a request names: exactly one of an e-mail address, a user name (user-name-only
    logins have no address) or the external identity a customer's server embeds them by."""

    email: _Login | None = None
    username: _Login | None = None
    external_id: _Login | None = None


class PersonRecord(BaseModel):
    """One webcast's participant record of the person."""

    webcast_id: str
    webcast_title: str
    participant_id: str
    name: str
    created_at: str
    source: str


class PersonMatches(BaseModel):
    found_by: LoginKind
    records: list[PersonRecord]


MAX_HOLD_DAYS = 3650  # the longest retention: no hold outlasts what a webcast may keep


class PersonHold(PersonQuery):
    """A legal hold instead of an erasure (P24): why, and the day it ends (then erased)."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    until: date


class PersonBlocking(BaseModel):
    """What a hold, or its lifting, changed: the records and the tied items per store."""

    found_by: LoginKind
    participants: int
    changed: dict[str, int]


class Hold(BaseModel):
    """A blocked record as the controller sees it: where, why and until when; none of the
    blocked data itself (it is out of every display while the hold lasts)."""

    webcast_id: str
    webcast_title: str
    participant_id: str
    reason: str
    blocked_at: str
    until: str


class Holds(BaseModel):
    items: list[Hold]


class PersonErasure(BaseModel):
    """What an erasure removed: the records it found, and the items per store."""

    found_by: LoginKind
    participants: int
    erased: dict[str, int]


class PersonExport(BaseModel):
    filename: str
    media_type: str = ZIP_TYPE
    data: bytes
    counts: dict[str, int]  # records per store, for the request's audit entry


def _named(query: PersonQuery) -> tuple[LoginKind, str]:
    given = [
        (kind, value)
        for kind, value in (
            (LoginKind.email, query.email),
            (LoginKind.username, query.username),
            (LoginKind.external_id, query.external_id),
        )
        if value
    ]
    if len(given) != 1:
        raise validation_error(
            "email", "Name the person by exactly one of: email, username, external_id"
        )
    return given[0]


def _records(tenant_id: str, query: PersonQuery) -> tuple[LoginKind, list[Participant]]:
    kind, value = _named(query)
    found = find_person(tenant_id=tenant_id, kind=kind, value=value, limit=MAX_RECORDS + 1)
    if len(found) > MAX_RECORDS:
        raise validation_error(
            kind.value, f"names more than {MAX_RECORDS} participant records; ask the vendor"
        )
    return kind, found


def _subject(participant: Participant) -> DataSubject:
    return DataSubject(
        tenant_id=participant.tenant_id,
        webcast_id=participant.webcast_id,
        participant_id=participant.id,
    )


def _record(participant: Participant) -> PersonRecord:
    webcast = find_in_tenant(tenant_id=participant.tenant_id, webcast_id=participant.webcast_id)
    return PersonRecord(
        webcast_id=participant.webcast_id,
        webcast_title=webcast.title if webcast else "",
        participant_id=participant.id,
        name=participant.name,
        created_at=participant.created_at,
        source=participant.source,
    )


def audit_request(
    *,
    tenant_id: str,
    actor: Actor,
    action: str,
    found: list[Participant],
    counts: dict[str, int],
    context: RequestContext,
) -> None:
    """One entry per request: the records' ids and the counts per store, never the value."""
    operations.record_event(
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        entity_type="person",
        entity_id=None,
        entity_ids=[participant.id for participant in found],
        store_counts={store: [count] for store, count in counts.items()},
        context=context,
    )


def find(*, principal: Principal, query: PersonQuery, context: RequestContext) -> PersonMatches:
    """Every participant record of the person in the tenant's webcasts."""
    tenant_id = require_manager(principal, write=False)
    kind, found = _records(tenant_id, query)
    audit_request(
        tenant_id=tenant_id,
        actor=principal.actor,
        action="subject.search",
        found=found,
        counts={"participants": len(found)},
        context=context,
    )
    return PersonMatches(found_by=kind, records=[_record(each) for each in found])


def _exported_stores(subject: DataSubject) -> dict[str, list[dict[str, Any]]]:
    """What every Cosmos store's exporter holds about one participant record."""
    stores: dict[str, list[dict[str, Any]]] = {}
    for spec in COSMOS_CONTAINERS:
        handlers = COSMOS_HANDLERS.get(spec.name)
        if handlers is None or isinstance(handlers.exporter, NotYet):
            continue
        stores[spec.name] = handlers.exporter(subject=subject)
    return stores


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        return safe_cell(json.dumps(value, ensure_ascii=False, sort_keys=True))
    if isinstance(value, bool):
        return "true" if value else "false"
    return safe_cell(value)


def _csv(rows: list[dict[str, Any]]) -> bytes:
    """One store's records of every webcast as CSV: a column per field any record has."""
    columns = sorted({key for row in rows for key in row} - {"webcast_id", "participant_id"})
    header = ["webcast_id", "participant_id", *columns]

    def lines() -> Iterator[list[str]]:
        for row in rows:
            yield [_cell(row.get(column)) for column in header]

    return b"".join(csv_chunks(header, lines()))


def export_records(tenant_id: str, found_by: str, found: list[Participant]) -> PersonExport:
    """A ZIP: `person.json` (its schema: docs/data-subject-export.schema.json) with every
    record of the person by webcast and store, and one CSV per store that holds any."""
    webcasts: list[dict[str, Any]] = []
    by_store: dict[str, list[dict[str, Any]]] = {}
    for participant in found:
        stores = _exported_stores(_subject(participant))
        form = registration_form(tenant_id=tenant_id, webcast_id=participant.webcast_id)
        webcasts.append(
            {
                **_record(participant).model_dump(),
                "form_fields": {field.id: field.label for field in form.fields},
                "stores": stores,
            }
        )
        for store, records in stores.items():
            by_store.setdefault(store, []).extend(
                {
                    "webcast_id": participant.webcast_id,
                    "participant_id": participant.id,
                    **record,
                }
                for record in records
            )
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "generated_at": utc_iso(),
        "tenant_id": tenant_id,
        "found_by": found_by,
        "webcasts": webcasts,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("person.json", json.dumps(document, ensure_ascii=False, indent=2))
        for store, rows in by_store.items():
            if rows:
                archive.writestr(f"csv/{store}.csv", _csv(rows))
    counts = {store: len(rows) for store, rows in by_store.items() if rows}
    return PersonExport(filename="personal-data.zip", data=buffer.getvalue(), counts=counts)


def export(*, principal: Principal, query: PersonQuery, context: RequestContext) -> PersonExport:
    """Everything every store holds about the person, as `export_records` builds it."""
    tenant_id = require_manager(principal, write=False)
    kind, found = _records(tenant_id, query)
    exported = export_records(tenant_id, kind.value, found)
    audit_request(
        tenant_id=tenant_id,
        actor=principal.actor,
        action="subject.export",
        found=found,
        counts=exported.counts,
        context=context,
    )
    return exported


def erase_records(found: list[Participant]) -> dict[str, int]:
    """Remove the records and what is tied to them in every store; the items per store."""
    erased: dict[str, int] = {}
    for participant in found:
        # First into the ledger: an import running meanwhile must not bring them back.
        erased["erasures"] = erased.get("erasures", 0) + erasure_ledger.record(participant)
        subject = _subject(participant)
        for store, count in erase_tied_to_participant(subject).items():
            erased[store] = erased.get(store, 0) + count
        # The record goes last, so that a failed step before it can be asked for again.
        removed = participant_privacy.erase_participant(subject=subject)
        erased["participants"] = erased.get("participants", 0) + removed
    return erased


def erase(*, principal: Principal, query: PersonQuery, context: RequestContext) -> PersonErasure:
    """Remove the person's records of every webcast and what is tied to them in every store;
    every other person's data stays. The audit log keeps its entries (ids only, P31)."""
    tenant_id = require_manager(principal, write=True)
    kind, found = _records(tenant_id, query)
    erased = erase_records(found)
    audit_request(
        tenant_id=tenant_id,
        actor=principal.actor,
        action="subject.erase",
        found=found,
        counts=erased,
        context=context,
    )
    return PersonErasure(found_by=kind, participants=len(found), erased=erased)


def _hold_end(until: date) -> str:
    today = datetime.fromtimestamp(now(), UTC).date()
    if until <= today:
        raise validation_error("until", "must be a day after today")
    if until > today + timedelta(days=MAX_HOLD_DAYS):
        raise validation_error("until", f"must be within {MAX_HOLD_DAYS} days")
    return datetime.combine(until, time.min, UTC).isoformat().replace("+00:00", "Z")


def block(*, principal: Principal, hold: PersonHold, context: RequestContext) -> PersonBlocking:
    """Block the person's records and what is tied to them where a legal duty stands against
    erasure: stored, but out of every list, search, export, sign-in, mail and processing."""
    tenant_id = require_manager(principal, write=True)
    ends = _hold_end(hold.until)
    kind, found = _records(tenant_id, hold)
    moment = utc_iso()
    changed: dict[str, int] = {}
    for participant in found:
        subject = _subject(participant)
        for store, count in block_tied_to_participant(subject, moment).items():
            changed[store] = changed.get(store, 0) + count
        held = participant_privacy.hold(subject=subject, reason=hold.reason, until=ends, at=moment)
        changed["participants"] = changed.get("participants", 0) + held
    audit_request(
        tenant_id=tenant_id,
        actor=principal.actor,
        action="subject.block",
        found=found,
        counts=changed,
        context=context,
    )
    return PersonBlocking(found_by=kind, participants=len(found), changed=changed)


def unblock(*, principal: Principal, query: PersonQuery, context: RequestContext) -> PersonBlocking:
    """Lift the hold on the person's blocked records: everything is back as it was."""
    tenant_id = require_manager(principal, write=True)
    kind, value = _named(query)
    found = find_person(
        tenant_id=tenant_id, kind=kind, value=value, limit=MAX_RECORDS, blocked=True
    )
    changed: dict[str, int] = {}
    for participant in found:
        subject = _subject(participant)
        lifted = participant_privacy.release_hold(subject=subject)
        changed["participants"] = changed.get("participants", 0) + lifted
        for store, count in block_tied_to_participant(subject, None).items():
            changed[store] = changed.get(store, 0) + count
    audit_request(
        tenant_id=tenant_id,
        actor=principal.actor,
        action="subject.unblock",
        found=found,
        counts=changed,
        context=context,
    )
    return PersonBlocking(found_by=kind, participants=len(found), changed=changed)


def erase_ended_holds(*, at: float, limit: int = 500) -> int:
    """The retention timer's part: records whose hold ended are erased as the person asked,
    with everything tied to them; how many records went."""
    before = datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")
    erased = 0
    for subject in participant_privacy.held_until(before=before, limit=limit):
        participant = participant_privacy.held_record(subject=subject)
        if participant is None:
            continue
        counts = erase_records([participant])
        audit_request(
            tenant_id=subject.tenant_id,
            actor=SYSTEM_ACTOR,
            action="subject.erase",
            found=[participant],
            counts=counts,
            context=RequestContext(),
        )
        erased += 1
    return erased


def list_holds(*, principal: Principal) -> Holds:
    """The account's blocked records, the soonest hold's end first (at most MAX_RECORDS)."""
    tenant_id = require_manager(principal, write=False)
    items = []
    for participant in participant_privacy.holds(tenant_id=tenant_id, limit=MAX_RECORDS):
        webcast = find_in_tenant(tenant_id=tenant_id, webcast_id=participant.webcast_id)
        items.append(
            Hold(
                webcast_id=participant.webcast_id,
                webcast_title=webcast.title if webcast else "",
                participant_id=participant.id,
                reason=participant.blocked_reason or "",
                blocked_at=participant.blocked_at or "",
                until=participant.blocked_until or "",
            )
        )
    return Holds(items=items)
