"""Create, read, change and tombstone webcast projects, with permission checks and audit.

Every other feature loads a webcast through this module: `admin_webcast` for a signed-in
principal (tenant, permission, 404), `viewer_webcast` for the participant side (by id alone,
cached, the module that must be on), and the plain lookups for workers (ADR 0045)."""

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ValidationError

from shared.audit import operations
from shared.audit.models import SYSTEM_ACTOR, Actor, RequestContext
from shared.auth.models import Permission, Principal
from shared.auth.permissions import (
    require_manager,
    require_member,
    require_owner,
    require_permission,
)
from shared.clock import utc_iso
from shared.cosmos.repository import Page
from shared.errors import (
    DomainError,
    conflict,
    invalid_input,
    not_found,
    precondition_failed,
    validation_error,
)
from shared.ids import new_id
from shared.webcasts import repository
from shared.webcasts.models import (
    MAX_RETENTION_DAYS,
    Language,
    Module,
    RetentionExtension,
    Schedule,
    SlugReservation,
    Webcast,
    WebcastCreate,
    WebcastKey,
    WebcastUpdate,
)
from shared.webcasts.repository import (
    VIEWER_CACHE_SECONDS,
    find_webcast,
    find_webcast_cached,
    forget_webcast,
    present,
    slugs,
    webcast_keys,
    webcasts,
)

# Who may load a webcast on the admin side: any account of the tenant, the owner (or support
# under a grant), or a sub-account with a module permission.
Level = Literal["member", "manager"]
MEMBER: Level = "member"
MANAGER: Level = "manager"


def module_off(module: Module) -> DomainError:
    """The one answer of every route whose webcast has the module it needs switched off."""
    return DomainError(
        detail=f"The {module.label} module is switched off for this webcast",
        status=409,
        code="module-off",
        title="Module off",
    )


def _tenant_for(principal: Principal, needs: Permission | Level, *, write: bool) -> str:
    if isinstance(needs, Permission):
        return require_permission(principal, needs, write=write)
    if needs == MANAGER:
        return require_manager(principal, write=write)
    return require_member(principal, write=write)


def admin_webcast(
    principal: Principal, webcast_id: str, *, needs: Permission | Level, write: bool
) -> Webcast:
    """The webcast of the principal's tenant, for a read or a write that `needs` allows;
    404 when there is none there (another tenant's webcast is not found either)."""
    tenant_id = _tenant_for(principal, needs, write=write)
    webcast = present(webcasts.get(tenant_id=tenant_id, item_id=webcast_id))
    if webcast is None:
        raise not_found("Webcast")
    return webcast


def find_public(webcast_id: str, *, cached: bool = True) -> Webcast | None:
    """The webcast found by its id alone, for callers that refuse a missing one themselves;
    `cached` keeps it for a few seconds per process (viewer hot paths)."""
    return find_webcast_cached(webcast_id) if cached else find_webcast(webcast_id)


def viewer_webcast(
    webcast_id: str, module: Module | None = None, *, cached: bool = True
) -> Webcast:
    """The webcast for the participant side; 404 when there is none, 409 `module-off` when
    `module` is switched off."""
    webcast = find_public(webcast_id, cached=cached)
    if webcast is None:
        raise not_found("Webcast")
    if module is not None and not webcast.modules.is_on(module):
        raise module_off(module)
    return webcast


def find_in_tenant(*, tenant_id: str, webcast_id: str) -> Webcast | None:
    """The webcast for a worker that carries its tenant (queued jobs, exports); None once its
    deletion has started."""
    return present(webcasts.get(tenant_id=tenant_id, item_id=webcast_id))


def viewer_cache_seconds() -> float:
    """How long another process may still see a changed webcast as it was (its cache)."""
    return VIEWER_CACHE_SECONDS


def is_gone(*, tenant_id: str, webcast_id: str) -> bool:
    """Whether the webcast is deleted or being deleted, read now (no cache): workers ask
    before each write and when they finish, and then drop what they made."""
    return find_in_tenant(tenant_id=tenant_id, webcast_id=webcast_id) is None


