"""Participant management (P03): forms, create, read, edit, delete, search; upsert for imports."""

import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from shared.audit import operations
from shared.audit.models import SYSTEM_ACTOR, Actor, ActorKind, RequestContext
from shared.auth.models import Permission, Principal
from shared.auth.passwords import check_policy, hash_password
from shared.clock import utc_iso
from shared.cosmos.repository import MAX_BATCH_OPERATIONS, Document, Page
from shared.emails import EmailNotValidError, checked_email
from shared.errors import DomainError, conflict, not_found, validation_error
from shared.ids import new_id, normalize_email
from shared.participants import erasure_ledger, people_index
from shared.participants.forms import check_answers, display_name
from shared.participants.models import (
    Consent,
    FormDefinition,
    Participant,
    ParticipantInput,
    ParticipantLogin,
    ParticipantStatus,
    ParticipantUpdate,
    RegistrationForm,
)
from shared.participants.repository import (
    EXTERNAL,
    find_by_login,
    forms,
    get_form,
    login_id,
    login_key,
    login_value,
    logins,
    logins_of,
    participants,
)
from shared.privacy.models import DataSubject
from shared.webcasts.models import PasswordMode, Webcast
from shared.webcasts.service import admin_webcast

PARTICIPANT_PASSWORD_MIN = 8
# No 0/O or 1/l/I: generated passwords are read off paper and screens.
_READABLE = "abcdefghjkmnpqrstuvwxyz23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass
class Saved:
    participant: Participant
    created: bool
    generated_password: str | None = None
    replaced_id: str | None = None  # the unconfirmed self-registration this write replaced


def generate_password() -> str:
    """Readable and strong: four groups of four, about 92 bits."""
    return "-".join("".join(secrets.choice(_READABLE) for _ in range(4)) for _ in range(4))


def read_form(*, principal: Principal, webcast_id: str) -> RegistrationForm:
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=False)
    return get_form(tenant_id=webcast.tenant_id, webcast_id=webcast.id)


def save_form(
    *, principal: Principal, webcast_id: str, definition: FormDefinition, context: RequestContext
) -> RegistrationForm:
    """Replace the form; fields left out stay as removed, so their answers remain readable."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=True)
    current = get_form(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
    new_ids = {f.id for f in definition.fields}
    kept = [f.model_copy(update={"removed": True}) for f in current.fields if f.id not in new_ids]
    for field in definition.fields:
        old = next((f for f in current.fields if f.id == field.id), None)
        if old is not None and old.type != field.type:
            raise validation_error(
                f"fields.{field.id}.type", "cannot change; add a new field instead"
            )
    current.fields = [*definition.fields, *kept]
    current.updated_at = utc_iso()
    saved = operations.upsert(
        forms,
        tenant_id=webcast.tenant_id,
        item=current,
        actor=principal.actor,
        action="form.update",
        entity_type="webcast",
        entity_id=webcast.id,
        changed_fields=["fields"],
        context=context,
    )
    return saved


def _claim_login(participant: Participant, kind: str, value: str | None) -> None:
    """Make the e-mail address or user name this participant's; a key left behind by a
    write that died before its participant was stored is taken over (imports resume)."""
    if not value:
        return
    key = login_key(participant=participant, kind=kind, value=value)
    try:
        logins.create(tenant_id=participant.tenant_id, item=key)
        people_index.add(tenant_id=participant.tenant_id, kind=kind, value=value)
        return
    except DomainError as error:
        existing = logins.get(
            tenant_id=participant.tenant_id, partition_key=participant.webcast_id, item_id=key.id
        )
        holder = existing and participants.get(
            tenant_id=participant.tenant_id,
            partition_key=participant.webcast_id,
            item_id=existing.participant_id,
            include_blocked=True,
        )
        if existing is None or holder:
            label = "e-mail address" if kind == "email" else "user name"
            raise conflict(f"Another participant of this webcast has this {label}", kind) from error
        existing.participant_id = participant.id
        existing.person = key.person
        logins.replace(tenant_id=participant.tenant_id, item=existing)
        people_index.add(tenant_id=participant.tenant_id, kind=kind, value=value)


def _release_login(participant: Participant, kind: str, value: str | None) -> None:
    """Free the participant's key; a key that names someone else stays theirs."""
    if not value:
        return
    key_id = login_id(webcast_id=participant.webcast_id, kind=kind, value=value)
    key = logins.get(
        tenant_id=participant.tenant_id, partition_key=participant.webcast_id, item_id=key_id
    )
    if key is not None and key.participant_id == participant.id:
        logins.delete(
            tenant_id=participant.tenant_id, partition_key=participant.webcast_id, item_id=key_id
        )


def _clean_email(email: str | None, field: str = "email") -> str | None:
    if not email:
        return None
    try:
        return normalize_email(checked_email(email))
    except EmailNotValidError as error:
        raise validation_error(field, "is not a valid e-mail address") from error


def _search_text(participant: Participant) -> str:
    return " ".join(
        filter(None, (participant.name, participant.email or "", participant.username or ""))
    ).lower()


# Only the admin's answer can show a generated password once; everyone else signs in by
# personal link (or a password of their own), so minting and hashing a password nobody will
# see would only cost time.
_SHOWS_GENERATED_PASSWORD = {"admin"}


def _password(webcast: Webcast, given: str | None, source: str) -> tuple[str | None, str | None]:
    """The hash to store and, when the system made the password, the password to show once."""
    if given:
        check_policy(given, min_length=PARTICIPANT_PASSWORD_MIN)
        return hash_password(given), None
    generated_mode = webcast.participant_passwords == PasswordMode.generated
    if generated_mode and source in _SHOWS_GENERATED_PASSWORD:
        generated = generate_password()
        return hash_password(generated), generated
    return None, None


@dataclass
class _Checked:
    """One participant input with its e-mail address cleaned and its answers checked."""

    data: ParticipantInput
    email: str | None
    answers: dict[str, Any]
    consents: list[Consent]
    external_id: str | None = None


def _check(
    data: ParticipantInput,
    form: RegistrationForm,
    *,
    partial: bool,
    external_id: str | None = None,
) -> _Checked:
    email = _clean_email(data.email)
    if not email and not data.username and not external_id:
        raise validation_error("email", "an e-mail address or a user name is required")
    answers, consents = check_answers(form.fields, data.answers, partial=partial)
    return _Checked(
        data=data, email=email, answers=answers, consents=consents, external_id=external_id
    )


def _update_with(
    webcast: Webcast, existing: Participant, checked: _Checked, hashed_password: str | None
) -> tuple[Participant, list[str]]:
    """The stored participant updated by new input, and the names of the fields it sent."""
    data = checked.data
    if checked.external_id and existing.external_id != checked.external_id:
        if existing.external_id:
            raise conflict(
                "Another external identity has this e-mail address or user name", "email"
            )
        _claim_login(existing, EXTERNAL, checked.external_id)
        existing.external_id = checked.external_id
    update = ParticipantUpdate(
        answers={**existing.answers, **checked.answers},
        password=data.password,
        username=data.username or existing.username,
        email=checked.email or existing.email,
    )
    participant = _apply_update(webcast, existing, update, checked.consents, hashed_password)
    changed = sorted(
        {"answers", *([k for k in ("email", "username", "password") if getattr(data, k)])}
    )
    return participant, changed


def _new_participant(
    webcast: Webcast, checked: _Checked, source: str, hashed_password: str | None
) -> tuple[Participant, str | None]:
    """A participant not stored yet, and the generated password to show once, if any."""
    data = checked.data
    password_hash, generated = (
        (hashed_password, None) if hashed_password else _password(webcast, data.password, source)
    )
    moment = utc_iso()
    participant = Participant(
        id=new_id(),
        tenant_id=webcast.tenant_id,
        webcast_id=webcast.id,
        email=checked.email,
        username=data.username,
        external_id=checked.external_id,
        name=display_name(checked.answers),
        answers=checked.answers,
        consents=checked.consents,
        password_hash=password_hash,
        source=source,
        created_at=moment,
        updated_at=moment,
    )
    participant.search_text = _search_text(participant)
    return participant, generated