def being_deleted(*, tenant_id: str, webcast_id: str) -> Webcast | None:
    """The webcast as stored, tombstone included: for the deletion job alone."""
    return webcasts.get(tenant_id=tenant_id, item_id=webcast_id, include_blocked=True)


def tombstone(
    *, tenant_id: str, webcast_id: str, actor: Actor, context: RequestContext
) -> Webcast | None:
    """Mark the webcast as being deleted; from then on it is gone to every loader.
    None when there is no such webcast; the stored webcast when it is marked already."""
    webcast = being_deleted(tenant_id=tenant_id, webcast_id=webcast_id)
    if webcast is None or webcast.deletion_started_at is not None:
        return webcast
    webcast.deletion_started_at = utc_iso()
    marked = operations.replace(
        webcasts,
        tenant_id=tenant_id,
        item=webcast,
        actor=actor,
        action="webcast.tombstone",
        entity_type="webcast",
        changed_fields=["deletion_started_at"],
        context=context,
    )
    forget_webcast(webcast_id)
    return marked


class ScheduledWebcast(BaseModel):
    id: str
    tenant_id: str
    schedule: Schedule


# Stored start times carry their own UTC offset (at most -12 h to +14 h); the query compares
# the text, so its window is widened by this much and the exact check happens in code.
_OFFSET_SLACK = timedelta(hours=15)


def _text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def scheduled_between(earliest: datetime, latest: datetime) -> list[ScheduledWebcast]:
    """Webcasts of every tenant (not blocked) whose start lies within the two times."""
    found = repository.scheduled_between(
        _text(earliest - _OFFSET_SLACK), _text(latest + _OFFSET_SLACK)
    )
    candidates = [ScheduledWebcast.model_validate(item) for item in found]
    return [w for w in candidates if earliest <= w.schedule.starts_at <= latest]


def _reserve_slug(tenant_id: str, slug: str, webcast_id: str) -> None:
    try:
        slugs.create(
            tenant_id=tenant_id,
            item=SlugReservation(id=f"slug:{slug}", tenant_id=tenant_id, webcast_id=webcast_id),
        )
    except DomainError as error:
        raise conflict("Another webcast of this account uses this slug", "slug") from error


def _check_retention(webcast: Webcast | WebcastCreate, changed: str) -> None:
    """Participant data is never kept longer than the webcast; `changed` is named."""
    shorter = webcast.participant_retention_days
    if shorter is not None and shorter > webcast.retention_days:
        raise validation_error(changed, "participant_retention_days must not exceed retention_days")


def _check_languages(language: str, additional: list[Language], changed: str) -> None:
    """The default language is not listed again among the additional ones; `changed` is
    named."""
    if language in additional:
        raise validation_error(changed, "additional_languages must not repeat the default language")


def create_webcast(
    *, principal: Principal, data: WebcastCreate, context: RequestContext
) -> Webcast:
    tenant_id = require_manager(principal, write=True)
    _check_retention(data, "participant_retention_days")
    _check_languages(data.language, data.additional_languages, "additional_languages")
    webcast_id = new_id()
    _reserve_slug(tenant_id, data.slug, webcast_id)
    webcast_keys.create(WebcastKey(id=webcast_id, tenant_id=tenant_id))
    moment = utc_iso()
    return operations.create(
        webcasts,
        tenant_id=tenant_id,
        item=Webcast(
            id=webcast_id,
            tenant_id=tenant_id,
            created_at=moment,
            updated_at=moment,
            created_by=principal.account_id,
            **data.model_dump(),
        ),
        actor=principal.actor,
        action="webcast.create",
        entity_type="webcast",
        changed_fields=sorted(data.model_fields_set | {"title", "slug"}),
        context=context,
    )


_NOT_TOMBSTONED = "NOT IS_DEFINED(c.deletion_started_at) OR IS_NULL(c.deletion_started_at)"