def _created_fields(participant: Participant) -> list[str]:
    return sorted(
        {
            "answers",
            *(["email"] if participant.email else []),
            *(["username"] if participant.username else []),
            *(["external_id"] if participant.external_id else []),
            *(["password"] if participant.password_hash else []),
            *(["consents"] if participant.consents else []),
        }
    )


def _store_new(participant: Participant) -> Participant:
    """Claim the participant's e-mail, user name and external identity, then store it."""
    claimed: list[tuple[str, str]] = []
    try:
        for kind, value in logins_of(participant):
            _claim_login(participant, kind, value)
            claimed.append((kind, value))
        return participants.create(tenant_id=participant.tenant_id, item=participant)
    except DomainError:
        for kind, value in claimed:
            _release_login(participant, kind, value)
        raise


def _find_existing(webcast: Webcast, checked: _Checked) -> Participant | None:
    """The participant the input names: by external identity first, then e-mail, user name."""
    existing = None
    if checked.external_id:
        existing = find_by_login(
            tenant_id=webcast.tenant_id,
            webcast_id=webcast.id,
            kind=EXTERNAL,
            value=checked.external_id,
        )
    if existing is None and checked.email:
        existing = find_by_login(
            tenant_id=webcast.tenant_id, webcast_id=webcast.id, kind="email", value=checked.email
        )
    if existing is None and checked.data.username:
        existing = find_by_login(
            tenant_id=webcast.tenant_id,
            webcast_id=webcast.id,
            kind="username",
            value=checked.data.username,
        )
    return existing


def _upsert_one(
    webcast: Webcast, checked: _Checked, source: str, hashed_password: str | None
) -> tuple[Saved, list[str]]:
    """Every caller is a trusted write (admin, import, customer server, embed): it updates a
    confirmed participant, but replaces an unconfirmed self-registration instead of taking
    over its password, answers and sessions (ADR 0020)."""
    existing = _find_existing(webcast, checked)
    replaced_id = None
    if existing is not None and not existing.confirmed:
        remove_participant(existing)
        replaced_id, existing = existing.id, None
    if existing is not None:
        updated, changed = _update_with(webcast, existing, checked, hashed_password)
        return Saved(participant=updated, created=False), changed
    participant, generated = _new_participant(webcast, checked, source, hashed_password)
    stored = _store_new(participant)
    saved = Saved(
        participant=stored, created=True, generated_password=generated, replaced_id=replaced_id
    )
    return saved, _created_fields(stored)


def _audit_replaced(
    webcast: Webcast, actor: Actor, replaced: list[str], context: RequestContext | None
) -> None:
    if replaced:
        operations.record_bulk(
            tenant_id=webcast.tenant_id,
            actor=actor,
            action="participant.replace",
            entity_type="participant",
            entity_ids=replaced,
            context=context,
        )


def save_participant(
    *,
    webcast: Webcast,
    data: ParticipantInput,
    source: str,
    actor: Actor,
    context: RequestContext | None = None,
    partial: bool = True,
    hashed_password: str | None = None,
    external_id: str | None = None,
) -> Saved:
    """Create, or update the participant with the same external identity, e-mail or user
    name (customer servers and embeds send the same people again: no duplicates)."""
    form = get_form(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
    checked = _check(data, form, partial=partial, external_id=external_id)
    saved, changed = _upsert_one(webcast, checked, source, hashed_password)
    _audit_replaced(webcast, actor, [saved.replaced_id] if saved.replaced_id else [], context)
    operations.record_write(
        tenant_id=webcast.tenant_id,
        actor=actor,
        action="participant.create" if saved.created else "participant.update",
        entity_type="participant",
        entity_id=saved.participant.id,
        changed_fields=changed,
        context=context,
    )
    return saved


def _batches(planned: dict[int, Participant]) -> Iterator[list[int]]:
    """Rows to create, grouped so that each group's documents (the participant and its login
    keys) fit one transactional batch."""
    group: list[int] = []
    size = 0
    for index, participant in planned.items():
        needs = 1 + sum(bool(value) for _, value in logins_of(participant))
        if size + needs > MAX_BATCH_OPERATIONS:
            yield group
            group, size = [], 0
        group.append(index)
        size += needs
    if group:
        yield group


def _login_keys(participant: Participant) -> list[ParticipantLogin]:
    return [
        login_key(participant=participant, kind=kind, value=value)
        for kind, value in logins_of(participant)
    ]


Outcome = Saved | DomainError
# What writing one row gave: its index in the chunk, the outcome and the fields it wrote.
_Written = tuple[int, Outcome, list[str]]


def import_participants(
    *,
    webcast: Webcast,
    rows: list[ParticipantInput],
    actor: Actor,
    form: RegistrationForm,
    pool: Executor,
    context: RequestContext | None = None,
) -> list[Outcome]:
    """Upsert a chunk of imported people by e-mail or user name; one outcome per row.

    Every row is first tried as a new person, created with its login keys in transactional
    batches without looking anything up (a first import is almost all new people); a batch
    refused because a key exists goes row by row through the same upsert as the API, which
    updates the holder or takes over a key a dead run left behind. Each action is audited
    once per chunk with the ids of everyone written."""

    def prepare(data: ParticipantInput) -> Participant | DomainError:
        # In the pool: a predefined password is hashed here (argon2id releases the GIL).
        try:
            return _new_participant(webcast, _check(data, form, partial=True), "import", None)[0]
        except DomainError as error:
            return error

    prepared = list(pool.map(prepare, rows))
    written: list[_Written] = [
        (index, row, []) for index, row in enumerate(prepared) if isinstance(row, DomainError)
    ]
    planned = {i: p for i, p in enumerate(prepared) if isinstance(p, Participant)}

    def one_by_one(index: int) -> _Written:
        try:
            saved, fields = _upsert_one(
                webcast, _check(rows[index], form, partial=True), "import", None
            )
        except DomainError as error:
            return index, error, []
        if saved.participant.id == planned[index].id:
            # The refused batch stored this one after all (the emulator does not roll back).
            return (
                index,
                Saved(participant=saved.participant, created=True),
                _created_fields(saved.participant),
            )
        return index, saved, fields

    def create_together(group: list[int]) -> list[_Written]:
        documents: list[Document] = []
        for index in group:
            documents += [*_login_keys(planned[index]), planned[index]]
        try:
            participants.create_together(
                tenant_id=webcast.tenant_id, partition_key=webcast.id, items=documents
            )
        except DomainError:
            return [one_by_one(index) for index in group]
        for index in group:
            for kind, value in logins_of(planned[index]):
                people_index.add(tenant_id=webcast.tenant_id, kind=kind, value=value)
        return [
            (
                index,
                Saved(participant=planned[index], created=True),
                _created_fields(planned[index]),
            )
            for index in group
        ]

    for group in pool.map(create_together, _batches(planned)):
        written += group
    written.sort(key=lambda item: item[0])
    replaced = [o.replaced_id for _, o, _ in written if isinstance(o, Saved) and o.replaced_id]
    _audit_replaced(webcast, actor, replaced, context)
    for created in (True, False):
        saved = [(o, f) for _, o, f in written if isinstance(o, Saved) and o.created == created]
        if saved:
            operations.record_bulk(
                tenant_id=webcast.tenant_id,
                actor=actor,
                action="participant.create" if created else "participant.update",
                entity_type="participant",
                entity_ids=[o.participant.id for o, _ in saved],
                changed_fields=sorted({name for _, fields in saved for name in fields}),
                context=context,
            )
    return [outcome for _, outcome, _ in written]


def _apply_update(
    webcast: Webcast,
    participant: Participant,
    data: ParticipantUpdate,
    consents: list[Consent],
    hashed_password: str | None = None,
) -> Participant:
    email = _clean_email(data.email) if data.email is not None else participant.email
    if email != participant.email:
        _claim_login(participant, "email", email)
        _release_login(participant, "email", participant.email)
        participant.email = email
    if data.username is not None and data.username != participant.username:
        _claim_login(participant, "username", data.username)
        _release_login(participant, "username", participant.username)
        participant.username = data.username
    if data.answers is not None:
        participant.answers = data.answers
        participant.name = display_name(data.answers)
    known = {c.field_id for c in participant.consents if c.withdrawn_at is None}
    participant.consents += [c for c in consents if c.field_id not in known]
    if hashed_password:
        participant.password_hash = hashed_password
    elif data.password:
        check_policy(data.password, min_length=PARTICIPANT_PASSWORD_MIN)
        participant.password_hash = hash_password(data.password)
    if data.status is not None:
        participant.status = data.status
    participant.search_text = _search_text(participant)
    participant.updated_at = utc_iso()
    return participants.replace(tenant_id=webcast.tenant_id, item=participant)


def create_participant(
    *, principal: Principal, webcast_id: str, data: ParticipantInput, context: RequestContext
) -> Saved:
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=True)
    holder = data.email and find_by_login(
        tenant_id=webcast.tenant_id,
        webcast_id=webcast.id,
        kind="email",
        value=_clean_email(data.email) or "",
    )
    if holder and holder.confirmed:
        raise conflict("Another participant of this webcast has this e-mail address", "email")
    return save_participant(
        webcast=webcast, data=data, source="admin", actor=principal.actor, context=context
    )