def get_webcast(*, principal: Principal, webcast_id: str) -> Webcast:
    return admin_webcast(principal, webcast_id, needs=MEMBER, write=False)


def list_webcasts(
    *, principal: Principal, max_items: int, continuation: str | None
) -> Page[Webcast]:
    tenant_id = require_member(principal)
    return webcasts.page(
        tenant_id=tenant_id,
        max_items=max_items,
        continuation=continuation,
        where=_NOT_TOMBSTONED,
        order_by="c.created_at DESC",
    )


def update_webcast(
    *,
    principal: Principal,
    webcast_id: str,
    data: WebcastUpdate,
    if_match: str | None,
    context: RequestContext,
) -> Webcast:
    webcast = admin_webcast(principal, webcast_id, needs=MANAGER, write=True)
    tenant_id = webcast.tenant_id
    if if_match is not None and if_match.strip('"') != (webcast.etag or "").strip('"'):
        raise precondition_failed()
    changed = operations.changed_fields(data, webcast)
    proposed = webcast.model_copy(update={name: getattr(data, name) for name in changed})
    _check_retention(
        proposed,
        "participant_retention_days"
        if "participant_retention_days" in changed
        else "retention_days",
    )
    _check_languages(
        proposed.language,
        proposed.additional_languages,
        "additional_languages" if "additional_languages" in changed else "language",
    )
    old_slug = webcast.slug
    if data.slug is not None and data.slug != old_slug:
        _reserve_slug(tenant_id, data.slug, webcast.id)
    for name in changed:
        setattr(webcast, name, getattr(data, name))
    if "retention_days" in changed and webcast.retention_notice_for is not None:
        _forget_notice(webcast)
        changed = sorted({*changed, "retention_notice_for", "retention_notice_at"})
    webcast.updated_at = utc_iso()
    try:
        webcast = operations.replace(
            webcasts,
            tenant_id=tenant_id,
            item=webcast,
            actor=principal.actor,
            action="webcast.update",
            entity_type="webcast",
            changed_fields=changed,
            context=context,
        )
        forget_webcast(webcast.id)
    except DomainError:
        if "slug" in changed:
            slugs.delete(tenant_id=tenant_id, item_id=f"slug:{data.slug}")
        raise
    if "slug" in changed:
        slugs.delete(tenant_id=tenant_id, item_id=f"slug:{old_slug}")
    return webcast


def not_tombstoned_ids(*, tenant_id: str, max_items: int) -> list[str]:
    """Up to `max_items` webcasts of the tenant no deletion has marked yet (an account's
    deletion starts one job for each, a page at a time)."""
    found = webcasts.page(tenant_id=tenant_id, max_items=max_items, where=_NOT_TOMBSTONED)
    return [webcast.id for webcast in found.items]


def tenant_has_webcasts(tenant_id: str) -> bool:
    """Whether any webcast of the tenant is still stored, tombstoned or not (blocked ones,
    held by data protection, are not counted: deletions keep them)."""
    return bool(webcasts.page(tenant_id=tenant_id, max_items=1).items)


def _forget_notice(webcast: Webcast) -> None:
    """A changed period has another date: a queued notice of the old one is not sent, and a
    notice of the new one is due before it."""
    webcast.retention_notice_for = None
    webcast.retention_notice_at = None


def extend_retention(
    *, principal: Principal, webcast_id: str, data: RetentionExtension, context: RequestContext
) -> Webcast:
    """The owner's extension of the retention period by some days (audited); a new notice is
    due before the new deletion date."""
    tenant_id = require_owner(principal)
    webcast = present(webcasts.get(tenant_id=tenant_id, item_id=webcast_id))
    if webcast is None:
        raise not_found("Webcast")
    if webcast.retention_days + data.days > MAX_RETENTION_DAYS:
        raise validation_error(
            "days", f"the retention period may be at most {MAX_RETENTION_DAYS} days in all"
        )
    webcast.retention_days += data.days
    changed = ["retention_days"]
    if webcast.retention_notice_for is not None:
        _forget_notice(webcast)
        changed += ["retention_notice_at", "retention_notice_for"]
    webcast.updated_at = utc_iso()
    extended = operations.replace(
        webcasts,
        tenant_id=tenant_id,
        item=webcast,
        actor=principal.actor,
        action="webcast.retention.extend",
        entity_type="webcast",
        changed_fields=changed,
        context=context,
    )
    forget_webcast(webcast_id)
    return extended