def get_participant(*, principal: Principal, webcast_id: str, participant_id: str) -> Participant:
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=False)
    participant = participants.get(
        tenant_id=webcast.tenant_id, partition_key=webcast.id, item_id=participant_id
    )
    if participant is None:
        raise not_found("Participant")
    return participant


def update_participant(
    *,
    principal: Principal,
    webcast_id: str,
    participant_id: str,
    data: ParticipantUpdate,
    context: RequestContext,
) -> Participant:
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=True)
    participant = participants.get(
        tenant_id=webcast.tenant_id, partition_key=webcast.id, item_id=participant_id
    )
    if participant is None:
        raise not_found("Participant")
    consents: list[Consent] = []
    if data.answers is not None:
        form = get_form(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
        answers, consents = check_answers(form.fields, data.answers, partial=True)
        data = data.model_copy(update={"answers": answers})
    updated = _apply_update(webcast, participant, data, consents)
    operations.record_write(
        tenant_id=webcast.tenant_id,
        actor=principal.actor,
        action="participant.update",
        entity_type="participant",
        entity_id=participant.id,
        changed_fields=sorted(data.model_fields_set),
        context=context,
    )
    return updated


def delete_participant(
    *,
    principal: Principal,
    webcast_id: str,
    participant_id: str,
    context: RequestContext,
    erase_tied_data: Callable[[DataSubject], object],
) -> None:
    """Delete the participant after `erase_tied_data` (every feature's eraser) ran for them."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=True)
    participant = participants.get(
        tenant_id=webcast.tenant_id,
        partition_key=webcast.id,
        item_id=participant_id,
        include_blocked=True,
    )
    if participant is None:
        raise not_found("Participant")
    # What the switches tied to the person goes with them (P03): messages, poll answers,
    # viewings, personal links.
    erase_tied_data(
        DataSubject(
            tenant_id=webcast.tenant_id, webcast_id=webcast.id, participant_id=participant.id
        )
    )
    remove_participant(participant)
    operations.record_write(
        tenant_id=webcast.tenant_id,
        actor=principal.actor,
        action="participant.delete",
        entity_type="participant",
        entity_id=participant.id,
        context=context,
    )


def remove_participant(participant: Participant) -> None:
    """Delete the participant with its login keys and sessions' grants."""
    from shared.participants import sessions

    for kind, value in logins_of(participant):
        _release_login(participant, kind, value)
    participants.delete(
        tenant_id=participant.tenant_id,
        partition_key=participant.webcast_id,
        item_id=participant.id,
    )
    sessions.revoke_participant(participant.id)


# Reads and writes for other features' system work (mail jobs, message senders, embedding);
# their callers have checked access already or act for no principal.
_MAILABLE = "c.status = @active AND IS_DEFINED(c.email) AND NOT IS_NULL(c.email)"


def find_participant(*, tenant_id: str, webcast_id: str, participant_id: str) -> Participant | None:
    return participants.get(tenant_id=tenant_id, partition_key=webcast_id, item_id=participant_id)


def participant_by_login(*, tenant_id: str, webcast_id: str, login: str) -> Participant | None:
    """The participant a sign-in name names: an e-mail address or else a user name."""
    kind = "email" if "@" in login else "username"
    return find_by_login(tenant_id=tenant_id, webcast_id=webcast_id, kind=kind, value=login.strip())


def participant_by_external_id(
    *, tenant_id: str, webcast_id: str, external_id: str
) -> Participant | None:
    """The participant a customer's server vouches for (an embed token's `sub`)."""
    return find_by_login(
        tenant_id=tenant_id, webcast_id=webcast_id, kind=EXTERNAL, value=external_id
    )


def registration_form(*, tenant_id: str, webcast_id: str) -> RegistrationForm:
    return get_form(tenant_id=tenant_id, webcast_id=webcast_id)


def mailable_participants(
    *, tenant_id: str, webcast_id: str, created_until: str | None = None
) -> Iterator[Participant]:
    """Active participants with an e-mail address (created by `created_until`, when given)."""
    where = _MAILABLE
    parameters: dict[str, object] = {"@active": ParticipantStatus.active.value}
    if created_until is not None:
        where += " AND c.created_at <= @opened"
        parameters["@opened"] = created_until
    return participants.iterate(
        tenant_id=tenant_id, partition_key=webcast_id, where=where, parameters=parameters
    )


def set_password_by_mail(participant: Participant, *, new_password: str) -> Participant:
    """A new password from a mailed reset link, which proves the address like a confirmation
    link does."""
    participant.password_hash = hash_password(new_password)
    participant.updated_at = utc_iso()
    participant.confirmed = True
    return participants.replace(tenant_id=participant.tenant_id, item=participant)


def list_participants(
    *,
    principal: Principal,
    webcast_id: str,
    search: str | None,
    max_items: int,
    continuation: str | None,
) -> Page[Participant]:
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=False)
    where, params = "", {}
    if search:
        where, params = "CONTAINS(c.search_text, @q)", {"@q": search.strip().lower()}
    return participants.page(
        tenant_id=webcast.tenant_id,
        partition_key=webcast.id,
        max_items=max_items,
        continuation=continuation,
        where=where,
        parameters=params,
        order_by="c.created_at",
    )


@dataclass
class SelfRegistration:
    """What a self-registration stored, and the confirmed participant that holds its address
    already (who gets a harmless mail instead of a confirmation)."""

    participant: Participant
    registered_already: Participant | None


def _email_holder(webcast_id: str, tenant_id: str, email: str) -> Participant | None:
    """The participant holding an address, blocked ones included (they still hold it)."""
    key = logins.get(
        tenant_id=tenant_id,
        partition_key=webcast_id,
        item_id=login_id(webcast_id=webcast_id, kind="email", value=email),
    )
    if key is None:
        return None
    return participants.get(
        tenant_id=tenant_id,
        partition_key=webcast_id,
        item_id=key.participant_id,
        include_blocked=True,
    )


def _store_without_email_login(participant: Participant) -> Participant:
    """Store a self-registration whose address another record holds: the address is where
    its mail goes, never a login, so it cannot sign in by it or take it over."""
    _claim_login(participant, "username", participant.username)
    try:
        return participants.create(tenant_id=participant.tenant_id, item=participant)
    except DomainError:
        _release_login(participant, "username", participant.username)
        raise


def register_self(
    *, webcast: Webcast, data: ParticipantInput, via_internal_link: bool
) -> SelfRegistration:
    """A self-registration (P10, ADR 0020): an unconfirmed record of its own that holds the
    address only if nobody does. It never changes, joins or reveals another record; what
    holds the address decides only which mail goes out. The record is stored either way, so
    the user name it asks for is taken alike and the work is the same."""
    form = get_form(tenant_id=webcast.tenant_id, webcast_id=webcast.id)
    checked = _check(data, form, partial=False)
    if not checked.email:
        raise validation_error("email", "is required")
    if data.username and logins.get(
        tenant_id=webcast.tenant_id,
        partition_key=webcast.id,
        item_id=login_id(webcast_id=webcast.id, kind="username", value=data.username),
    ):
        raise conflict("Another participant of this webcast has this user name", "username")
    # Hashed whatever holds the address, so the answer's timing does not tell.
    hashed = None
    if data.password:
        check_policy(data.password, min_length=PARTICIPANT_PASSWORD_MIN)
        hashed = hash_password(data.password)
    participant, _ = _new_participant(webcast, checked, "self", hashed)
    participant.confirmed = False
    participant.via_internal_link = via_internal_link
    holder = _email_holder(webcast.id, webcast.tenant_id, checked.email)
    if holder is not None and holder.confirmed:
        return SelfRegistration(
            participant=_store_without_email_login(participant), registered_already=holder
        )
    if holder is None:
        try:
            return SelfRegistration(participant=_store_new(participant), registered_already=None)
        except DomainError as error:
            if error.status != 409:
                raise
    return SelfRegistration(
        participant=_store_without_email_login(participant), registered_already=None
    )