def _system_change(webcast: Webcast, action: str, changed: list[str]) -> Webcast:
    saved = operations.replace(
        webcasts,
        tenant_id=webcast.tenant_id,
        item=webcast,
        actor=SYSTEM_ACTOR,
        action=action,
        entity_type="webcast",
        changed_fields=changed,
        context=RequestContext(),
    )
    forget_webcast(webcast.id)
    return saved


def record_retention_notice(*, webcast: Webcast, deletes_at: str, noticed_at: str) -> Webcast:
    """Note that the owner's notice of the deletion on `deletes_at` was queued."""
    webcast.retention_notice_for = deletes_at
    webcast.retention_notice_at = noticed_at
    return _system_change(
        webcast, "webcast.retention.notice", ["retention_notice_for", "retention_notice_at"]
    )


def record_participant_erasure(*, webcast: Webcast, erased_at: str) -> Webcast:
    """Note that the webcast's participant data is erased (its retention ended)."""
    webcast.participant_data_erased_at = erased_at
    return _system_change(
        webcast, "webcast.participants.retention_erase", ["participant_data_erased_at"]
    )


def live_webcasts_page(
    *, max_items: int, continuation: str | None, tenant_id: str | None = None
) -> Page[Webcast]:
    """One page of the webcasts of every tenant (or of one) that are neither blocked nor
    being deleted: for the retention timer."""
    found, token = repository.live_webcasts_page(
        max_items=max_items, continuation=continuation, tenant_id=tenant_id
    )
    return Page(items=[Webcast.model_validate(item) for item in found], continuation=token)


def webcast_id_by_slug(*, tenant_id: str, slug: str) -> str | None:
    """The webcast a tenant's slug names (its reservation), if it is shown to viewers."""
    reservation = slugs.get(tenant_id=tenant_id, item_id=f"slug:{slug}")
    if reservation is None or find_public(reservation.webcast_id) is None:
        return None
    return reservation.webcast_id


def check_restorable(webcast: Webcast) -> None:
    """A webcast from a backup passes the checks of a new one (bounds, retention,
    languages); DomainError naming the field."""
    try:
        WebcastCreate.model_validate(
            webcast.model_dump(mode="json", include=set(WebcastCreate.model_fields))
        )
    except ValidationError as error:
        raise invalid_input(error) from error
    _check_retention(webcast, "participant_retention_days")
    _check_languages(webcast.language, webcast.additional_languages, "additional_languages")


def restore_webcast(*, webcast: Webcast, actor: Actor) -> Webcast:
    """Create a webcast restored from a backup, its slug reserved and its key written, once
    everything else of it is stored; a repeated call finds it made."""
    existing = webcasts.get(tenant_id=webcast.tenant_id, item_id=webcast.id)
    if existing is not None:
        return existing
    taken = slugs.get(tenant_id=webcast.tenant_id, item_id=f"slug:{webcast.slug}")
    if taken is None or taken.webcast_id != webcast.id:
        _reserve_slug(webcast.tenant_id, webcast.slug, webcast.id)
    webcast_keys.upsert(WebcastKey(id=webcast.id, tenant_id=webcast.tenant_id))
    return operations.create(
        webcasts,
        tenant_id=webcast.tenant_id,
        item=webcast,
        actor=actor,
        action="webcast.restore",
        entity_type="webcast",
        changed_fields=sorted(WebcastCreate.model_fields),
    )