def confirm_address(participant: Participant, *, by_registrant: bool) -> Participant | None:
    """A link mailed to the participant's address was used: the address is proven. An
    earlier unconfirmed self-registration holding the address is replaced; when a confirmed
    participant holds it, that one is who the link proves, and this record goes.

    The address proves nothing about who chose the registration's password: it is kept only
    when the registrant shows it was them (`by_registrant`), so a stranger who registered
    someone's address never gets a password into the record that person confirms."""
    if participant.confirmed or not participant.email:
        return participant
    if not by_registrant:
        participant.password_hash = None
    holder = _email_holder(participant.webcast_id, participant.tenant_id, participant.email)
    if holder is not None and holder.id != participant.id:
        if holder.confirmed:
            remove_participant(participant)
            return find_by_login(
                tenant_id=participant.tenant_id,
                webcast_id=participant.webcast_id,
                kind="email",
                value=participant.email,
            )
        remove_participant(holder)
        operations.record_write(
            tenant_id=participant.tenant_id,
            actor=Actor(kind=ActorKind.participant, id=participant.id, role="participant"),
            action="participant.replace",
            entity_type="participant",
            entity_id=holder.id,
        )
    if holder is None or holder.id != participant.id:
        _claim_login(participant, "email", participant.email)
    participant.confirmed = True
    participant.updated_at = utc_iso()
    return participants.replace(tenant_id=participant.tenant_id, item=participant)


# ---- restoring a backup (issue 16) ----


def login_values(participant: Participant) -> list[tuple[str, str]]:
    """The participant's logins as their keys compare them (kind, value)."""
    return [(kind, login_value(kind, value)) for kind, value in logins_of(participant)]


def erasure_entries(*, tenant_id: str, webcast_id: str) -> dict[str, str]:
    """The erasure ledger of a webcast, read once for a restore of its backup."""
    return erasure_ledger.erased_at_of(tenant_id=tenant_id, webcast_id=webcast_id)


def was_erased(
    participant: Participant, *, original_webcast_id: str, entries: dict[str, str]
) -> bool:
    """Whether a backed-up record is of a person erased at their request since."""
    return erasure_ledger.erased_since(
        participant, original_webcast_id=original_webcast_id, entries=entries
    )


def restore_participants(people: list[Participant], *, pool: Executor, restore_id: str) -> None:
    """Store restored participants of a new webcast with their login keys computed for it,
    and name the tenant in the vendor's index; upserts, so that a repeated run is the same.
    Audited once per batch, as the restore's writes."""

    def store(participant: Participant) -> None:
        participants.upsert(tenant_id=participant.tenant_id, item=participant)
        for key in _login_keys(participant):
            logins.upsert(tenant_id=participant.tenant_id, item=key)
        for kind, value in logins_of(participant):
            people_index.add(tenant_id=participant.tenant_id, kind=kind, value=value)

    list(pool.map(store, people))
    if people:
        operations.record_bulk(
            tenant_id=people[0].tenant_id,
            actor=SYSTEM_ACTOR,
            action="participant.restore",
            entity_type="participant",
            entity_ids=[participant.id for participant in people],
            entity_id=restore_id,
        )
